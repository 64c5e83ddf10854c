"""Index stage: the outbox that moves classified articles into the search backend.

An article is indexed only when the backend confirms it. If the backend is down or
rejects a document, the article stays `pending` (retried with backoff) or becomes
`failed` after index.max_attempts, with the reason; nothing is lost.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine, Select, and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from pipeline.backoff import exponential_backoff
from pipeline.classify.embed import MODEL_ID, vector_from_bytes
from pipeline.classify.models import ArticleEmbedding
from pipeline.config import IndexSettings
from pipeline.index.base import BackendUnavailable, SearchIndex
from pipeline.records import ArticleStatus, IndexDocument, IndexState, utcnow
from pipeline.store.batches import StageCounts, drain, only_articles
from pipeline.store.db import rows_matched, transaction
from pipeline.store.models import Article

_LATEST_INDEXED = select(func.max(Article.indexed_at))


def index_generation(engine: Engine) -> datetime | None:
    """When articles were last indexed: it changes whenever the index stage or a rebuild
    indexes articles, so answers computed from the index can be kept until it does.
    One probe of ix_articles_indexed_at, through Core (the search service asks per request)."""
    with engine.connect() as conn:
        return conn.scalar(_LATEST_INDEXED)


def to_document(
    article: Article, indexed_at: datetime, vector: bytes | None = None
) -> IndexDocument:
    """The article as the backends see it; `vector` is its stored embedding of the current
    model (Elasticsearch indexes it for kNN where the cluster can)."""
    return IndexDocument(
        article_id=article.id,
        canonical_url=article.canonical_url,
        title=article.display_title,
        text=article.text or "",
        published_at=article.published_at,
        date_source=article.date_source or "none",
        indexed_at=indexed_at,
        outlet=article.outlet,
        domain=article.domain or "",
        language=article.language,
        threads=tuple(article.threads or ()),
        relation=article.relation,
        seed_similarity=article.seed_similarity,
        cluster_id=article.cluster_id,
        author=article.author,
        discovered_at=article.discovered_at,
        embedding=None if vector is None else tuple(vector_from_bytes(vector).tolist()),
        embedding_model=None if vector is None else MODEL_ID,
        perspective=article.perspective,
    )


def index_pending(
    sessions: sessionmaker[Session],
    backend: SearchIndex,
    settings: IndexSettings,
    *,
    article_ids: Sequence[str] | None = None,
) -> StageCounts:
    """Send pending articles to the backend in batches until none is due."""

    def due() -> Select[Article]:
        stmt = select(Article).where(
            Article.index_state == IndexState.PENDING,
            or_(
                Article.index_next_attempt_at.is_(None),
                Article.index_next_attempt_at <= utcnow(),
            ),
        )
        return only_articles(stmt, article_ids).order_by(Article.id)

    def work(session: Session, articles: list[Article], counts: StageCounts) -> bool:
        now = utcnow()
        vectors = dict(
            session.execute(
                select(ArticleEmbedding.article_id, ArticleEmbedding.vector).where(
                    ArticleEmbedding.article_id.in_([a.id for a in articles]),
                    ArticleEmbedding.model == MODEL_ID,
                )
            ).all()
        )
        try:
            outcomes = backend.index([to_document(a, now, vectors.get(a.id)) for a in articles])
        except BackendUnavailable as exc:
            for article in articles:
                _defer(article, f"backend unavailable: {exc}", settings, now)
            counts["index_deferred"] += len(articles)
            counts["backend_unavailable"] += 1
            return True  # the rest waits for the next run; do not hammer a down backend
        for article, outcome in zip(articles, outcomes, strict=True):
            if outcome.ok:
                article.index_state = IndexState.INDEXED
                article.index_error = None
                article.index_next_attempt_at = None
                article.indexed_at = now
                article.status = ArticleStatus.INDEXED
                counts["indexed"] += 1
            else:
                _defer(article, outcome.error or "rejected", settings, now)
                counts[f"index_{article.index_state}"] += 1
        return False

    return drain(sessions, due, work, batch_size=settings.batch_size, stage="index")


def _defer(article: Article, reason: str, settings: IndexSettings, now: datetime) -> None:
    article.index_attempts += 1
    article.index_error = reason[:2000]
    if article.index_attempts >= settings.max_attempts:
        article.index_state = IndexState.FAILED
        article.index_next_attempt_at = None
    else:
        delay = exponential_backoff(settings.retry_backoff_seconds, article.index_attempts - 1)
        article.index_next_attempt_at = now + timedelta(seconds=delay)


def requeue(
    sessions: sessionmaker[Session],
    *,
    since: datetime | None = None,
    failed_only: bool = False,
) -> int:
    """Put articles back in the outbox (after a rebuild elsewhere, or to retry failures)."""
    stmt = update(Article).where(
        Article.status.in_([ArticleStatus.CLASSIFIED, ArticleStatus.INDEXED])
    )
    if failed_only:
        stmt = stmt.where(Article.index_state == IndexState.FAILED)
    if since is not None:
        stmt = stmt.where(Article.published_at >= since)
    stmt = stmt.values(index_state=IndexState.PENDING, index_attempts=0, index_next_attempt_at=None)
    with transaction(sessions) as session:
        return rows_matched(session, stmt)


_INDEXABLE = (ArticleStatus.CLASSIFIED, ArticleStatus.INDEXED)
_REBUILD_CHUNK = 500


def rebuild_index(sessions: sessionmaker[Session], backend: SearchIndex) -> StageCounts:
    """Build a fresh index from every classified or indexed article, then switch to it.

    Searchers keep the old index until the new one is complete (the backend's alias
    swap). If the backend accepted fewer documents than it was sent, every article goes
    back to the outbox, whose per-document outcomes then say which ones fail.
    """
    started = utcnow()
    sent: list[str] = []
    with sessions() as session:
        # each article with its stored embedding of the current model, if it has one
        same_model = and_(
            ArticleEmbedding.article_id == Article.id, ArticleEmbedding.model == MODEL_ID
        )
        rows = session.execute(
            select(Article, ArticleEmbedding.vector)
            .outerjoin(ArticleEmbedding, same_model)
            .where(Article.status.in_(_INDEXABLE))
            .order_by(Article.id)
            .execution_options(yield_per=_REBUILD_CHUNK)
        )

        def documents() -> Iterator[IndexDocument]:
            for article, vector in rows:
                sent.append(article.id)
                yield to_document(article, started, vector)
                session.expunge(article)  # keep memory flat over a large store

        indexed = backend.rebuild(documents())
    counts: StageCounts = Counter(documents=len(sent), indexed=indexed)
    complete = indexed == len(sent)
    values: dict[str, object] = {
        "index_state": IndexState.INDEXED if complete else IndexState.PENDING,
        "index_attempts": 0,
        "index_next_attempt_at": None,
    }
    if complete:
        values.update(status=ArticleStatus.INDEXED, index_error=None, indexed_at=started)
    with transaction(sessions) as session:
        for start in range(0, len(sent), _REBUILD_CHUNK):
            # Articles reclassified or rediscovered meanwhile keep their newer state.
            stmt = (
                update(Article)
                .where(
                    Article.id.in_(sent[start : start + _REBUILD_CHUNK]),
                    Article.status.in_(_INDEXABLE),
                    Article.classified_at <= started,
                )
                .values(**values)
            )
            counts["marked_indexed" if complete else "requeued"] += rows_matched(session, stmt)
    return counts


def setup_index(backend: SearchIndex) -> None:
    """The backend's one-off set-up: template and aliases on Elasticsearch (`setup`), the
    schema on SQLite (its `ensure_ready`)."""
    setup = getattr(backend, "setup", None)
    if callable(setup):
        setup()
    else:
        backend.ensure_ready()


def outbox_counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    """Articles per index state (not yet classified ones are left out)."""
    with sessions() as session:
        rows = session.execute(
            select(Article.index_state, func.count())
            .where(Article.index_state.is_not(None))
            .group_by(Article.index_state)
        )
        return {str(state): count for state, count in rows}
