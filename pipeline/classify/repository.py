"""Store side of dedup: stored signatures, band keys and passages, and the writers' lock.

Every lookup here is one indexed query for a whole batch of texts (or one text), and
nothing is loaded at start, so a classify run's memory and start-up do not grow with the
store: band keys sit behind ``ix_dedup_bands_band_key``, passages behind their primary
key, text hashes behind ``ix_articles_text_hash``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TypeVar

from sqlalchemy import (
    BigInteger,
    Row,
    SmallInteger,
    String,
    TextualSelect,
    column,
    delete,
    insert,
    select,
    text,
)
from sqlalchemy.orm import Session

from pipeline.classify.dedup import Fingerprint, signature_band_keys, signature_bytes
from pipeline.classify.models import ArticleFingerprint, DedupBand, Passage
from pipeline.config import DedupSettings
from pipeline.records import ArticleStatus
from pipeline.store.models import Article, UTCDateTime

# Arbitrary constant naming the dedup advisory lock on PostgreSQL ("nwdedup" in ASCII).
DEDUP_LOCK_KEY = 0x6E77646564757000
MAX_PASSAGE_CANDIDATES = 20
DONE = (ArticleStatus.CLASSIFIED, ArticleStatus.INDEXED)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_T = TypeVar("_T")
_IN_CHUNK = 500  # values per IN list: well inside SQLite's and PostgreSQL's limits
_BAND_CHUNK = 256  # (band, key) pairs per query
_MIN_BAND_QUERY = 32


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


@dataclass(frozen=True)
class StoredPrint:
    """What dedup stores for one article's current text."""

    article_id: str
    fingerprint: Fingerprint
    seen_at: datetime  # published, else discovered


def save_fingerprints(
    session: Session, prints: Sequence[StoredPrint], settings: DedupSettings
) -> None:
    """Store (or replace) these articles' signatures, band keys and passages: one
    delete and one multi-row insert per table for the whole batch."""
    if not prints:
        return
    ids = [p.article_id for p in prints]
    for model in (ArticleFingerprint, DedupBand, Passage):
        for chunk in _chunks(ids):
            session.execute(delete(model).where(model.article_id.in_(chunk)))
    session.execute(
        insert(ArticleFingerprint),
        [
            {
                "article_id": p.article_id,
                "signature": signature_bytes(p.fingerprint.signature),
                "shingle_count": len(p.fingerprint.shingles),
            }
            for p in prints
        ],
    )
    session.execute(
        insert(DedupBand),
        [
            {"article_id": p.article_id, "band": band, "key": key, "seen_at": p.seen_at}
            for p in prints
            for band, key in enumerate(signature_band_keys(p.fingerprint.signature, settings))
        ],
    )
    passages = [
        {"passage_hash": h, "article_id": p.article_id}
        for p in prints
        for h in p.fingerprint.passages
    ]
    if passages:
        session.execute(insert(Passage), passages)


def band_rows(
    session: Session, keys: Iterable[tuple[int, int]]
) -> list[tuple[int, int, str, datetime]]:
    """(band, key, article_id, seen_at) of every stored band matching one of `keys`."""
    wanted = sorted(set(keys))
    rows: list[tuple[int, int, str, datetime]] = []
    for start in range(0, len(wanted), _BAND_CHUNK):
        chunk = wanted[start : start + _BAND_CHUNK]
        # Padded (repeating a pair) to a power of two, so a handful of statement shapes
        # are compiled once per process and reused; repeats only repeat result rows.
        size = max(_MIN_BAND_QUERY, 1 << (len(chunk) - 1).bit_length())
        chunk += [chunk[-1]] * (size - len(chunk))
        params = {f"b{i}": band for i, (band, _) in enumerate(chunk)}
        params.update({f"k{i}": key for i, (_, key) in enumerate(chunk)})
        rows += session.execute(_band_query(size), params).all()
    return list(dict.fromkeys(rows))


@lru_cache(maxsize=8)
def _band_query(pairs: int) -> TextualSelect:
    """The wanted (band, key) pairs as a VALUES list joined to the table, so each is one
    probe of ``ix_dedup_bands_band_key``: SQLite scans the table for a row-value IN, and
    a VALUES construct is compiled afresh for every call; this text is built once."""
    wanted = ", ".join(f"(:b{i}, :k{i})" for i in range(pairs))
    return text(
        f"WITH wanted (band, key) AS (VALUES {wanted}) "
        "SELECT d.band, d.key, d.article_id, d.seen_at FROM dedup_bands AS d "
        "JOIN wanted AS w ON d.band = w.band AND d.key = w.key"
    ).columns(
        column("band", SmallInteger),
        column("key", BigInteger),
        column("article_id", String),
        column("seen_at", UTCDateTime()),
    )


def passage_rows(session: Session, hashes: Iterable[int]) -> list[tuple[int, str]]:
    """(passage_hash, article_id) of every stored passage with one of these hashes."""
    rows: list[tuple[int, str]] = []
    for chunk in _chunks(sorted(set(hashes))):
        rows += session.execute(
            select(Passage.passage_hash, Passage.article_id).where(Passage.passage_hash.in_(chunk))
        ).all()
    return rows


def best_passage_matches(counts: dict[str, int], exclude: str | None) -> list[str]:
    """The articles sharing the most passages (at least one), best first, ties by id."""
    ranked = sorted((-n, aid) for aid, n in counts.items() if n > 0 and aid != exclude)
    return [aid for _, aid in ranked[:MAX_PASSAGE_CANDIDATES]]


def candidate_texts(session: Session, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """id → (cluster id, text) of these articles, where classified into a cluster."""
    found: dict[str, tuple[str, str]] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(Article.id, Article.cluster_id, Article.text).where(
                Article.id.in_(chunk), Article.status.in_(DONE), Article.cluster_id.is_not(None)
            )
        )
        found.update((aid, (cluster or aid, text or "")) for aid, cluster, text in rows)
    return found


def exact_rows(session: Session, text_hashes: Collection[str]) -> list[tuple[str, str, str]]:
    """(text_hash, id, cluster id) of the classified originals (not exact copies
    themselves) with one of these text hashes, earliest classified first."""
    found: list[Row[datetime | None, str, str | None, str | None]] = []
    for chunk in _chunks(sorted(text_hashes)):
        found += session.execute(
            select(Article.classified_at, Article.id, Article.text_hash, Article.cluster_id).where(
                Article.text_hash.in_(chunk),
                Article.status.in_(DONE),
                Article.exact_duplicate_of.is_(None),
                Article.cluster_id.is_not(None),
            )
        ).all()
    found.sort(key=lambda r: (r.classified_at or _EPOCH, r.id))
    return [(r.text_hash or "", r.id, r.cluster_id or r.id) for r in found]


def _chunks(values: Sequence[_T]) -> Iterable[Sequence[_T]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]
