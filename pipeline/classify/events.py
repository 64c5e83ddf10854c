"""Stored embeddings, and same-event detection between articles.

Copy detection (``pipeline.classify.dedup``) joins texts that share wording. Outlets
also report one event each in its own words; those reports share no shingles, but
their leads say the same thing on the same days. An article joins an earlier article's
story cluster, so the cluster lists every outlet that reported the event ("also reported
by"), when both are dated within ``dedup.same_day_tolerance_days`` of each other and:

- **in one script**, their lead embeddings are within ``dedup.event_cluster_threshold``
  and the leads share ``MIN_SHARED_TERMS`` uncommon words (names, places): embeddings of
  text the model knows little about (rare names, made-up words) sit close together, and
  a shared name is what independent reports always have;
- **across scripts** (an English and a Chinese report), where no word is shared, the
  lead is compared with each candidate story as a whole: the centroid of that story's
  reports in the other script. The closest story must reach
  ``dedup.event_cross_lingual_threshold``, and the match must be mutual: no other report
  of those days in the article's script may be closer to that story than the article.
  Cross-lingual cosines are lower and more bunched than monolingual ones (the reports
  share meaning, never wording), so a bar low enough to find translations' neighbours
  also passes a same-day story on the same subject when the article's own event has no
  report in the other script yet; that story's own report in the article's script is
  then closer to it, and the mutual test refuses (mutual nearest neighbours, as in
  cross-lingual sentence mining). A story's centroid averages out one outlet's angle.
  The same-script rule is tried first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from pipeline.classify.embed import (
    MODEL_ID,
    Vector,
    lead_text,
    mostly_cjk,
    vector_bytes,
    vector_from_bytes,
)
from pipeline.classify.event_candidates import Candidate, EventPool
from pipeline.classify.key_terms import common_words
from pipeline.classify.models import ArticleEmbedding
from pipeline.config import DedupSettings
from pipeline.store.models import Article
from pipeline.text.tokens import words

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
    similarity: float  # to that article (one script) or to its story's centroid (across)


def same_event(
    session: Session,
    pool: EventPool,
    article_id: str,
    lead: str,
    vector: Vector,
    when: datetime,
    settings: DedupSettings,
    exclude_clusters: Collection[str] = (),
) -> EventMatch | None:
    """The story cluster of an independent report of the same event, dated close to
    `when`, if any: one in this article's script first, else one across scripts."""
    candidates, matrix = pool.candidates(article_id, when)
    keep = [i for i, c in enumerate(candidates) if c.cluster_id not in exclude_clusters]
    if not keep:
        return None
    scores = matrix @ vector
    mine = mostly_cjk(lead)
    same = [i for i in keep if candidates[i].cjk == mine]
    match = _same_script(session, lead, candidates, scores, same, settings)
    if match is not None:
        return match
    other = [i for i in keep if candidates[i].cjk != mine]
    return _across_scripts(vector, candidates, matrix, scores, same, other, settings)


def _same_script(
    session: Session,
    lead: str,
    candidates: list[Candidate],
    scores: np.ndarray,
    among: list[int],
    settings: DedupSettings,
) -> EventMatch | None:
    """The closest report in this script that reaches the threshold and shares names."""
    for best in sorted(among, key=lambda i: -float(scores[i]))[:5]:
        if float(scores[best]) < settings.event_cluster_threshold:
            return None
        other = candidates[best]
        # Classifying changes no title or text: the batch's pending updates can wait and
        # be flushed together, rather than one article at a time before each read.
        with session.no_autoflush:
            title, text = session.execute(
                select(Article.title, Article.text).where(Article.id == other.article_id)
            ).one()
        if shares_terms(lead, lead_text(title, text or "")):
            return EventMatch(other.article_id, other.cluster_id, float(scores[best]))
    return None


def _across_scripts(
    vector: Vector,
    candidates: list[Candidate],
    matrix: np.ndarray,
    scores: np.ndarray,
    own: list[int],
    other: list[int],
    settings: DedupSettings,
) -> EventMatch | None:
    """The story whose reports in the other script are, as a whole, the closest, if it
    reaches the bar and no other report in this article's script is closer to it.

    That second condition makes the match mutual: a story of the day on the same subject
    can clear the bar when the article's own event has no report in the other script yet,
    but then that story's own report in this script is closer to it than the article is.
    Reports as close to the article as two reports of one event
    (``event_cluster_threshold``) are its event's, not rivals, and are left out.
    """
    stories: dict[str, list[int]] = {}
    for i in other:
        stories.setdefault(candidates[i].cluster_id, []).append(i)
    if not stories:
        return None
    ids = list(stories)
    centroids = np.stack([_unit(matrix[stories[c]].mean(axis=0)) for c in ids])
    similarity = centroids @ vector
    best = int(np.argmax(similarity))
    if float(similarity[best]) < settings.event_cross_lingual_threshold:
        return None
    rivals = [i for i in own if float(scores[i]) < settings.event_cluster_threshold]
    if rivals and float(np.max(matrix[rivals] @ centroids[best])) > float(similarity[best]):
        return None
    closest = max(stories[ids[best]], key=lambda i: float(scores[i]))
    return EventMatch(candidates[closest].article_id, ids[best], float(similarity[best]))


def _unit(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm else v


def shares_terms(lead: str, other: str) -> bool:
    """Whether two leads in one script share enough uncommon words."""
    common = common_words()
    mine = {w for w in words(lead) if w not in common and len(w) > 2}
    return len(mine & set(words(other))) >= MIN_SHARED_TERMS
