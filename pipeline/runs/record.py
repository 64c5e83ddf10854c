"""The run record in the store's `runs` table, for every entry point (CLI, demo, Airflow).

A run is opened before its first stage and closed after its last, with the counts per
stage, the articles per status and the errors of the run (poll problems per feed and the
downloads that failed since the run started).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.records import RunState, utcnow
from pipeline.store.db import transaction
from pipeline.store.models import Article, Run


@dataclass
class RunSummary:
    run_id: int
    stage_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    status_counts: dict[str, int] = field(default_factory=dict)
    # {"stage": "poll", "feed", "error"} or {"stage": "fetch", "feed", "url", "error", "detail"}
    errors: list[dict[str, str]] = field(default_factory=list)
    state: RunState = RunState.RUNNING

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "state": self.state.value,
            "stages": self.stage_counts,
            "articles_by_status": self.status_counts,
            "errors": self.errors,
        }


def open_run(sessions: sessionmaker[Session], trigger: str, external_id: str | None = None) -> int:
    """Record a run as running; returns its id.

    A run with an external id (an Airflow run id) that is already recorded for this
    trigger is reopened rather than duplicated: a cleared and re-run DAG run keeps one row.
    """
    with transaction(sessions) as session:
        run = None
        if external_id is not None:
            run = session.scalar(
                select(Run).where(Run.trigger == trigger, Run.external_id == external_id)
            )
        if run is None:
            run = Run(trigger=trigger, external_id=external_id, counts={}, errors=[])
            session.add(run)
            session.flush()
        else:
            run.state, run.finished_at = RunState.RUNNING, None
        return run.id


def close_run(
    sessions: sessionmaker[Session],
    run_id: int,
    stages: Mapping[str, Mapping[str, int]],
    poll_errors: Sequence[Mapping[str, str]],
    state: RunState,
) -> RunSummary:
    """Write the run's outcome, with the store's article counts and the run's errors."""
    with sessions() as session:
        started_at = session.get_one(Run, run_id).started_at
    summary = RunSummary(
        run_id=run_id,
        stage_counts={name: dict(counts) for name, counts in stages.items()},
        status_counts=articles_by_status(sessions),
        errors=[
            {"stage": "poll", "feed": e.get("feed", ""), "error": e.get("error", "")}
            for e in poll_errors
        ]
        + fetch_errors(sessions, started_at),
        state=state,
    )
    with transaction(sessions) as session:
        run = session.get_one(Run, run_id)
        run.state = state
        run.finished_at = utcnow()
        run.counts = {"stages": summary.stage_counts, "articles_by_status": summary.status_counts}
        run.errors = summary.errors
    return summary


def articles_by_status(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        rows = session.execute(select(Article.status, func.count()).group_by(Article.status))
        return {str(status): count for status, count in sorted(rows)}


def fetch_errors(sessions: sessionmaker[Session], since: datetime) -> list[dict[str, str]]:
    """Articles whose download failed since `since`, with their feed and the reason."""
    with sessions() as session:
        rows = session.execute(
            select(
                Article.feed_name, Article.canonical_url, Article.fetch_error, Article.status_reason
            )
            .where(Article.fetch_error.is_not(None), Article.updated_at >= since)
            .order_by(Article.feed_name, Article.canonical_url)
        )
        return [
            {
                "stage": "fetch",
                "feed": feed or "",
                "url": url,
                "error": error or "",
                "detail": detail or "",
            }
            for feed, url, error, detail in rows
        ]
