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

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.classify.analysis import Analysis, SeedProfile, analyse
from pipeline.classify.copies import BatchCopies, exact_original, near_duplicate, prefetch, record
from pipeline.classify.dating import Dated
from pipeline.classify.embed import Embedder, Vector, lead_text
from pipeline.classify.event_candidates import EventPool
from pipeline.classify.events import same_event, save_vectors, source_hash, stored_vectors
from pipeline.classify.models import ArticleRevision, SeedRelation, StoryCluster
from pipeline.classify.relate import RelationResult, relate
from pipeline.classify.repository import DONE, StoredPrint, lock_dedup, save_fingerprints
from pipeline.classify.seed_models import seed_models
from pipeline.classify.threads import ThreadBook
from pipeline.config import DedupSettings, Settings
from pipeline.records import ArticleStatus, IndexState, Relation, utcnow
from pipeline.store.batches import StageCounts, drain, only_articles
from pipeline.store.inserts import insert_new
from pipeline.store.models import Article

_IN_CHUNK = 500  # cluster ids per IN list


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
    models = seed_models(settings)  # once per process; the model only if work is waiting

    def work(session: Session, articles: list[Article], counts: StageCounts) -> None:
        book, embedder, profiles = models.book, models.embedder, models.profiles
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
        # Writes and lookups once per batch: vectors and relations now (an article only
        # counts for others once it is marked classified), lookups from the store now,
        # fingerprints and revisions at the end.
        save_vectors(
            session,
            {w.article.id: (w.lead_hash, w.analysis.vector) for w in prepared if w.embedded},
        )
        if missing:
            counts["embedded"] += len(missing)
        _save_relations(session, prepared)
        copies = prefetch(session, (_stored_print(w) for w in prepared), settings.dedup)
        whens = [w.when.at for w in prepared if w.when is not None]
        events = EventPool(session, whens, len(prepared), settings.dedup)
        touched = {_classify_one(session, item, copies, events, counts) for item in prepared}
        save_fingerprints(session, list(copies.new_prints.values()), settings.dedup)
        _record_revisions(session, [w.article for w in prepared])
        refresh_clusters(session, touched)

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


def _stored_print(work: _Work) -> StoredPrint:
    # Dated.of always has the discovery time to fall back on.
    seen_at = work.when.at if work.when is not None else work.article.discovered_at
    return StoredPrint(work.article.id, work.analysis.fingerprint, seen_at)


def _save_relations(session: Session, prepared: list[_Work]) -> None:
    """Replace the batch's seed relations: one delete and one multi-row insert."""
    now = utcnow()
    ids = [w.article.id for w in prepared]
    session.execute(delete(SeedRelation).where(SeedRelation.article_id.in_(ids)))
    session.execute(
        insert(SeedRelation),
        [
            {
                "article_id": w.article.id,
                "seed_id": r.seed_id,
                "relation": r.relation.value,
                "score": r.score,
                "evidence": r.evidence,
                "computed_at": now,
            }
            for w in prepared
            for r in w.relations
        ],
    )


def _classify_one(
    session: Session, work: _Work, copies: BatchCopies, events: EventPool, counts: StageCounts
) -> str:
    """Dedup and relate one article and mark it classified; returns its cluster id."""
    article, fp = work.article, work.analysis.fingerprint
    new_print: StoredPrint | None = None
    if article.classified_at is not None and article.cluster_id is not None:
        cluster_id = article.cluster_id
        if fp.text_hash != article.text_hash:
            counts["revisions"] += 1
            article.exact_duplicate_of = None  # its text no longer equals the original's
            new_print = _stored_print(work) if fp.indexable else None
    else:
        cluster_id, new_print = _assign_cluster(session, work, copies, events, counts)
    default = work.relations[0]
    article.relation = default.relation.value
    article.seed_similarity = default.score
    article.threads = [m.name for m in work.analysis.threads]
    counts[f"relation_{default.relation.value}"] += 1
    article.text_hash = fp.text_hash
    article.cluster_id = cluster_id
    article.status = ArticleStatus.CLASSIFIED
    article.status_reason = None
    article.classified_at = utcnow()
    article.index_state = IndexState.PENDING
    article.index_attempts = 0
    article.index_next_attempt_at = None
    counts["classified"] += 1
    # Later articles of the batch see this one through `copies` and `events`, and through
    # the store (seed story) once autoflush writes it before their next query.
    original = article.exact_duplicate_of is None
    record(copies, article.id, cluster_id, fp, original=original, new_print=new_print)
    events.add(article, cluster_id, work.analysis.vector)
    return cluster_id


