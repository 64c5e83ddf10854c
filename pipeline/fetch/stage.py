"""Fetch stage: download the pages of discovered articles (and retry failed ones when due)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from pipeline.backoff import exponential_backoff
from pipeline.config import FetchSettings
from pipeline.fetch.host_clock import StoreHostClock
from pipeline.fetch.pages import PageRequest, fetch_pages_sync
from pipeline.fetch.robots import RobotsCache
from pipeline.records import ArticleStatus, FetchResult, utcnow
from pipeline.store.batches import StageCounts, drain, only_articles
from pipeline.store.models import Article, Page


def due_for_fetch(now: datetime, article_ids: Sequence[str] | None = None) -> Select[Article]:
    """Articles never fetched, or whose failed fetch may be retried now."""
    stmt = select(Article).where(
        or_(
            Article.status == ArticleStatus.DISCOVERED,
            and_(
                Article.status == ArticleStatus.FETCH_FAILED,
                Article.next_attempt_at.is_not(None),
                Article.next_attempt_at <= now,
            ),
        )
    )
    return only_articles(stmt, article_ids).order_by(Article.discovered_at, Article.id)


def fetch_pending(
    sessions: sessionmaker[Session],
    settings: FetchSettings,
    *,
    article_ids: Sequence[str] | None = None,
    robots: RobotsCache | None = None,
) -> StageCounts:
    """Fetch due articles in batches; each batch is claimed, fetched and written in one go.

    On PostgreSQL the batch's rows stay locked (SKIP LOCKED) while they are fetched,
    so concurrent workers never take the same article; a crash releases the locks.
    The per-host delay holds across workers: start times are reserved in the store.
    Each host's robots.txt is read once for all the batches (or kept in `robots`, a
    worker process's cache for all its calls).
    """
    clock = StoreHostClock(sessions, settings.per_host_delay_seconds)
    robots = robots if robots is not None else RobotsCache()

    def work(session: Session, articles: list[Article], counts: StageCounts) -> None:
        requests = [
            PageRequest(
                article_id=a.id,
                url=a.canonical_url,
                etag=a.etag,
                last_modified=a.last_modified,
                ignore_robots=a.ignore_robots,
            )
            for a in articles
        ]
        by_id = {a.id: a for a in articles}
        fetched = fetch_pages_sync(requests, settings, clock, robots)
        counts.update(
            record_fetches(session, [(by_id[r.article_id], f) for r, f in fetched], settings)
        )

    return drain(
        sessions,
        lambda: due_for_fetch(utcnow(), article_ids),
        work,
        batch_size=settings.batch_size,
        stage="fetch",
    )


def record_fetches(
    session: Session, outcomes: list[tuple[Article, FetchResult]], settings: FetchSettings
) -> list[str]:
    """Write a batch's download outcomes; returns each one's count key.

    One query finds which articles already have a stored page, and the pages are written
    with one multi-row insert and one multi-row update; the articles' own changes are
    flushed together at commit.
    """
    ids = [article.id for article, _ in outcomes]
    stored = set(session.scalars(select(Page.article_id).where(Page.article_id.in_(ids))))
    now = utcnow()
    new_pages: list[dict[str, Any]] = []
    changed_pages: list[dict[str, Any]] = []
    keys = []
    for article, fetched in outcomes:
        has_page = article.id in stored
        keys.append(record_fetch(article, fetched, settings, has_page=has_page, now=now))
        if keys[-1] == "fetched":
            page = {
                "article_id": article.id,
                "html": fetched.html,
                "encoding": fetched.encoding,
                "fetched_at": now,
            }
            (changed_pages if has_page else new_pages).append(page)
    if new_pages:
        session.execute(insert(Page), new_pages)
    if changed_pages:
        session.execute(update(Page), changed_pages)  # by primary key, one statement
    return keys


def record_fetch(
    article: Article,
    fetched: FetchResult,
    settings: FetchSettings,
    *,
    has_page: bool,
    now: datetime,
) -> str:
    """Write one download's outcome onto the article (its page is written by the caller);
    returns the count key."""
    article.fetch_attempts += 1
    article.http_status = fetched.http_status
    if fetched.not_modified and has_page:
        article.status = ArticleStatus.FETCHED
        article.status_reason = "not modified since the last fetch"
        article.fetch_error = None
        article.next_attempt_at = None
        return "not_modified"
    if fetched.ok and fetched.html is not None:
        article.status = ArticleStatus.FETCHED
        article.status_reason = None
        article.fetch_error = None
        article.next_attempt_at = None
        article.final_url = fetched.final_url
        article.content_type = fetched.content_type
        article.etag = fetched.etag
        article.last_modified = fetched.last_modified
        article.fetched_at = now
        return "fetched"
    error = fetched.error
    article.status = ArticleStatus.FETCH_FAILED
    article.fetch_error = error.value if error else "unknown"
    article.status_reason = fetched.error_detail or article.fetch_error
    article.next_attempt_at = None
    if error is not None and error.retryable and article.fetch_attempts < settings.max_attempts:
        delay = exponential_backoff(settings.retry_backoff_seconds, article.fetch_attempts - 1)
        if fetched.retry_after_seconds:
            delay = max(delay, min(fetched.retry_after_seconds, settings.max_retry_after_seconds))
        article.next_attempt_at = now + timedelta(seconds=delay)
        return f"fetch_retry_{article.fetch_error}"
    return f"fetch_failed_{article.fetch_error}"
