"""Poll stage: poll the feeds that are due and record their entries as discovered articles."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import FeedConfig, Settings
from pipeline.feeds.documents import FeedState, next_poll_at, poll_feeds_sync
from pipeline.observe.logs import BatchLog
from pipeline.records import ArticleStatus, FeedPollResult, FeedStatus, utcnow
from pipeline.store.db import transaction
from pipeline.store.inserts import insert_new
from pipeline.store.models import Article, Feed, FeedEntryRow
from pipeline.urls import InvalidUrl, article_id, canonical_url

log = logging.getLogger(__name__)

# Bound on the parameters of one IN list (SQLite allows 32,766; PostgreSQL 65,535).
_KEYS_PER_QUERY = 500

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
    )
    for feed, poll in zip(feeds, polls, strict=True):
        _record_poll(sessions, settings, feed, poll, result)
    batch.done(result.counts, len(feeds))
    return result


def _record_poll(
    sessions: sessionmaker[Session],
    settings: Settings,
    feed: FeedConfig,
    poll: FeedPollResult,
    result: PollStageResult,
) -> None:
    now = utcnow()
    result.counts["feeds_polled"] += 1
    result.counts[f"feeds_{poll.status.value}"] += 1
    if poll.error:
        result.errors.append({"feed": feed.name, "error": poll.error})
    with transaction(sessions) as session:
        row = session.get_one(Feed, feed.name)
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
        _record_entries(session, feed, poll, result)


def _record_entries(
    session: Session, feed: FeedConfig, poll: FeedPollResult, result: PollStageResult
) -> None:
    # The feed's known entries in one query (not one per entry): most of a feed is known.
    keys = list({entry.entry_key for entry in poll.entries})
    seen: dict[str, FeedEntryRow] = {}
    for start in range(0, len(keys), _KEYS_PER_QUERY):
        chunk = keys[start : start + _KEYS_PER_QUERY]
        seen.update(
            (row.entry_key, row)
            for row in session.scalars(
                select(FeedEntryRow).where(
                    FeedEntryRow.feed_name == feed.name, FeedEntryRow.entry_key.in_(chunk)
                )
            )
        )
    for entry in poll.entries:
        known = seen.get(entry.entry_key)
        if known is not None:
            _refetch_if_updated(session, known, entry.published_at, result)
            continue
        result.counts["entries_new"] += 1
        row = FeedEntryRow(
            feed_name=feed.name,
            entry_key=entry.entry_key,
            link=entry.link,
            title=entry.title,
            published_at=entry.published_at,
        )
        session.add(row)
        seen[entry.entry_key] = row  # a key listed twice in one document is one entry
        if not entry.link:
            row.skipped_reason = "no_link"
            continue
        try:
            canonical = canonical_url(entry.link)
        except InvalidUrl as exc:
            row.skipped_reason = "invalid_url"
            result.counts["entries_invalid_link"] += 1
            result.errors.append({"feed": feed.name, "error": str(exc)})
            continue
        new_id = article_id(canonical)
        inserted = insert_new(
            session,
            Article,
            [
                {
                    "id": new_id,
                    "canonical_url": canonical,
                    "url": entry.link,
                    "feed_name": feed.name,
                    "feed_title": entry.title,
                    "feed_published_at": entry.published_at,
                    "ignore_robots": feed.ignore_robots,
                    "perspective": feed.perspective,
                    "status": ArticleStatus.DISCOVERED,
                    "discovered_at": utcnow(),
                    "updated_at": utcnow(),
                    "fetch_attempts": 0,
                    "index_attempts": 0,
                    "threads": [],
                }
            ],
            ["id"],
            Article.id,
        )
        # Linked only now: the insert's autoflush must not write a link to a missing article.
        row.article_id = new_id
        if inserted:
            result.counts["articles_new"] += 1
            result.new_article_ids.append(row.article_id)
        else:
            result.counts["articles_already_known"] += 1


def _refetch_if_updated(
    session: Session, known: FeedEntryRow, published_at: datetime | None, result: PollStageResult
) -> None:
    """A feed entry with a newer date means the page may have changed: fetch it again."""
    if published_at is None or known.published_at is None or published_at <= known.published_at:
        return
    known.published_at = published_at
    article = session.get(Article, known.article_id) if known.article_id else None
    if article is not None and article.status in _REFETCHABLE:
        article.status = ArticleStatus.DISCOVERED
        article.status_reason = "feed entry updated; fetching the page again"
        article.fetch_attempts = 0
        article.next_attempt_at = None
        result.counts["articles_refetch"] += 1


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
