"""Fetch stage: download the pages of discovered articles (and retry failed ones when due)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.backoff import exponential_backoff
from pipeline.config import FetchSettings
from pipeline.fetch.host_clock import StoreHostClock
from pipeline.fetch.pages import PageRequest, fetch_pages_sync
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
) -> StageCounts:
    """Fetch due articles in batches; each batch is claimed, fetched and written in one go.

    On PostgreSQL the batch's rows stay locked (SKIP LOCKED) while they are fetched,
    so concurrent workers never take the same article; a crash releases the locks.
    The per-host delay holds across workers: start times are reserved in the store.
    """
    clock = StoreHostClock(sessions, settings.per_host_delay_seconds)

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
        for request, fetched in fetch_pages_sync(requests, settings, clock):
            counts[record_fetch(session, by_id[request.article_id], fetched, settings)] += 1

    return drain(
        sessions,
        lambda: due_for_fetch(utcnow(), article_ids),
        work,
        batch_size=settings.batch_size,
        stage="fetch",
    )


def record_fetch(
    session: Session, article: Article, fetched: FetchResult, settings: FetchSettings
) -> str:
    """Write one download's outcome onto the article; returns the count key."""
    now = utcnow()
    article.fetch_attempts += 1
    article.http_status = fetched.http_status
    if fetched.not_modified and session.get(Page, article.id) is not None:
        article.status = ArticleStatus.FETCHED
        article.status_reason = "not modified since the last fetch"
        article.fetch_error = None
        article.next_attempt_at = None
        return "not_modified"
    if fetched.ok and fetched.html is not None:
        page = session.get(Page, article.id)
        if page is None:
            session.add(
                Page(
                    article_id=article.id,
                    html=fetched.html,
                    encoding=fetched.encoding,
                    fetched_at=now,
                )
            )
        else:
            page.html, page.encoding, page.fetched_at = fetched.html, fetched.encoding, now
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
