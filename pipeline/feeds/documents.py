"""Feed polling: conditional GET through the guarded client, safe parsing, health and backoff."""

from __future__ import annotations

import asyncio
import calendar
import functools
import hashlib
import io
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
import httpx

from pipeline.backoff import exponential_backoff
from pipeline.config import FeedConfig, FetchSettings, PollSettings
from pipeline.feeds.items import FeedItem, FeedRefused, ParsedFeed, entries_from
from pipeline.feeds.jsonfeed import looks_like_json_feed, parse_json_feed
from pipeline.fetch.errors import DownloadError
from pipeline.fetch.http import Throttle, download, make_client
from pipeline.fetch.pages import looks_like_html
from pipeline.fetch.robots import Robots
from pipeline.process_pool import process_pool
from pipeline.records import FeedPollResult, FeedStatus

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, application/json;q=0.8, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
# "<!ENTITY" as it appears in every encoding feedparser reads (ASCII-compatible ones, UTF-16,
# UTF-32, EBCDIC). XML keywords are case-sensitive, so one spelling suffices.
_ENTITY_DECLARATIONS = tuple(
    "<!ENTITY".encode(codec)
    for codec in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "cp037")
)


class FeedParser:
    """Parses in this process, or in `workers` processes started at the first document
    that needs parsing (a cycle of `304`s starts none). The pool closes with `stack`."""

    def __init__(self, workers: int, stack: ExitStack) -> None:
        self._workers = workers
        self._stack = stack
        self._pool: Executor | None = None

    async def parse(self, call: Callable[[], ParsedFeed]) -> ParsedFeed:
        if self._workers <= 1:
            return call()
        if self._pool is None:
            self._pool = self._stack.enter_context(process_pool(self._workers))
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)


@dataclass(frozen=True)
class FeedState:
    """What is kept of a feed between polls, for conditional GET and change detection."""

    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None


def parse_feed(
    feed_name: str,
    body: bytes,
    *,
    content_type: str | None,
    max_entries: int,
    base_url: str | None = None,
) -> ParsedFeed:
    """Parse an RSS/Atom/RDF or JSON Feed document; `FeedRefused` for what we will not read.

    A malformed document still yields the entries feedparser recovers (with `bozo_error`).
    `base_url` resolves relative links.
    """
    if looks_like_json_feed(body, content_type):
        items = parse_json_feed(body)
        return entries_from(feed_name, items, max_entries=max_entries, base_url=base_url)
    # feedparser strips most entity declarations with a line-based regex and leaves the rest
    # to expat; feeds never need them, so refuse them outright (billion laughs, XXE).
    if any(marker in body for marker in _ENTITY_DECLARATIONS):
        raise FeedRefused(
            "refused: the document declares XML entities (<!ENTITY>); feeds do not need them "
            "and they enable entity-expansion (billion laughs) and external-entity attacks"
        )
    # No base URL for feedparser: it would resolve guids too, and a guid must stay as written
    # to stay a stable key. Links are resolved in entries_from instead.
    headers = {"content-type": content_type or "application/xml"}
    try:
        # A file object, never bytes/str: feedparser treats strings as URLs or paths.
        parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    except Exception as exc:  # hostile input must not take down a poll of many feeds
        raise FeedRefused(f"feedparser failed on the document: {exc!r}") from exc
    if not parsed.get("version") and not parsed.get("entries"):
        if looks_like_html(body):
            raise FeedRefused(
                f"not a feed: got an HTML page (Content-Type {content_type or 'missing'})"
            )
        raise FeedRefused(
            "not a feed: no RSS/Atom/RDF/JSON Feed document found "
            f"(Content-Type {content_type or 'missing'})"
        )
    # Encoding notes (ThingsNobodyCaresAboutButMe) are not malformations: the document was
    # read with the encoding it declared.
    bozo = parsed.get("bozo_exception")
    benign = isinstance(bozo, feedparser.ThingsNobodyCaresAboutButMe)
    return entries_from(
        feed_name,
        [_item(entry) for entry in parsed.entries[:max_entries]],
        max_entries=max_entries,
        base_url=base_url,
        bozo_error=str(bozo) if parsed.bozo and bozo is not None and not benign else None,
        total=len(parsed.entries),
    )


def _item(entry: Any) -> FeedItem:
    return FeedItem(
        id=(entry.get("id") or "").strip() or None,
        link=(entry.get("link") or "").strip() or None,
        title=(entry.get("title") or "").strip() or None,
        summary=entry.get("summary") or None,
        published=_entry_time(entry),
    )


def _entry_time(item: Any) -> datetime | None:
    """published, else updated, as aware UTC (feedparser's *_parsed tuples are UTC)."""
    for key in ("published_parsed", "updated_parsed"):
        # `in` first: a missing updated_parsed would be aliased to published_parsed (with a
        # DeprecationWarning) by feedparser's FeedParserDict.
        value = item[key] if key in item else None  # noqa: SIM401
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (TypeError, ValueError, OverflowError):
                continue
    return None


