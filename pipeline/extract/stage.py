"""Extract stage: turn fetched pages into article text and metadata."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import ExtractSettings
from pipeline.extract.extractor import NoContent, extract
from pipeline.records import ArticleStatus, utcnow
from pipeline.store.batches import StageCounts, drain
from pipeline.store.models import Article, Page
from pipeline.urls import domain_of


def extract_pending(
    sessions: sessionmaker[Session],
    settings: ExtractSettings,
    *,
    article_ids: Sequence[str] | None = None,
) -> StageCounts:
    """Extract every fetched article (optionally only the given ids). Idempotent."""

    def due() -> Select[Article]:
        stmt = select(Article).where(Article.status == ArticleStatus.FETCHED)
        if article_ids is not None:
            stmt = stmt.where(Article.id.in_(list(article_ids)))
        return stmt.order_by(Article.discovered_at, Article.id)

    def work(session: Session, articles: list[Article], counts: StageCounts) -> None:
        for article in articles:
            counts[record_extraction(session, article, settings)] += 1

    return drain(sessions, due, work, batch_size=settings.batch_size, stage="extract")


def record_extraction(session: Session, article: Article, settings: ExtractSettings) -> str:
    page = session.get(Page, article.id)
    now = utcnow()
    url = article.final_url or article.canonical_url
    article.domain = domain_of(url)
    if page is None:  # cannot happen through the fetch stage; keep the article visible
        article.status = ArticleStatus.FETCH_FAILED
        article.status_reason = "no stored page to extract; will be fetched again"
        article.next_attempt_at = now
        return "missing_page"
    outcome = extract(
        page.html, url, feed_published_at=article.feed_published_at, settings=settings
    )
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
