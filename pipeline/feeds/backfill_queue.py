"""Backfill step 3: the best candidates become articles, within the run's and the day's budget.

Candidates are taken in score order. One already in the store (from a feed or another job)
is marked `known` and costs no budget. The daily budget counts every job of the site.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import Settings
from pipeline.feeds.backfill_models import BackfillCandidate, BackfillJob, CandidateState
from pipeline.feeds.sitemap_walk import site_origin
from pipeline.records import ArticleStatus, utcnow
from pipeline.store.db import transaction
from pipeline.store.inserts import insert_new
from pipeline.store.models import Article
from pipeline.urls import article_id

SOURCE = "backfill"  # Article.source of backfilled articles


def pages_queued_today(sessions: sessionmaker[Session], site: str, now: datetime) -> int:
    """Backfill pages queued for this site since midnight UTC, over all its jobs."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with sessions() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(BackfillCandidate)
                .join(BackfillJob, BackfillJob.id == BackfillCandidate.job_id)
                .where(
                    BackfillJob.site == site_origin(site),
                    BackfillCandidate.state == CandidateState.QUEUED.value,
                    BackfillCandidate.queued_at >= midnight,
                    BackfillCandidate.queued_at < midnight + timedelta(days=1),
                )
            )
            or 0
        )


def queue_pages(
    sessions: sessionmaker[Session],
    settings: Settings,
    job: str,
    *,
    max_pages: int | None = None,
    alerts: bool | None = None,
    now: datetime | None = None,
) -> Counter[str]:
    """Turn the best candidates into backfill articles, within the run's and the day's budget."""
    now = now or utcnow()
    limits = settings.backfill
    mute = not (limits.alerts if alerts is None else alerts)
    counts: Counter[str] = Counter()
    with sessions() as session:
        site = session.get_one(BackfillJob, job).site
    budget_left = max(limits.daily_pages_per_site - pages_queued_today(sessions, site, now), 0)
    take = min(limits.max_pages if max_pages is None else max_pages, budget_left)
    if take < (limits.max_pages if max_pages is None else max_pages):
        counts["daily_budget_reached"] += 1
    while counts["queued"] < take:
        with transaction(sessions) as session:
            picked = list(
                session.scalars(
                    select(BackfillCandidate)
                    .where(
                        BackfillCandidate.job_id == job,
                        BackfillCandidate.state == CandidateState.CANDIDATE.value,
                    )
                    .order_by(BackfillCandidate.score.desc(), BackfillCandidate.id)
                    .limit(take - counts["queued"])
                )
            )
            if not picked:
                break
            for candidate in picked:
                _queue_one(session, candidate, mute, now, counts)
    return counts


def _queue_one(
    session: Session, candidate: BackfillCandidate, mute: bool, now: datetime, counts: Counter[str]
) -> None:
    new_id = article_id(candidate.canonical_url)
    dated = candidate.date_source in ("news", "url")  # lastmod is not a publication date
    inserted = insert_new(
        session,
        Article,
        [
            {
                "id": new_id,
                "canonical_url": candidate.canonical_url,
                "url": candidate.url,
                "feed_title": candidate.title,
                "feed_published_at": candidate.published_at if dated else None,
                "source": SOURCE,
                "alerts_muted": mute,
                "ignore_robots": False,
                "status": ArticleStatus.DISCOVERED.value,
                "discovered_at": now,
                "updated_at": now,
                "fetch_attempts": 0,
                "index_attempts": 0,
                "threads": [],
            }
        ],
        ["id"],
        Article.id,
    )
    known = not inserted  # from a feed, or another job
    state = CandidateState.KNOWN if known else CandidateState.QUEUED
    candidate.state, candidate.article_id = state.value, new_id
    candidate.queued_at = None if known else now
    counts[state.value] += 1


def queued_article_ids(sessions: sessionmaker[Session], job: str) -> list[str]:
    with sessions() as session:
        return list(
            session.scalars(
                select(BackfillCandidate.article_id)
                .where(
                    BackfillCandidate.job_id == job,
                    BackfillCandidate.state == CandidateState.QUEUED.value,
                )
                .order_by(BackfillCandidate.score.desc(), BackfillCandidate.id)
            )
        )
