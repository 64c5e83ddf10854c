"""Stored embeddings, and same-event detection between articles.

Copy detection (``pipeline.classify.dedup``) joins texts that share wording. Outlets
also report one event each in its own words; those reports share no shingles, but
their leads say the same thing on the same days. An article whose lead embedding is
within ``dedup.event_cluster_threshold`` of an earlier article's, both dated within
``dedup.same_day_tolerance_days`` of each other, joins that article's story cluster,
so the cluster lists every outlet that reported the event ("also reported by").
Two leads in one script must also share ``MIN_SHARED_TERMS`` uncommon words (names,
places): embeddings of text the model knows little about (rare names, made-up words)
sit close together, and a shared name is what independent reports always have.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import and_, delete, insert, or_, select
from sqlalchemy.orm import Session

from pipeline.classify.embed import (
    MODEL_ID,
    Vector,
    lead_text,
    mostly_cjk,
    vector_bytes,
    vector_from_bytes,
)
from pipeline.classify.models import ArticleEmbedding
from pipeline.classify.relate import common_words
from pipeline.config import DedupSettings
from pipeline.records import ArticleStatus
from pipeline.store.models import Article
from pipeline.text.tokens import words

_DONE = (ArticleStatus.CLASSIFIED.value, ArticleStatus.INDEXED.value)
MAX_EVENT_CANDIDATES = 20_000  # a few days of a large newsroom's intake
MIN_SHARED_TERMS = 2


def source_hash(embedded_text: str) -> str:
    return hashlib.sha256(embedded_text.encode("utf-8")).hexdigest()


def stored_vectors(session: Session, hashes: dict[str, str]) -> dict[str, Vector]:
    """Stored vectors of these articles (id → hash of the text to embed), where current."""
    if not hashes:
        return {}
    rows = session.execute(
        select(
            ArticleEmbedding.article_id, ArticleEmbedding.source_hash, ArticleEmbedding.vector
        ).where(
            ArticleEmbedding.article_id.in_(sorted(hashes)),
            ArticleEmbedding.model == MODEL_ID,
        )
    )
    return {aid: vector_from_bytes(raw) for aid, digest, raw in rows if hashes[aid] == digest}


def save_vectors(session: Session, vectors: dict[str, tuple[str, Vector]]) -> None:
    """Store (or replace) vectors: article id → (hash of the embedded text, vector)."""
    if not vectors:
        return
    ids = sorted(vectors)
    session.execute(delete(ArticleEmbedding).where(ArticleEmbedding.article_id.in_(ids)))
    session.execute(
        insert(ArticleEmbedding),
        [
            {
                "article_id": aid,
                "model": MODEL_ID,
                "source_hash": vectors[aid][0],
                "vector": vector_bytes(vectors[aid][1]),
            }
            for aid in ids
        ],
    )


@dataclass(frozen=True)
class EventMatch:
    article_id: str
    cluster_id: str
    similarity: float


def same_event(
    session: Session,
    article_id: str,
    lead: str,
    vector: Vector,
    when: datetime,
    settings: DedupSettings,
    exclude_clusters: Collection[str] = (),
) -> EventMatch | None:
    """The classified article, dated close to `when`, whose lead says the most nearly the
    same as this one, if it reaches ``event_cluster_threshold``."""
    window = timedelta(days=settings.same_day_tolerance_days, hours=12)
    lo, hi = when - window, when + window
    dated = or_(
        Article.published_at.between(lo, hi),
        and_(Article.published_at.is_(None), Article.discovered_at.between(lo, hi)),
    )
    rows = session.execute(
        select(Article.id, Article.cluster_id, ArticleEmbedding.vector)
        .join(ArticleEmbedding, ArticleEmbedding.article_id == Article.id)
        .where(
            dated,
            Article.id != article_id,
            Article.status.in_(_DONE),
            Article.cluster_id.is_not(None),
            ArticleEmbedding.model == MODEL_ID,
        )
        .order_by(Article.id)
        .limit(MAX_EVENT_CANDIDATES)
    ).all()
    rows = [r for r in rows if r[1] not in exclude_clusters]
    if not rows:
        return None
    matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype="<f4").reshape(len(rows), -1)
    scores = matrix @ vector
    for best in np.argsort(-scores, kind="stable")[:5].tolist():
        if float(scores[best]) < settings.event_cluster_threshold:
            return None
        other_id, cluster_id = rows[best][0], rows[best][1] or rows[best][0]
        other = session.execute(
            select(Article.title, Article.text).where(Article.id == other_id)
        ).one()
        if shares_terms(lead, lead_text(other[0], other[1] or "")):
            return EventMatch(other_id, cluster_id, float(scores[best]))
    return None


def shares_terms(lead: str, other: str) -> bool:
    """Whether two leads share enough uncommon words (always true across scripts)."""
    if mostly_cjk(lead) != mostly_cjk(other):
        return True
    common = common_words()
    mine = {w for w in words(lead) if w not in common and len(w) > 2}
    return len(mine & set(words(other))) >= MIN_SHARED_TERMS
