"""Store side of dedup: stored signatures and passages, and the lock that orders writers."""

from __future__ import annotations

import gc
from collections.abc import Collection

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from pipeline.classify.dedup import (
    Fingerprint,
    NearDuplicateIndex,
    signature_bytes,
    signature_from_bytes,
)
from pipeline.classify.models import ArticleFingerprint, Passage
from pipeline.config import DedupSettings

# Arbitrary constant naming the dedup advisory lock on PostgreSQL ("nwdedup" in ASCII).
DEDUP_LOCK_KEY = 0x6E77646564757000
MAX_PASSAGE_CANDIDATES = 20
_LOAD_CHUNK = 5000


def lock_dedup(session: Session) -> None:
    """Serialise cluster assignment between concurrent classify runs until commit.

    Claiming rows with SKIP LOCKED keeps two runs off the same article, but two copies
    of one story classified at once by two runs would each miss the other and open
    two clusters. A transaction-scoped advisory lock orders that short step.

    SQLite has one writer at a time, but a transaction takes the write lock only at its
    first write: the reads of the cluster step before it could miss what another process
    commits meanwhile. A write that changes nothing takes the lock now, waiting (busy
    timeout) for the other writer to commit.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DEDUP_LOCK_KEY})
    elif dialect == "sqlite":
        session.execute(text("UPDATE articles SET id = id WHERE 0"))


def load_index(session: Session, settings: DedupSettings) -> NearDuplicateIndex:
    """Build the LSH from every stored signature."""
    index = NearDuplicateIndex(settings)
    # The LSH allocates millions of small sets; cyclic GC passes over them are pure
    # overhead (none can form a cycle), so the bulk load runs with GC paused.
    paused = gc.isenabled()
    gc.disable()
    try:
        refresh_index(session, index)
    finally:
        if paused:
            gc.enable()
    return index


def refresh_index(session: Session, index: NearDuplicateIndex) -> int:
    """Add the signatures stored since the index last looked; returns how many."""
    row = ArticleFingerprint
    added = 0
    while True:
        rows = session.execute(
            select(row.seq, row.article_id, row.signature)
            .where(row.seq > index.last_seq)
            .order_by(row.seq)
            .limit(_LOAD_CHUNK)
        ).all()
        if not rows:
            return added
        for seq, article_id, signature in rows:
            index.add(article_id, signature_from_bytes(signature))
            index.last_seq = seq
        added += len(rows)


def save_fingerprint(session: Session, article_id: str, fp: Fingerprint) -> None:
    """Store (or replace) an article's signature and passages."""
    session.execute(delete(ArticleFingerprint).where(ArticleFingerprint.article_id == article_id))
    session.execute(delete(Passage).where(Passage.article_id == article_id))
    session.add(
        ArticleFingerprint(
            article_id=article_id,
            signature=signature_bytes(fp.signature),
            shingle_count=len(fp.shingles),
        )
    )
    if fp.passages:
        session.execute(
            insert(Passage), [{"passage_hash": h, "article_id": article_id} for h in fp.passages]
        )
    session.flush()


def passage_candidates(
    session: Session, hashes: Collection[int], *, exclude: str | None = None
) -> list[str]:
    """Articles sharing the most long sentences with a text (at least one), best first."""
    if not hashes:
        return []
    shared = func.count().label("shared")
    stmt = (
        select(Passage.article_id, shared)
        .where(Passage.passage_hash.in_(list(hashes)))
        .group_by(Passage.article_id)
        .order_by(shared.desc(), Passage.article_id)
        .limit(MAX_PASSAGE_CANDIDATES)
    )
    if exclude is not None:
        stmt = stmt.where(Passage.article_id != exclude)
    return [article_id for article_id, _ in session.execute(stmt)]
