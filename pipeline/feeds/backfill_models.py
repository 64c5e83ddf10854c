"""Store tables of the sitemap backfill: jobs, the sitemap files walked, candidate URLs.

All backfill state lives here, so a killed backfill resumes where it stopped: a sitemap is
`pending` until every URL it lists has been written as a candidate (in the same transaction
that marks it `done`), and a candidate is `queued` once its article exists.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pipeline.records import utcnow
from pipeline.store.models import Base


class SitemapState(StrEnum):
    PENDING = "pending"  # to be read (again, if a run died while reading it)
    DONE = "done"  # read; its URLs are candidates, its child sitemaps are queued
    FAILED = "failed"  # unusable: download refused or failed, not a sitemap, nothing parsed
    SKIPPED = "skipped"  # out of the date range by its name or lastmod, or over a limit


class CandidateState(StrEnum):
    CANDIDATE = "candidate"  # in the range and relevant enough; waiting for a page budget
    QUEUED = "queued"  # became a backfill article (status discovered), fetched by the pipeline
    KNOWN = "known"  # the article was already in the store (from a feed or another backfill)


class BackfillJob(Base):
    """One site and date range. Its id is derived from both, so re-running it resumes it."""

    __tablename__ = "backfill_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    site: Mapped[str] = mapped_column(Text)  # origin, e.g. https://www.example.org
    since: Mapped[datetime]
    until: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    discovered_at: Mapped[datetime | None]  # root sitemaps found (robots.txt or /sitemap.xml)
    discovery_error: Mapped[str | None] = mapped_column(Text)


class BackfillSitemap(Base):
    """One sitemap file (index, urlset or news sitemap) of a job; unique per job, so a loop
    in the tree finds the file already queued and stops there."""

    __tablename__ = "backfill_sitemaps"
    __table_args__ = (
        UniqueConstraint("job_id", "url"),
        Index("ix_backfill_sitemaps_job_state", "job_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("backfill_jobs.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    parent_id: Mapped[int | None]
    depth: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default=SitemapState.PENDING.value)
    kind: Mapped[str | None] = mapped_column(String(16))  # index | urlset | text
    error: Mapped[str | None] = mapped_column(Text)
    urls_seen: Mapped[int] = mapped_column(Integer, default=0)
    urls_in_range: Mapped[int] = mapped_column(Integer, default=0)
    urls_kept: Mapped[int] = mapped_column(Integer, default=0)
    read_at: Mapped[datetime | None]


class BackfillCandidate(Base):
    """A URL from a sitemap, in the date range, scored against the seed before any fetch."""

    __tablename__ = "backfill_candidates"
    __table_args__ = (
        UniqueConstraint("job_id", "canonical_url"),
        Index("ix_backfill_candidates_pick", "job_id", "state", "score"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("backfill_jobs.id", ondelete="CASCADE"))
    canonical_url: Mapped[str] = mapped_column(String(2000))
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)  # news sitemap title
    published_at: Mapped[datetime | None]
    date_source: Mapped[str] = mapped_column(String(16))  # news | url | lastmod | none
    score: Mapped[float]
    state: Mapped[str] = mapped_column(String(16), default=CandidateState.CANDIDATE.value)
    article_id: Mapped[str | None] = mapped_column(String(32))
    queued_at: Mapped[datetime | None]
