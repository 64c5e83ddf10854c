"""Extract stage: turn fetched pages into article text and metadata."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import ExtractSettings
from pipeline.extract.extractor import NoContent, extract, warm_up
from pipeline.process_pool import process_pool
from pipeline.records import ArticleStatus, ExtractedPage, utcnow
from pipeline.store.batches import StageCounts, drain, only_articles
from pipeline.store.models import Article, Page
from pipeline.urls import domain_of


def extract_pending(
    sessions: sessionmaker[Session],
    settings: ExtractSettings,
    *,
    article_ids: Sequence[str] | None = None,
) -> StageCounts:
    """Extract every fetched article (optionally only the given ids). Idempotent.

    With extract.workers > 1, trafilatura runs in that many processes; the store is read
    and written here only, a batch at a time.
    """

    # each worker loads its models once, at start
    with process_pool(settings.workers, initializer=warm_up, preload=[__name__]) as pool:

        def work(session: Session, articles: list[Article], counts: StageCounts) -> None:
            ids = [a.id for a in articles]
            rows = session.execute(
                select(Page.article_id, Page.html).where(Page.article_id.in_(ids))
            )
            pages: dict[str, str] = {article_id: html for article_id, html in rows}
            jobs = [
                (pages[a.id], _url(a), a.feed_published_at, settings)
                for a in articles
                if a.id in pages
            ]
            outcomes = iter(
                pool.map(_extract_job, jobs, chunksize=4) if pool else map(_extract_job, jobs)
            )
            for article in articles:
                outcome = next(outcomes) if article.id in pages else None
                counts[record_extraction(article, outcome)] += 1

        return drain(
            sessions,
            lambda: due_for_extract(article_ids),
            work,
            batch_size=settings.batch_size,
            stage="extract",
        )


def due_for_extract(article_ids: Sequence[str] | None = None) -> Select[Article]:
    """Fetched articles (optionally only the given ids), oldest discovery first."""
    stmt = select(Article).where(Article.status == ArticleStatus.FETCHED)
    return only_articles(stmt, article_ids).order_by(Article.discovered_at, Article.id)


def _extract_job(
    job: tuple[str, str, datetime | None, ExtractSettings],
) -> ExtractedPage | NoContent:
    html, url, feed_published_at, settings = job
    return extract(html, url, feed_published_at=feed_published_at, settings=settings)


def _url(article: Article) -> str:
    return article.final_url or article.canonical_url


def record_extraction(article: Article, outcome: ExtractedPage | NoContent | None) -> str:
    """Write one extraction outcome to the article (None: its page is missing)."""
    now = utcnow()
    article.domain = domain_of(_url(article))
    if outcome is None:  # cannot happen through the fetch stage; keep the article visible
        article.status = ArticleStatus.FETCH_FAILED
        article.status_reason = "no stored page to extract; will be fetched again"
        article.next_attempt_at = now
        return "missing_page"
    article.extracted_at = now
    if isinstance(outcome, NoContent):
        article.status = ArticleStatus.NO_CONTENT
        article.status_reason = outcome.reason
        article.title = article.title or article.feed_title
        return "no_content"
    article.title = outcome.title or article.feed_title
    article.author = outcome.author
    article.published_at = outcome.published_at
    article.date_source = outcome.date_source.value
    article.date_note = outcome.date_note
    article.site_name = outcome.site_name
    article.language = outcome.language
    article.text = outcome.text
    article.word_count = outcome.word_count
    article.status = ArticleStatus.EXTRACTED
    article.status_reason = None
    return "extracted"
