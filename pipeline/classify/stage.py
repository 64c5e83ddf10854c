"""Classify stage: duplicates, story clusters, revisions, seed relations and threads.

Takes the articles waiting in status 'extracted' and, for each one:

- exact copy (same normalised-text hash as an article classified before it) →
  ``exact_duplicate_of`` points at that first article and it joins its cluster;
- near copy (LSH or passage candidates, verified by shingle containment) → joins the
  cluster of the closest copy;
- a rewrite of a seed story (relation 'duplicate' without shared wording) → joins the
  cluster of the seed's other copies;
- the same event reported independently by another outlet (lead embeddings close,
  dates within the same-day tolerance; ``pipeline.classify.events``) → joins that
  report's cluster;
- otherwise → a new story cluster whose id is this article's id;
- a page classified before whose text changed (a re-fetch) → a new revision, same cluster.

Every article also gets its embedding (stored, computed once), its relation to each seed
(with evidence) and its threads. It then has status 'classified' and sits in the search
outbox. Re-running finds nothing
waiting and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.classify.dedup import Fingerprint, NearDuplicateIndex, containment, shingles
from pipeline.classify.embed import Embedder, Vector, default_embedder, lead_text
from pipeline.classify.events import same_event, save_vector, source_hash, stored_vectors
from pipeline.classify.models import ArticleRevision, SeedRelation, StoryCluster
from pipeline.classify.relate import (
    Analysis,
    Dated,
    RelationResult,
    SeedProfile,
    analyse,
    profile_seed,
    relate,
)
from pipeline.classify.repository import (
    load_index,
    lock_dedup,
    passage_candidates,
    refresh_index,
    save_fingerprint,
)
from pipeline.classify.seeds import load_seeds
from pipeline.classify.threads import ThreadBook, load_thread_book
from pipeline.config import DedupSettings, Settings
from pipeline.records import ArticleStatus, IndexState, Relation, utcnow
from pipeline.store.batches import StageCounts, drain, only_articles
from pipeline.store.inserts import insert_new
from pipeline.store.models import Article

_DONE = (ArticleStatus.CLASSIFIED, ArticleStatus.INDEXED)


@dataclass(frozen=True)
class NearMatch:
    article_id: str
    cluster_id: str
    containment: float


def classify_pending(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    article_ids: Sequence[str] | None = None,
) -> StageCounts:
    """Classify every extracted article (optionally only the given ids). Idempotent.

    Returns counts: classified, exact_duplicates, near_duplicates, seed_story_joins,
    same_event_joins, new_clusters, revisions, embedded, and relation_<relation> for
    the default seed.
    """
    book = load_thread_book(settings.dedup.threads_file)
    embedder = default_embedder()
    profiles = [profile_seed(s, settings.dedup, book, embedder) for s in load_seeds(settings)]
    index: NearDuplicateIndex | None = None

    def work(session: Session, articles: list[Article], counts: StageCounts) -> None:
        nonlocal index
        # The costly per-text work happens before taking the dedup lock.
        texts = {a.id: lead_text(a.title, a.text or "") for a in articles}
        leads = {aid: source_hash(text) for aid, text in texts.items()}
        known = stored_vectors(session, leads)
        # One call for the batch: the model streams its weights once per call.
        missing = [a.id for a in articles if a.id not in known]
        fresh = dict(zip(missing, embedder.embed([texts[i] for i in missing]), strict=True))
        prepared = [
            _prepare(
                a, profiles, settings.dedup, book, embedder, known.get(a.id), fresh, leads[a.id]
            )
            for a in articles
        ]
        lock_dedup(session)
        if index is None:
            index = load_index(session, settings.dedup)
        else:
            refresh_index(session, index)
        touched: set[str] = set()
        for item in prepared:
            touched.add(_classify_one(session, item, index, settings.dedup, counts))
        for cluster_id in sorted(touched):
            refresh_cluster(session, cluster_id)

    return drain(
        sessions,
        lambda: due_for_classify(article_ids),
        work,
        batch_size=settings.dedup.batch_size,
        stage="classify",
    )


@dataclass(frozen=True)
class _Work:
    article: Article
    analysis: Analysis
    relations: list[RelationResult]  # one per seed, default seed first
    when: Dated | None
    lead_hash: str
    embedded: bool  # the vector was computed now, not read from the store


def _prepare(
    article: Article,
    profiles: list[SeedProfile],
    settings: DedupSettings,
    book: ThreadBook,
    embedder: Embedder,
    stored: Vector | None,
    fresh: dict[str, Vector],
    lead_hash: str,
) -> _Work:
    vector = stored if stored is not None else fresh[article.id]
    analysis = analyse(article.text or "", article.title, settings, book, embedder, vector)
    when = Dated.of(article.published_at, article.discovered_at)
    relations = [relate(analysis, p, settings, when) for p in profiles]
    return _Work(article, analysis, relations, when, lead_hash, stored is None)


def due_for_classify(article_ids: Sequence[str] | None = None) -> Select[Article]:
    """Extracted articles (optionally only the given ids), in the order they are classified."""
    stmt = select(Article).where(Article.status == ArticleStatus.EXTRACTED)
    # Oldest first, so the first copy of a story opens its cluster.
    return only_articles(stmt, article_ids).order_by(
        Article.published_at.is_(None), Article.published_at, Article.discovered_at, Article.id
    )


def _classify_one(
    session: Session,
    work: _Work,
    index: NearDuplicateIndex,
    settings: DedupSettings,
    counts: StageCounts,
) -> str:
    """Dedup and relate one article and mark it classified; returns its cluster id."""
    now = utcnow()
    article, fp = work.article, work.analysis.fingerprint
    if article.classified_at is not None and article.cluster_id is not None:
        cluster_id = article.cluster_id
        if fp.text_hash != article.text_hash:
            counts["revisions"] += 1
            article.exact_duplicate_of = None  # its text no longer equals the original's
            _store_fingerprint(session, article.id, fp, index)
    else:
        cluster_id = _assign_cluster(session, work, index, settings, counts)
    _record_revision(session, article, fp.text_hash, now)
    if work.embedded:
        save_vector(session, article.id, work.lead_hash, work.analysis.vector)
        counts["embedded"] += 1
    for result in work.relations:
        session.merge(
            SeedRelation(
                article_id=article.id,
                seed_id=result.seed_id,
                relation=result.relation.value,
                score=result.score,
                evidence=result.evidence,
                computed_at=now,
            )
        )
    default = work.relations[0]
    article.relation = default.relation.value
    article.seed_similarity = default.score
    article.threads = [m.name for m in work.analysis.threads]
    counts[f"relation_{default.relation.value}"] += 1
    article.text_hash = fp.text_hash
    article.cluster_id = cluster_id
    article.status = ArticleStatus.CLASSIFIED
    article.status_reason = None
    article.classified_at = now
    article.index_state = IndexState.PENDING
    article.index_attempts = 0
    article.index_next_attempt_at = None
    counts["classified"] += 1
    session.flush()  # later articles of the batch must see this one
    return cluster_id


def _assign_cluster(
    session: Session,
    work: _Work,
    index: NearDuplicateIndex,
    settings: DedupSettings,
    counts: StageCounts,
) -> str:
    article, fp = work.article, work.analysis.fingerprint
    original = exact_original(session, fp.text_hash, article.id)
    if original is not None:
        article.exact_duplicate_of, cluster_id = original
        counts["exact_duplicates"] += 1
        return cluster_id
    _store_fingerprint(session, article.id, fp, index)
    match = near_duplicate(session, article.id, fp, index, settings)
    if match is not None:
        counts["near_duplicates"] += 1
        return match.cluster_id
    for result in work.relations:
        if result.relation is Relation.DUPLICATE:
            seed_cluster = seed_story_cluster(session, result.seed_id, article.id)
            if seed_cluster is not None:
                counts["seed_story_joins"] += 1
                return seed_cluster
    if work.when is not None:
        lead = lead_text(article.title, article.text or "")
        event = same_event(session, article.id, lead, work.analysis.vector, work.when.at, settings)
        if event is not None:
            counts["same_event_joins"] += 1
            return event.cluster_id
    counts["new_clusters"] += 1
    return article.id


def _store_fingerprint(
    session: Session, article_id: str, fp: Fingerprint, index: NearDuplicateIndex
) -> None:
    if fp.indexable:
        save_fingerprint(session, article_id, fp)
        index.add(article_id, fp.signature)


def exact_original(session: Session, text_hash: str, article_id: str) -> tuple[str, str] | None:
    """(id, cluster id) of the first classified article with this text, if any."""
    row = session.execute(
        select(Article.id, Article.cluster_id)
        .where(
            Article.text_hash == text_hash,
            Article.id != article_id,
            Article.status.in_(_DONE),
            Article.exact_duplicate_of.is_(None),
            Article.cluster_id.is_not(None),
        )
        .order_by(Article.classified_at, Article.id)
        .limit(1)
    ).first()
    return None if row is None else (row[0], row[1] or row[0])


def seed_story_cluster(session: Session, seed_id: str, article_id: str) -> str | None:
    """The cluster of the earliest classified copy of a seed story, if any.

    Rewrites of a seed share few shingles with its other copies, so they are
    brought together through their relation to the seed instead.
    """
    return session.scalar(
        select(Article.cluster_id)
        .join(SeedRelation, SeedRelation.article_id == Article.id)
        .where(
            SeedRelation.seed_id == seed_id,
            SeedRelation.relation == Relation.DUPLICATE.value,
            Article.id != article_id,
            Article.status.in_(_DONE),
            Article.cluster_id.is_not(None),
        )
        .order_by(Article.classified_at, Article.id)
        .limit(1)
    )


def near_duplicate(
    session: Session,
    article_id: str,
    fp: Fingerprint,
    index: NearDuplicateIndex,
    settings: DedupSettings,
) -> NearMatch | None:
    """The classified article this text is a copy of (highest containment), if any."""
    if not fp.indexable:
        return None
    candidates = index.candidates(fp.signature)
    candidates.update(passage_candidates(session, fp.passages, exclude=article_id))
    candidates.discard(article_id)
    if not candidates:
        return None
    rows = session.execute(
        select(Article.id, Article.cluster_id, Article.text)
        .where(
            Article.id.in_(sorted(candidates)),
            Article.status.in_(_DONE),
            Article.cluster_id.is_not(None),
        )
        .order_by(Article.id)
    )
    best: NearMatch | None = None
    for other_id, cluster_id, text in rows:
        score = containment(fp.shingles, shingles(text or "", settings.shingle_words))
        if score >= settings.duplicate_threshold and (best is None or score > best.containment):
            best = NearMatch(other_id, cluster_id, score)  # type: ignore[arg-type]
    return best


def _record_revision(session: Session, article: Article, content_hash: str, now: datetime) -> None:
    insert_new(
        session,
        ArticleRevision,
        [
            {
                "article_id": article.id,
                "content_hash": content_hash,
                "seen_at": now,
                "title": article.title,
                "word_count": article.word_count,
            }
        ],
        ["article_id", "content_hash"],
        ArticleRevision.id,
    )


def refresh_cluster(session: Session, cluster_id: str) -> StoryCluster:
    """Recompute a cluster's representative, outlets, size and times from its members.

    The representative is the earliest published copy (ties: earliest discovered).
    """
    members = session.execute(
        select(
            Article.id,
            Article.published_at,
            Article.discovered_at,
            Article.site_name,
            Article.domain,
        ).where(Article.cluster_id == cluster_id)
    ).all()
    far_future = datetime.max.replace(tzinfo=utcnow().tzinfo)
    members = sorted(members, key=lambda m: (m[1] or far_future, m[2], m[0]))
    seen = [published or discovered for _, published, discovered, _, _ in members]
    outlets: list[str] = []
    for _, _, _, site_name, domain in members:
        outlet = site_name or domain or ""
        if outlet and outlet not in outlets:
            outlets.append(outlet)
    cluster = session.get(StoryCluster, cluster_id)
    if cluster is None:
        cluster = StoryCluster(id=cluster_id)
        session.add(cluster)
    cluster.representative_article_id = members[0][0] if members else None
    cluster.first_seen_at = min(seen) if seen else None
    cluster.last_seen_at = max(seen) if seen else None
    cluster.outlets = outlets
    cluster.size = len(members)
    return cluster