def _assign_cluster(
    session: Session, work: _Work, copies: BatchCopies, events: EventPool, counts: StageCounts
) -> tuple[str, StoredPrint | None]:
    """The article's cluster, and its fingerprint to store (None for an exact copy)."""
    article, fp = work.article, work.analysis.fingerprint
    original = exact_original(copies, fp.text_hash, article.id)
    if original is not None:
        article.exact_duplicate_of, cluster_id = original
        counts["exact_duplicates"] += 1
        return cluster_id, None
    stored = _stored_print(work)
    new_print = stored if fp.indexable else None
    match = near_duplicate(copies, article.id, fp, stored.seen_at)
    if match is not None:
        counts["near_duplicates"] += 1
        return match.cluster_id, new_print
    for result in work.relations:
        if result.relation is Relation.DUPLICATE:
            seed_cluster = seed_story_cluster(session, result.seed_id, article.id)
            if seed_cluster is not None:
                counts["seed_story_joins"] += 1
                return seed_cluster, new_print
    if work.when is not None:
        lead = lead_text(article.title, article.text or "")
        event = same_event(
            session, events, article.id, lead, work.analysis.vector, work.when.at, copies.settings
        )
        if event is not None:
            counts["same_event_joins"] += 1
            return event.cluster_id, new_print
    counts["new_clusters"] += 1
    return article.id, new_print


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
            Article.status.in_(DONE),
            Article.cluster_id.is_not(None),
        )
        .order_by(Article.classified_at, Article.id)
        .limit(1)
    )


def _record_revisions(session: Session, articles: list[Article]) -> None:
    """One revision row per article text not seen before (one multi-row insert)."""
    now = utcnow()
    insert_new(
        session,
        ArticleRevision,
        [
            {
                "article_id": a.id,
                "content_hash": a.text_hash,
                "seen_at": now,
                "title": a.title,
                "word_count": a.word_count,
            }
            for a in articles
        ],
        ["article_id", "content_hash"],
        ArticleRevision.id,
    )


def refresh_cluster(session: Session, cluster_id: str) -> StoryCluster:
    """Recompute one cluster from its members (see `refresh_clusters`)."""
    return refresh_clusters(session, [cluster_id])[0]


_Member = tuple[str, datetime | None, datetime, str | None, str | None]


def refresh_clusters(session: Session, cluster_ids: Collection[str]) -> list[StoryCluster]:
    """Recompute clusters' representatives, outlets, sizes and times from their members:
    one query for the members of all of them and one for the clusters.

    The representative is the earliest published copy (ties: earliest discovered).
    """
    ids = sorted(set(cluster_ids))
    members: dict[str, list[_Member]] = {cid: [] for cid in ids}
    existing: dict[str, StoryCluster] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        rows = session.execute(
            select(
                Article.cluster_id,
                Article.id,
                Article.published_at,
                Article.discovered_at,
                Article.site_name,
                Article.domain,
            ).where(Article.cluster_id.in_(chunk))
        )
        for cluster_id, *member in rows:
            members[cluster_id].append(tuple(member))  # type: ignore[index,arg-type]
        clusters = session.scalars(select(StoryCluster).where(StoryCluster.id.in_(chunk)))
        existing.update((c.id, c) for c in clusters)
    return [_refresh(session, existing.get(cid), cid, members[cid]) for cid in ids]


def _refresh(
    session: Session, cluster: StoryCluster | None, cluster_id: str, rows: list[_Member]
) -> StoryCluster:
    far_future = datetime.max.replace(tzinfo=UTC)
    members = sorted(rows, key=lambda m: (m[1] or far_future, m[2], m[0]))
    seen = [published or discovered for _, published, discovered, _, _ in members]
    outlets: list[str] = []
    for _, _, _, site_name, domain in members:
        outlet = site_name or domain or ""
        if outlet and outlet not in outlets:
            outlets.append(outlet)
    if cluster is None:
        cluster = StoryCluster(id=cluster_id)
        session.add(cluster)
    cluster.representative_article_id = members[0][0] if members else None
    cluster.first_seen_at = min(seen) if seen else None
    cluster.last_seen_at = max(seen) if seen else None
    cluster.outlets = outlets
    cluster.size = len(members)
    return cluster
