"""Poll stage: poll the feeds that are due and record their entries as discovered articles."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import FeedConfig, Settings
from pipeline.feeds.documents import FeedState, next_poll_at, poll_feeds_sync
from pipeline.observe.logs import BatchLog
from pipeline.records import ArticleStatus, FeedEntry, FeedPollResult, FeedStatus, utcnow
from pipeline.store.db import rows_matched, transaction
from pipeline.store.inserts import insert_new
from pipeline.store.models import Article, Feed, FeedEntryRow
from pipeline.urls import InvalidUrl, article_id, canonical_url

log = logging.getLogger(__name__)

# Bound on the parameters of one IN list (SQLite allows 32,766; PostgreSQL 65,535).
_KEYS_PER_QUERY = 500
# Rows of one multi-row INSERT: 500 rows of 14 columns stay within both bounds.
_ROWS_PER_INSERT = 500
# Polled feeds recorded per transaction: one commit for many feeds, while a failure
# loses the record of a bounded batch only (those feeds are polled again next time).
_FEEDS_PER_TRANSACTION = 100

# Articles in these states are re-fetched when their feed entry shows a newer date.
_REFETCHABLE = (ArticleStatus.CLASSIFIED, ArticleStatus.INDEXED, ArticleStatus.NO_CONTENT)


@dataclass
class PollStageResult:
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, str]] = field(default_factory=list)
    new_article_ids: list[str] = field(default_factory=list)


def sync_feed_rows(sessions: sessionmaker[Session], feeds: Sequence[FeedConfig]) -> None:
    """Make sure every configured feed has a state row, and that its URL is current."""
    with transaction(sessions) as session:
        existing = {row.name: row for row in session.scalars(select(Feed))}
        for feed in feeds:
            row = existing.get(feed.name)
            if row is None:
                session.add(Feed(name=feed.name, url=feed.url))
            elif row.url != feed.url:
                row.url = feed.url  # a moved feed starts its conditional-GET state afresh
                row.etag = row.last_modified = row.body_hash = None


def due_feeds(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    names: Sequence[str] | None = None,
    now: datetime | None = None,
) -> list[FeedConfig]:
    """Enabled feeds whose next poll time has come; named feeds are polled regardless."""
    now = now or utcnow()
    if names:
        unknown = sorted(set(names) - {f.name for f in settings.feeds})
        if unknown:
            raise ValueError(f"unknown feed(s): {', '.join(unknown)}")
        return [f for f in settings.feeds if f.name in names]
    with sessions() as session:
        # .all(), not the Result itself: dict() would take a Result for a mapping (it has keys())
        next_at = dict(session.execute(select(Feed.name, Feed.next_poll_at)).all())
    return [
        f
        for f in settings.feeds
        if f.enabled and ((when := next_at.get(f.name)) is None or when <= now)
    ]


def poll_feeds(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    names: Sequence[str] | None = None,
    now: datetime | None = None,
) -> PollStageResult:
    """Poll due feeds (or the named ones) and record what they list. Idempotent."""
    sync_feed_rows(sessions, settings.feeds)
    feeds = due_feeds(sessions, settings, names=names, now=now)
    result = PollStageResult()
    if not feeds:
        return result
    with sessions() as session:
        rows = {row.name: row for row in session.scalars(select(Feed))}
    states = [
        (f, FeedState(rows[f.name].etag, rows[f.name].last_modified, rows[f.name].body_hash))
        for f in feeds
    ]
    batch = BatchLog("poll", result.counts, sessions)
    polls = poll_feeds_sync(
        states,
        settings.fetch,
        max_entries=settings.poll.max_entries_per_poll,
        concurrency=settings.poll.concurrency,
        parse_workers=settings.poll.parse_workers,
    )
    polled = list(zip(feeds, polls, strict=True))
    for start in range(0, len(polled), _FEEDS_PER_TRANSACTION):
        _record_polls(sessions, settings, polled[start : start + _FEEDS_PER_TRANSACTION], result)
    batch.done(result.counts, len(feeds))
    return result


def _record_polls(
    sessions: sessionmaker[Session],
    settings: Settings,
    polled: Sequence[tuple[FeedConfig, FeedPollResult]],
    result: PollStageResult,
) -> None:
    """Record a batch of polled feeds in one transaction: their state, then their entries."""
    now = utcnow()
    with transaction(sessions) as session:
        names = [feed.name for feed, _poll in polled]
        rows = {row.name: row for row in session.scalars(select(Feed).where(Feed.name.in_(names)))}
        for feed, poll in polled:
            _record_feed_state(rows[feed.name], settings, feed, poll, now, result)
        fresh: list[tuple[FeedConfig, FeedEntry]] = []
        for feed, poll in polled:
            fresh += [(feed, entry) for entry in _unknown_entries(session, feed, poll, result)]
        _record_new_entries(session, fresh, now, result)


def _record_feed_state(
    row: Feed,
    settings: Settings,
    feed: FeedConfig,
    poll: FeedPollResult,
    now: datetime,
    result: PollStageResult,
) -> None:
    result.counts["feeds_polled"] += 1
    result.counts[f"feeds_{poll.status.value}"] += 1
    if poll.parsed:
        result.counts["documents_parsed"] += 1
    if poll.error:
        result.errors.append({"feed": feed.name, "error": poll.error})
    failed = poll.status == FeedStatus.ERROR
    row.consecutive_failures = row.consecutive_failures + 1 if failed else 0
    row.last_status = poll.status
    row.last_http_status = poll.http_status
    row.last_error = poll.error
    row.last_polled_at = now
    if not failed:
        row.last_success_at = now
        row.etag = poll.etag or row.etag
        row.last_modified = poll.last_modified or row.last_modified
        row.body_hash = poll.body_hash or row.body_hash
    row.next_poll_at = next_poll_at(
        now,
        poll,
        row.consecutive_failures,
        feed.poll_interval_minutes or settings.poll.interval_minutes,
        settings.poll.max_backoff_minutes,
    )
    row.entries_seen += len(poll.entries)
    result.counts["entries_without_link"] += poll.skipped_without_link
    result.counts["entries_beyond_limit"] += poll.entries_beyond_limit
    result.counts["entry_dates_rejected"] += poll.dates_rejected
    if poll.entries_beyond_limit:
        log.warning(
            "feed %s lists %d entries beyond poll.max_entries_per_poll (%d): not read",
            feed.name,
            poll.entries_beyond_limit,
            settings.poll.max_entries_per_poll,
        )


def _unknown_entries(
    session: Session, feed: FeedConfig, poll: FeedPollResult, result: PollStageResult
) -> list[FeedEntry]:
    """The poll's entries not on record for the feed yet; known ones with a newer date
    send their article to be fetched again."""
    # The feed's known entries in one query per chunk (most of a feed is known), as plain
    # rows: building ORM objects for them was most of a steady poll's recording time.
    keys = list({entry.entry_key for entry in poll.entries})
    known: dict[str, tuple[int, datetime | None, str | None]] = {}
    row = FeedEntryRow
    for start in range(0, len(keys), _KEYS_PER_QUERY):
        chunk = keys[start : start + _KEYS_PER_QUERY]
        found = session.execute(
            select(row.entry_key, row.id, row.published_at, row.article_id).where(
                row.feed_name == feed.name, row.entry_key.in_(chunk)
            )
        )
        known.update((key, (id_, published, article)) for key, id_, published, article in found)
    unknown: dict[str, FeedEntry] = {}
    for entry in poll.entries:
        seen = known.get(entry.entry_key)
        if seen is None:
            unknown.setdefault(entry.entry_key, entry)  # a key listed twice is one entry
            continue
        entry_id, published_at, article_id = seen
        if _is_newer(entry.published_at, published_at):
            _refetch(session, entry_id, entry.published_at, article_id, result)
    return list(unknown.values())


def _is_newer(listed: datetime | None, recorded: datetime | None) -> bool:
    return listed is not None and recorded is not None and listed > recorded


def _refetch(
    session: Session,
    entry_id: int,
    published_at: datetime | None,
    article_id: str | None,
    result: PollStageResult,
) -> None:
    """A feed entry with a newer date means the page may have changed: fetch it again."""
    session.execute(
        update(FeedEntryRow).where(FeedEntryRow.id == entry_id).values(published_at=published_at)
    )
    if article_id is None:
        return
    again = update(Article).where(Article.id == article_id, Article.status.in_(_REFETCHABLE))
    reset = again.values(
        status=ArticleStatus.DISCOVERED,
        status_reason="feed entry updated; fetching the page again",
        fetch_attempts=0,
        next_attempt_at=None,
    )
    if matched := rows_matched(session, reset):
        result.counts["articles_refetch"] += matched


def _record_new_entries(
    session: Session,
    fresh: Sequence[tuple[FeedConfig, FeedEntry]],
    now: datetime,
    result: PollStageResult,
) -> None:
    """New entries on record, and their pages as discovered articles (one per canonical
    URL, whichever feed lists it first): a few multi-row inserts for the whole batch."""
    entries: list[dict[str, Any]] = []
    articles: dict[str, dict[str, Any]] = {}
    linked: list[str | None] = []  # the article id of each entry in `entries`
    for feed, entry in fresh:
        result.counts["entries_new"] += 1
        article = None
        reason = None
        if not entry.link:
            reason = "no_link"
        else:
            try:
                canonical = canonical_url(entry.link)
            except InvalidUrl as exc:
                reason = "invalid_url"
                result.counts["entries_invalid_link"] += 1
                result.errors.append({"feed": feed.name, "error": str(exc)})
            else:
                article = article_id(canonical)
                articles.setdefault(article, _article_row(article, canonical, feed, entry, now))
        linked.append(article)
        entries.append(
            {
                "feed_name": feed.name,
                "entry_key": entry.entry_key,
                "link": entry.link,
                "title": entry.title,
                "published_at": entry.published_at,
                "article_id": article,
                "skipped_reason": reason,
                "first_seen_at": now,
            }
        )
    rows = list(articles.values())
    inserted: set[str] = set()
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[start : start + _ROWS_PER_INSERT]
        inserted.update(insert_new(session, Article, chunk, ["id"], Article.id))
    for start in range(0, len(entries), _ROWS_PER_INSERT):
        chunk = entries[start : start + _ROWS_PER_INSERT]
        insert_new(session, FeedEntryRow, chunk, ["feed_name", "entry_key"], FeedEntryRow.id)
    credited: set[str] = set()
    for article in linked:
        if article is None:
            continue
        if article in inserted and article not in credited:
            credited.add(article)
            result.counts["articles_new"] += 1
            result.new_article_ids.append(article)
        else:
            result.counts["articles_already_known"] += 1


def _article_row(
    article: str, canonical: str, feed: FeedConfig, entry: FeedEntry, now: datetime
) -> dict[str, Any]:
    return {
        "id": article,
        "canonical_url": canonical,
        "url": entry.link,
        "feed_name": feed.name,
        "feed_title": entry.title,
        "feed_published_at": entry.published_at,
        "ignore_robots": feed.ignore_robots,
        "perspective": feed.perspective,
        "status": ArticleStatus.DISCOVERED,
        "discovered_at": now,
        "updated_at": now,
        "fetch_attempts": 0,
        "index_attempts": 0,
        "threads": [],
    }


def failing_feeds(sessions: sessionmaker[Session], min_failures: int) -> list[Feed]:
    """Feeds whose last `min_failures` polls (or more) all failed, worst first."""
    with sessions() as session:
        return list(
            session.scalars(
                select(Feed)
                .where(Feed.consecutive_failures >= min_failures)
                .order_by(Feed.consecutive_failures.desc(), Feed.name)
            )
        )