async def poll_feed(
    client: httpx.AsyncClient,
    feed: FeedConfig,
    state: FeedState,
    settings: FetchSettings,
    *,
    max_entries: int | None = None,
    robots: Robots | None = None,
    parser: FeedParser | None = None,
) -> FeedPollResult:
    """Poll one feed. Never raises for feed problems: the outcome is in the result's status.

    `max_entries` defaults to the default of poll.max_entries_per_poll. With `robots`, the
    feed's URL must be allowed by its site's robots.txt (unless the feed ignores robots).
    With a `parser`, the document is parsed through it (in its worker processes, if any).
    """
    check = None
    if robots is not None and settings.respect_robots and not feed.ignore_robots:
        check = robots.require_allowed
    headers = {"Accept": ACCEPT}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    try:
        raw = await download(client, feed.url, settings=settings, headers=headers, check_url=check)
    except DownloadError as exc:
        return FeedPollResult(
            feed.name,
            FeedStatus.ERROR,
            http_status=exc.http_status,
            error=f"{exc.error.value}: {exc.detail}",
            retry_after_seconds=exc.retry_after_seconds,
        )
    result = FeedPollResult(
        feed.name,
        FeedStatus.NOT_MODIFIED,
        http_status=raw.status_code,
        etag=raw.headers.get("etag") or state.etag,
        last_modified=raw.headers.get("last-modified") or state.last_modified,
        body_hash=state.body_hash,
    )
    if raw.status_code == 304:
        return result
    result.body_hash = hashlib.sha256(raw.body).hexdigest()
    if result.body_hash == state.body_hash:
        return result  # the server ignores conditional GET, but nothing changed
    parse = functools.partial(
        parse_feed,
        feed.name,
        raw.body,
        content_type=raw.content_type,
        max_entries=max_entries or PollSettings().max_entries_per_poll,
        base_url=raw.final_url,
    )
    result.parsed = True
    try:
        parsed = parse() if parser is None else await parser.parse(parse)
    except FeedRefused as exc:
        result.status, result.error = FeedStatus.ERROR, str(exc)
        return result
    result.entries = parsed.entries
    result.skipped_without_link = parsed.skipped_without_link
    result.entries_beyond_limit = parsed.beyond_limit
    result.dates_rejected = parsed.dates_rejected
    if parsed.bozo_error is None:
        result.status = FeedStatus.OK
    elif parsed.entries:
        result.status = FeedStatus.PARSE_WARNING
        result.error = f"malformed feed, entries recovered: {parsed.bozo_error}"
    else:
        result.status = FeedStatus.ERROR
        result.error = f"malformed feed with no recoverable entries: {parsed.bozo_error}"
    return result


async def poll_feeds(
    feeds_with_state: Sequence[tuple[FeedConfig, FeedState]],
    settings: FetchSettings,
    *,
    max_entries: int | None = None,
    concurrency: int | None = None,
    parse_workers: int = 1,
) -> list[FeedPollResult]:
    """Poll feeds concurrently (within the fetch politeness limits); results in input order.

    `concurrency` (poll.concurrency) replaces fetch.concurrency as the bound on feeds in
    flight: feed documents are small and a poll cycle is mostly waiting on the network.
    The per-host limit and delay stay those of fetch. With `parse_workers` > 1
    (poll.parse_workers), changed documents are parsed in that many processes while the
    event loop goes on downloading.
    """
    if concurrency is not None:
        settings = settings.model_copy(update={"concurrency": concurrency})
    throttle = Throttle(settings)
    with ExitStack() as stack:
        parser = FeedParser(parse_workers, stack)
        async with make_client(settings) as client:
            robots = Robots(client, settings, throttle)

            async def one(feed: FeedConfig, state: FeedState) -> FeedPollResult:
                if settings.respect_robots and not feed.ignore_robots:
                    await robots.prepare(feed.url)  # its Crawl-delay applies from the first poll
                async with throttle.slot(feed.url):
                    return await poll_feed(
                        client,
                        feed,
                        state,
                        settings,
                        max_entries=max_entries,
                        robots=robots,
                        parser=parser,
                    )

            return list(await asyncio.gather(*(one(f, s) for f, s in feeds_with_state)))


def poll_feeds_sync(
    feeds_with_state: Sequence[tuple[FeedConfig, FeedState]],
    settings: FetchSettings,
    *,
    max_entries: int | None = None,
    concurrency: int | None = None,
    parse_workers: int = 1,
) -> list[FeedPollResult]:
    """`poll_feeds` for plain code (CLI, Airflow tasks): runs its own event loop."""
    return asyncio.run(
        poll_feeds(
            feeds_with_state,
            settings,
            max_entries=max_entries,
            concurrency=concurrency,
            parse_workers=parse_workers,
        )
    )


def next_poll_at(
    now: datetime,
    result: FeedPollResult,
    consecutive_failures: int,
    interval_minutes: int,
    max_backoff_minutes: int,
) -> datetime:
    """When to poll a feed next.

    Healthy: one interval from now. Failing (`consecutive_failures` >= 1, counting this poll):
    interval * 2**failures, capped at max_backoff_minutes (but never below the interval).
    Never earlier than the server's Retry-After.
    """
    minutes = float(interval_minutes)
    if result.status == FeedStatus.ERROR and consecutive_failures > 0:
        cap = max(max_backoff_minutes, interval_minutes)
        minutes = exponential_backoff(interval_minutes, consecutive_failures, cap=cap)
    delay = timedelta(minutes=minutes)
    if result.retry_after_seconds is not None:
        delay = max(delay, timedelta(seconds=result.retry_after_seconds))
    return now + delay
