"""What a backfill job has done: sitemaps by state, URLs seen, kept, queued and fetched."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.feeds.backfill_models import (
    BackfillCandidate,
    BackfillJob,
    BackfillSitemap,
    CandidateState,
)
from pipeline.records import as_utc
from pipeline.store.models import Article


@dataclass
class JobReport:
    job: str
    site: str
    since: datetime
    until: datetime
    sitemaps: dict[str, int]
    seen: int  # URLs listed in the sitemaps read
    in_range: int  # of those, dated in the range (or undated)
    kept: int  # of those, relevant enough: candidates
    queued: int  # candidates that became backfill articles
    known: int  # candidates already in the store
    fetched: int  # queued articles downloaded so far
    errors: list[dict[str, str]]

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["since"], out["until"] = self.since.isoformat(), self.until.isoformat()
        return out


def report(sessions: sessionmaker[Session], job: str) -> JobReport:
    with sessions() as session:
        row = session.get_one(BackfillJob, job)
        by_state = _count_by_state(session, BackfillSitemap, job)
        seen, in_range = session.execute(
            select(
                func.coalesce(func.sum(BackfillSitemap.urls_seen), 0),
                func.coalesce(func.sum(BackfillSitemap.urls_in_range), 0),
            ).where(BackfillSitemap.job_id == job)
        ).one()
        states = _count_by_state(session, BackfillCandidate, job)
        fetched = session.scalar(
            select(func.count())
            .select_from(BackfillCandidate)
            .join(Article, Article.id == BackfillCandidate.article_id)
            .where(
                BackfillCandidate.job_id == job,
                BackfillCandidate.state == CandidateState.QUEUED.value,
                Article.fetched_at.is_not(None),
            )
        )
        errors = [
            {"sitemap": url, "error": error or ""}
            for url, error in session.execute(
                select(BackfillSitemap.url, BackfillSitemap.error)
                .where(BackfillSitemap.job_id == job, BackfillSitemap.error.is_not(None))
                .order_by(BackfillSitemap.id)
            )
        ]
        if row.discovery_error:
            errors.insert(0, {"sitemap": f"{row.site}/robots.txt", "error": row.discovery_error})
    since, until = as_utc(row.since), as_utc(row.until)
    assert since is not None and until is not None
    return JobReport(
        job=job,
        site=row.site,
        since=since,
        until=until,
        sitemaps=by_state,
        seen=int(seen),
        in_range=int(in_range),
        kept=sum(states.values()),
        queued=states.get(CandidateState.QUEUED.value, 0),
        known=states.get(CandidateState.KNOWN.value, 0),
        fetched=int(fetched or 0),
        errors=errors,
    )


def _count_by_state(
    session: Session, table: type[BackfillSitemap] | type[BackfillCandidate], job: str
) -> dict[str, int]:
    """How many of the job's rows of `table` are in each state."""
    rows = session.execute(
        select(table.state, func.count()).where(table.job_id == job).group_by(table.state)
    )
    return {state: count for state, count in rows}
