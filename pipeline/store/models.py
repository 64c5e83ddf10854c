"""SQLAlchemy models of the core pipeline: feeds, feed entries, articles, pages and runs.

Other concerns (dedup clusters, alerts) keep their tables in their own modules on
the same `Base`; `pipeline.store` imports them all so migrations see every table.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from pipeline.records import ArticleStatus, FeedStatus, IndexState, RunState, utcnow

E = TypeVar("E", bound=StrEnum)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware UTC datetimes; SQLite's naive values come back as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class EnumText(TypeDecorator[E]):
    """A status enum stored as its value in a plain VARCHAR: the schema stays as it was (no
    migration, no native enum type to alter when a value is added), and Python sees the
    enum. Writing a value outside the enum raises ValueError instead of storing it."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum
        self.length = length

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Feed(Base):
    """Persisted state of one configured feed (configuration itself lives in settings)."""

    __tablename__ = "feeds"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    last_status: Mapped[FeedStatus] = mapped_column(
        EnumText(FeedStatus, 32), default=FeedStatus.NEVER_POLLED
    )
    last_http_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    body_hash: Mapped[str | None] = mapped_column(String(64))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_polled_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    next_poll_at: Mapped[datetime | None]
    entries_seen: Mapped[int] = mapped_column(Integer, default=0)


class FeedEntryRow(Base):
    """Every entry ever seen in a feed, linked or not, so skipped entries are on record."""

    __tablename__ = "feed_entries"
    __table_args__ = (UniqueConstraint("feed_name", "entry_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feed_name: Mapped[str] = mapped_column(ForeignKey("feeds.name", ondelete="CASCADE"))
    entry_key: Mapped[str] = mapped_column(String(1000))
    link: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None]
    article_id: Mapped[str | None] = mapped_column(
        ForeignKey("articles.id", ondelete="SET NULL"), index=True
    )
    skipped_reason: Mapped[str | None] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Article(Base):
    """One canonical URL and everything known about it; `status` says where it stands."""

    __tablename__ = "articles"
    __table_args__ = (
        Index("ix_articles_status_next", "status", "next_attempt_at"),
        Index("ix_articles_index_state", "index_state", "index_next_attempt_at"),
        Index("ix_articles_text_hash", "text_hash"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    canonical_url: Mapped[str] = mapped_column(Text, unique=True)
    url: Mapped[str] = mapped_column(Text)  # as first discovered (tracking parameters and all)
    feed_name: Mapped[str | None] = mapped_column(String(200))  # first feed that listed it
    feed_title: Mapped[str | None] = mapped_column(Text)
    feed_published_at: Mapped[datetime | None]
    ignore_robots: Mapped[bool] = mapped_column(default=False)
    # How it was discovered: "feed" (a feed entry, or given directly) or "backfill" (a sitemap).
    source: Mapped[str] = mapped_column(String(16), default="feed", server_default="feed")
    # Never raises alerts (backfilled coverage, unless backfill.alerts asks for them).
    alerts_muted: Mapped[bool] = mapped_column(default=False, server_default=false())
    # uk | china | international, from the first feed that listed it (FeedConfig.perspective)
    perspective: Mapped[str | None] = mapped_column(String(16))

    status: Mapped[ArticleStatus] = mapped_column(
        EnumText(ArticleStatus, 32), default=ArticleStatus.DISCOVERED
    )
    status_reason: Mapped[str | None] = mapped_column(Text)
    discovered_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    # fetch
    fetch_error: Mapped[str | None] = mapped_column(String(64))
    fetch_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    http_status: Mapped[int | None]
    final_url: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(200))
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[datetime | None]

    # extract
    title: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    date_source: Mapped[str | None] = mapped_column(String(16))
    # why a date found on the page or in the feed was not used (pipeline/dates.py)
    date_note: Mapped[str | None] = mapped_column(Text)
    site_name: Mapped[str | None] = mapped_column(Text)
    domain: Mapped[str | None] = mapped_column(String(255), index=True)
    language: Mapped[str | None] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    word_count: Mapped[int | None]
    text_hash: Mapped[str | None] = mapped_column(String(64))
    extracted_at: Mapped[datetime | None]

    # dedup / classification
    exact_duplicate_of: Mapped[str | None] = mapped_column(
        ForeignKey("articles.id", ondelete="SET NULL")
    )
    cluster_id: Mapped[str | None] = mapped_column(String(32), index=True)
    relation: Mapped[str | None] = mapped_column(String(16))  # to the default seed
    seed_similarity: Mapped[float | None]
    threads: Mapped[list[Any]] = mapped_column(default=list)
    classified_at: Mapped[datetime | None]

    # search-index outbox
    index_state: Mapped[IndexState | None] = mapped_column(EnumText(IndexState, 16))
    index_error: Mapped[str | None] = mapped_column(Text)
    index_attempts: Mapped[int] = mapped_column(Integer, default=0)
    index_next_attempt_at: Mapped[datetime | None]
    indexed_at: Mapped[datetime | None] = mapped_column(index=True)  # the index generation

    @property
    def outlet(self) -> str:
        return self.site_name or self.domain or ""

    @property
    def display_title(self) -> str:
        """The extracted title, else the feed's, else the URL: never empty in a list."""
        return self.title or self.feed_title or self.canonical_url


class Page(Base):
    """The last downloaded HTML of an article, kept apart so article rows stay small."""

    __tablename__ = "pages"

    article_id: Mapped[str] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    html: Mapped[str] = mapped_column(Text)
    encoding: Mapped[str | None] = mapped_column(String(64))
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class Run(Base):
    """One pipeline run (CLI, demo or a DAG run): counts per status and the errors."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trigger: Mapped[str] = mapped_column(String(32))  # cli | demo | airflow
    external_id: Mapped[str | None] = mapped_column(String(250), index=True)  # e.g. Airflow run_id
    state: Mapped[RunState] = mapped_column(EnumText(RunState, 16), default=RunState.RUNNING)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    errors: Mapped[list[Any]] = mapped_column(default=list)
