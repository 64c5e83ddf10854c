""" "More like this" by meaning: the nearest articles by cosine over the stored embeddings.

Bounded work: only articles dated within ``SIMILAR_WINDOW`` of the article (the
publication date, or the discovery time when a page has none) are candidates, and of
those at most ``SIMILAR_CANDIDATES``, the most recent first, are scored: one matrix
product, whatever the size of the store. The article's own story cluster (its copies
and same-event reports) is left out, and each other story appears once, as its closest
article. An article with no stored embedding gets ``None``: the caller falls back to
the search index's lexical more-like-this. On Elasticsearch with ``dense_vector`` the
index's kNN search answers instead (``indexed_neighbours``), over every date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import numpy as np
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from pipeline.classify.embed import MODEL_ID, vector_from_bytes
from pipeline.classify.models import ArticleEmbedding
from pipeline.index.base import BackendUnavailable, SearchIndex
from pipeline.search.reports import CLASSIFIED, ArticleSummary, summarise
from pipeline.store.models import Article

SIMILAR_WINDOW = timedelta(days=730)  # a related story two years on is still worth showing
SIMILAR_CANDIDATES = 5000  # 5000 x 512 float32 = 10 MB, a few milliseconds to score


@dataclass
class SimilarArticle:
    article: ArticleSummary
    similarity: float | None  # cosine of the two embeddings, -1..1; None when lexical


@dataclass
class MoreLikeThis:
    article_id: str
    method: Literal["embedding", "lexical"]  # lexical: the article has no stored embedding
    articles: list[SimilarArticle]


def more_like_this(
    session: Session, backend: SearchIndex, article_id: str, limit: int
) -> MoreLikeThis:
    """Nearest stories by embedding (kNN in the index where it has it, else scored here);
    the index's lexical more-like-this without one."""
    found = indexed_neighbours(session, backend, article_id, limit)
    if found is None:
        found = similar_articles(session, article_id, limit)
    if found is not None:
        return MoreLikeThis(article_id, "embedding", found)
    hits = backend.more_like_this(article_id, limit=limit)
    stored = {
        a.id: a
        for a in session.scalars(
            select(Article).where(Article.id.in_([h.article_id for h in hits]))
        )
    }
    articles = [
        SimilarArticle(summarise(stored[h.article_id]), None)
        for h in hits
        if h.article_id in stored
    ]
    return MoreLikeThis(article_id, "lexical", articles)


def indexed_neighbours(
    session: Session, backend: SearchIndex, article_id: str, limit: int
) -> list[SimilarArticle] | None:
    """The nearest other stories by a kNN search of the index's vectors, over all of it (no
    window: kNN needs no bound); None when the backend has no kNN (the embedded index,
    or an Elasticsearch cluster without dense_vector), is unavailable, or the article has
    no embedding."""
    nearest = getattr(backend, "nearest", None)  # Elasticsearch only
    article = session.get(Article, article_id)
    own = session.get(ArticleEmbedding, article_id)
    if not callable(nearest) or article is None or own is None or own.model != MODEL_ID:
        return None
    try:
        found: list[tuple[str, float]] | None = nearest(
            vector_from_bytes(own.vector).tolist(),
            model=MODEL_ID,
            story_id=article.cluster_id or article.id,
            limit=limit,
        )
    except BackendUnavailable:
        return None  # the store's vectors still answer
    if found is None:
        return None
    ids = [i for i, _ in found]
    stored = {
        a.id: a
        for a in session.scalars(
            select(Article).where(Article.id.in_(ids), Article.status.in_(CLASSIFIED))
        )
    }
    return [SimilarArticle(summarise(stored[i]), score) for i, score in found if i in stored]


def similar_articles(session: Session, article_id: str, limit: int) -> list[SimilarArticle] | None:
    """The ``limit`` nearest other stories, closest first; None when the article (or its
    embedding under the current model) is not stored."""
    article = session.get(Article, article_id)
    own = session.get(ArticleEmbedding, article_id)
    if article is None or own is None or own.model != MODEL_ID:
        return None
    target = vector_from_bytes(own.vector)
    when = article.published_at or article.discovered_at
    low, high = when - SIMILAR_WINDOW, when + SIMILAR_WINDOW
    query = (
        select(Article, ArticleEmbedding.vector)
        .join(ArticleEmbedding, ArticleEmbedding.article_id == Article.id)
        .where(
            ArticleEmbedding.model == MODEL_ID,
            Article.id != article_id,
            Article.status.in_(CLASSIFIED),
            or_(
                Article.published_at.between(low, high),
                and_(Article.published_at.is_(None), Article.discovered_at.between(low, high)),
            ),
        )
        .order_by(Article.published_at.desc(), Article.id)
        .limit(SIMILAR_CANDIDATES)
    )
    if article.cluster_id is not None:
        query = query.where(
            or_(Article.cluster_id.is_(None), Article.cluster_id != article.cluster_id)
        )
    rows = session.execute(query).all()
    if not rows:
        return []
    scores = np.stack([vector_from_bytes(raw) for _, raw in rows]) @ target
    found: list[SimilarArticle] = []
    stories: set[str] = set()
    for i in np.argsort(-scores, kind="stable"):
        candidate: Article = rows[int(i)][0]
        story = candidate.cluster_id or candidate.id
        if story in stories:
            continue
        stories.add(story)
        found.append(SimilarArticle(summarise(candidate), float(np.clip(scores[i], -1.0, 1.0))))
        if len(found) == limit:
            break
    return found
