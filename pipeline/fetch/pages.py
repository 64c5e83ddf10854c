"""Polite page fetching: concurrency limits, robots.txt, conditional GET, retries, decoding.

Every outcome is a `FetchResult`; per-URL problems never raise.
"""

from __future__ import annotations

import asyncio
import codecs
import random
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import charset_normalizer
import httpx

from pipeline.config import FetchSettings
from pipeline.fetch.errors import DownloadError
from pipeline.fetch.http import HostClock, RawResponse, Throttle, download, make_client
from pipeline.fetch.robots import Robots, RobotsCache
from pipeline.records import FetchError, FetchResult

# A Retry-After up to this long is waited out in the run; longer ones go back to the caller.
MAX_IN_RUN_RETRY_AFTER_SECONDS = 5.0
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
_RETRIED_WITH_BACKOFF = frozenset(
    {FetchError.TIMEOUT, FetchError.CONNECTION_ERROR, FetchError.HTTP_SERVER_ERROR}
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Labels browsers decode as windows-1252 (WHATWG Encoding Standard); Python's latin-1 would
# turn cp1252's curly quotes and dashes into C1 control characters.
_READ_AS_CP1252 = frozenset({"ascii", "iso8859-1"})
# Likewise browsers read GB2312 and GBK labels with the GB18030 decoder, and Big5 as
# Big5-HKSCS: pages labelled with the narrow charset routinely use the wider one's characters.
_READ_AS_WIDER = {"gb2312": "gb18030", "gbk": "gb18030", "big5": "big5hkscs"}


@dataclass
class PageRequest:
    article_id: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    ignore_robots: bool = False


async def fetch_pages(
    requests: Sequence[PageRequest],
    settings: FetchSettings,
    clock: HostClock | None = None,
    robots: RobotsCache | None = None,
) -> list[tuple[PageRequest, FetchResult]]:
    """Fetch pages concurrently within the politeness limits; results in request order.
    With a `clock`, the per-host delay also holds across processes sharing it; with a
    `robots` cache, robots.txt files read by earlier calls are reused while fresh."""
    async with make_client(settings) as client:
        fetcher = _Fetcher(client, settings, clock, robots)
        results = await asyncio.gather(*(fetcher.fetch(r) for r in requests))
    return list(zip(requests, results, strict=True))


def fetch_pages_sync(
    requests: Iterable[PageRequest],
    settings: FetchSettings,
    clock: HostClock | None = None,
    robots: RobotsCache | None = None,
) -> list[tuple[PageRequest, FetchResult]]:
    """`fetch_pages` for plain code (CLI, Airflow tasks): runs its own event loop."""
    return asyncio.run(fetch_pages(list(requests), settings, clock, robots))


class _Fetcher:
    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: FetchSettings,
        clock: HostClock | None,
        robots: RobotsCache | None,
    ) -> None:
        self._client = client
        self._settings = settings
        self._throttle = Throttle(settings, clock)
        self._robots = Robots(client, settings, self._throttle, robots)
        # Hosts that could not be resolved or connected to in this run, with the error: their
        # other pages fail at once, each with its own result, instead of each waiting out
        # the same timeout.
        self._unreachable: dict[str, DownloadError] = {}

    async def fetch(self, request: PageRequest) -> FetchResult:
        check = None
        if self._settings.respect_robots and not request.ignore_robots:
            check = self._robots.require_allowed
            await self._robots.prepare(request.url)
        headers = {"Accept": ACCEPT}
        if request.etag:
            headers["If-None-Match"] = request.etag
        if request.last_modified:
            headers["If-Modified-Since"] = request.last_modified
        attempt = 0
        host = _host(request.url)
        while True:
            try:
                self._check_reachable(host)
                async with self._throttle.slot(request.url):
                    self._check_reachable(host)  # it may have failed while this one waited
                    raw = await download(
                        self._client,
                        request.url,
                        settings=self._settings,
                        headers=headers,
                        check_url=check,
                    )
                return page_result(request.url, raw)
            except DownloadError as exc:
                delay = self._retry_delay(exc, attempt)
                if delay is None:
                    if exc.host_unreachable:  # the host of the hop that failed
                        self._unreachable.setdefault(_host(exc.final_url or request.url), exc)
                    return _failure(request.url, exc)
            await asyncio.sleep(delay)
            attempt += 1

    def _check_reachable(self, host: str) -> None:
        """Raise the run's earlier failure to reach this host, if there was one."""
        earlier = self._unreachable.get(host)
        if earlier is not None:
            raise _HostDown(earlier)

    def _retry_delay(self, exc: DownloadError, attempt: int) -> float | None:
        """Seconds to wait before retrying in this run, or None to give the result back."""
        if isinstance(exc, _HostDown):
            return None
        if attempt >= self._settings.in_run_retries:
            return None
        if exc.error == FetchError.RATE_LIMITED:
            wait = exc.retry_after_seconds
            return wait if wait is not None and wait <= MAX_IN_RUN_RETRY_AFTER_SECONDS else None
        if exc.error in _RETRIED_WITH_BACKOFF:
            base = self._settings.in_run_retry_delay_seconds * 2**attempt
            jitter: float = random.uniform(1.0, 1.5)  # retries of one outage spread out
            return float(base) * jitter
        return None


