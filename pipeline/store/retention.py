"""Retention stage: delete articles older than a cut-off from the search index and the store.

Retention is off by default (`retention.enabled`); callers check that setting. An
article's age is its published date, else the time it was discovered.

On Elasticsearch, whole monthly indices whose month is past the cut-off are deleted
first (docs/elasticsearch.md, Growth and retention); the articles of the month that
holds the cut-off are deleted one by one, like every article of the SQLite index.

Each batch is removed from the index first and from the store second, in one store
transaction: if the backend is down nothing is deleted and the next run tries again;
if the store fails after the index delete, the next run deletes the same ids again
(deleting a missing document is a no-op). Pages, fingerprints, passages, revisions
and seed relations go with their article (ON DELETE CASCADE); feed entries stay, so a
feed that still lists an expired story does not bring it back. Story clusters that
lose members are recomputed, and removed once empty.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.classify.models import StoryCluster
from pipeline.classify.repository import lock_dedup
from pipeline.classify.stage import refresh_cluster
from pipeline.index.base import SearchIndex
from pipeline.records import utcnow
from pipeline.store.batches import StageCounts, drain
from pipeline.store.models import Article


def delete_expired(
    sessions: sessionmaker[Session],
    backend: SearchIndex,
    keep_days: int,
    *,
    now: datetime | None = None,
    batch_size: int = 500,
) -> StageCounts:
    """Delete every article older than `keep_days`; returns what was removed."""
    cutoff = (now or utcnow()) - timedelta(days=keep_days)
    age = func.coalesce(Article.published_at, Article.discovered_at)

    def work(session: Session, ids: list[str], counts: StageCounts) -> None:
        clusters = session.scalars(
            select(Article.cluster_id).where(Article.id.in_(ids)).distinct()
        ).all()
        backend.delete(ids)
        counts["index_deleted"] += len(ids)
        session.execute(delete(Article).where(Article.id.in_(ids)))
        counts["articles_deleted"] += len(ids)
        lock_dedup(session)  # cluster bookkeeping is ordered like the classify stage's
        for cluster_id in sorted(c for c in clusters if c is not None):
            if session.get(StoryCluster, cluster_id) is None:
                continue
            cluster = refresh_cluster(session, cluster_id)
            if cluster.size == 0:
                session.delete(cluster)
                counts["clusters_deleted"] += 1
            else:
                counts["clusters_updated"] += 1

    # Elasticsearch's monthly indices that hold only expired articles go whole, first; the
    # articles in them are then deleted from the store below, and from the index cheaply
    # (they are no longer there). A store failure leaves them for the next run, as above.
    drop_expired = getattr(backend, "drop_expired", None)
    dropped = drop_expired(cutoff) if callable(drop_expired) else []
    due = select(Article.id).where(age < cutoff).order_by(Article.id)
    counts = drain(sessions, lambda: due, work, batch_size=batch_size)
    if dropped:
        counts["index_months_dropped"] += len(dropped)
    return counts
