"""Tables of the dedup/classify stage: story clusters, seed relations, revisions, fingerprints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from pipeline.records import utcnow
from pipeline.store.models import Base


class StoryCluster(Base):
    """One story and all its copies; the id is the article id of its first member."""

    __tablename__ = "story_clusters"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    representative_article_id: Mapped[str | None] = mapped_column(
        ForeignKey("articles.id", ondelete="SET NULL")
    )
    first_seen_at: Mapped[datetime | None]  # earliest published (else discovered) time
    last_seen_at: Mapped[datetime | None]
    outlets: Mapped[list[Any]] = mapped_column(default=list)  # in order of first appearance
    size: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SeedRelation(Base):
    """How one article relates to one seed story, and the evidence for it."""

    __tablename__ = "seed_relations"
    __table_args__ = (Index("ix_seed_relations_seed_relation", "seed_id", "relation"),)

    article_id: Mapped[str] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    seed_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    relation: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ArticleRevision(Base):
    """One version of an article's text, as seen at its URL."""

    __tablename__ = "article_revisions"
    __table_args__ = (UniqueConstraint("article_id", "content_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    content_hash: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    title: Mapped[str | None] = mapped_column(Text)
    word_count: Mapped[int | None]


class ArticleFingerprint(Base):
    """The MinHash signature of an article's current text.

    Lookups go through its band keys (`DedupBand`); the signature is kept so those can
    be recomputed (migration 0007, or a changed band layout). `seq` grows with every
    write (rows are written under the dedup lock).
    """

    __tablename__ = "fingerprints"
    __table_args__ = ({"sqlite_autoincrement": True},)  # never reuse a seq after a delete

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), unique=True
    )
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    shingle_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DedupBand(Base):
    """One LSH band key of an article's signature: articles sharing a key in some band
    are candidate copies. `seen_at` is the article's date (published, else discovered),
    so candidates can be kept to a time window (``dedup.minhash_window_days``)."""

    __tablename__ = "dedup_bands"
    __table_args__ = (Index("ix_dedup_bands_band_key", "band", "key"),)

    article_id: Mapped[str] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    key: Mapped[int] = mapped_column(BigInteger)
    seen_at: Mapped[datetime]


class Passage(Base):
    """A long sentence of an article, by hash: the lookup that finds teasers of it."""

    __tablename__ = "dedup_passages"

    passage_hash: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[str] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ArticleEmbedding(Base):
    """The sentence embedding of an article's title and lead, computed once.

    ``source_hash`` is the hash of the embedded text, so an unchanged article is never
    embedded twice and an edited lead is; ``model`` names the model, so vectors of
    another model are never compared with these.
    """

    __tablename__ = "article_embeddings"

    article_id: Mapped[str] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(64))
    source_hash: Mapped[str] = mapped_column(String(64))
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # little-endian float32
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