class _HostDown(DownloadError):
    """This page was not tried: its host failed to resolve or connect earlier in the run."""

    def __init__(self, earlier: DownloadError) -> None:
        super().__init__(
            earlier.error,
            f"not tried: the host was unreachable earlier in this run ({earlier.detail})",
            connect_failed=earlier.connect_failed,
        )


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def page_result(url: str, raw: RawResponse) -> FetchResult:
    """A downloaded response as a `FetchResult`: 304, decoded HTML, or NOT_HTML/DECODE_ERROR."""
    result = FetchResult(
        url=url,
        final_url=raw.final_url,
        http_status=raw.status_code,
        content_type=raw.content_type,
        etag=raw.headers.get("etag"),
        last_modified=raw.headers.get("last-modified"),
        redirects=raw.redirects,
    )
    if raw.status_code == 304:
        result.not_modified = True
        return result
    media_type, charset = _parse_content_type(raw.content_type)
    if media_type is None and not looks_like_html(raw.body):
        result.error = FetchError.NOT_HTML
        result.error_detail = "no Content-Type, and the body does not look like HTML"
    elif media_type is not None and media_type not in HTML_TYPES:
        result.error = FetchError.NOT_HTML
        result.error_detail = f"content type {media_type} is not HTML"
    elif (decoded := decode_html(raw.body, charset)) is None:
        result.error = FetchError.DECODE_ERROR
        result.error_detail = "no declared, sniffed or detected charset decodes the body"
    else:
        result.html, result.encoding = decoded
    return result


def decode_html(body: bytes, declared: str | None) -> tuple[str, str] | None:
    """(text, codec name) of an HTML body, or None if nothing decodes it.

    Order: BOM; UTF-8 when the body is valid non-ASCII UTF-8 (text in another encoding
    almost never is, so this overrides a wrong declaration); the Content-Type charset; the
    <meta> charset; detection; windows-1252. Each is tried strictly, so a mis-declared
    charset fails over to the next instead of producing mojibake.
    """
    tried: set[str] = set()
    for encoding in _charset_candidates(body, declared):  # lazy: detection only if needed
        if encoding in tried:
            continue
        tried.add(encoding)
        try:
            return body.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return None


def _charset_candidates(body: bytes, declared: str | None) -> Iterator[str]:
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            yield encoding
    if not body.isascii():
        yield "utf-8"
    meta = _META_CHARSET.search(body[:4096])
    for label in (declared, meta.group(1).decode("ascii") if meta else None):
        if label and (codec := _codec(label)):
            yield codec
    detected = charset_normalizer.from_bytes(body).best()
    if detected is not None and (codec := _codec(detected.encoding)):
        yield codec
    yield "cp1252"


def _codec(label: str) -> str | None:
    try:
        cleaned = label.strip().strip("\"'").lower()
        name = codecs.lookup("gbk" if cleaned == "x-gbk" else cleaned).name
    except LookupError:
        return None
    if name in _READ_AS_CP1252:
        return "cp1252"
    return _READ_AS_WIDER.get(name, name)


def _parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """(media type, charset parameter) of a Content-Type header."""
    if not value:
        return None, None
    media_type, *params = value.split(";")
    charset = None
    for param in params:
        key, _, param_value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = param_value.strip().strip("\"'") or None
    return media_type.strip().lower() or None, charset


def looks_like_html(body: bytes) -> bool:
    """Sniff for HTML when no Content-Type says what the body is."""
    head = body[:1024].lower()
    return b"<html" in head or b"<!doctype html" in head


def _failure(url: str, exc: DownloadError) -> FetchResult:
    return FetchResult(
        url=url,
        final_url=exc.final_url,
        http_status=exc.http_status,
        error=exc.error,
        error_detail=exc.detail,
        retry_after_seconds=exc.retry_after_seconds,
        redirects=exc.redirects,
    )
