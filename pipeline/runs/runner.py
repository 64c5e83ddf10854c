"""One pipeline run: poll → fetch → extract → classify → index → alerts, recorded in `runs`.

The CLI, the demo and the Airflow DAG all go through the same stage functions; this
module only strings them together for the single-process entry points.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.alerts.stage import run_alerts
from pipeline.classify.stage import classify_pending
from pipeline.config import Settings
from pipeline.extract.stage import extract_pending
from pipeline.feeds.stage import poll_feeds
from pipeline.fetch.stage import fetch_pending
from pipeline.index.base import SearchIndex
from pipeline.index.stage import index_pending
from pipeline.records import utcnow
from pipeline.store.db import transaction
from pipeline.store.models import Article, Run

STAGES = ("poll", "fetch", "extract", "classify", "index", "alerts")

StageCallback = Callable[[str, dict[str, int]], None]


@dataclass
class RunSummary:
    run_id: int
    stage_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    status_counts: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    state: str = "running"

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "state": self.state,
            "stages": self.stage_counts,
            "articles_by_status": self.status_counts,
            "errors": self.errors,
        }


def start_run(sessions: sessionmaker[Session], trigger: str, external_id: str | None = None) -> int:
    with transaction(sessions) as session:
        run = Run(trigger=trigger, external_id=external_id, counts={}, errors=[])
        session.add(run)
        session.flush()
        return run.id


def finish_run(sessions: sessionmaker[Session], summary: RunSummary) -> None:
    with transaction(sessions) as session:
        run = session.get_one(Run, summary.run_id)
        run.state = summary.state
        run.finished_at = utcnow()
        run.counts = {"stages": summary.stage_counts, "articles_by_status": summary.status_counts}
        run.errors = summary.errors


def articles_by_status(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        rows = session.execute(select(Article.status, func.count()).group_by(Article.status))
        return {status: count for status, count in rows}


def fetch_errors(sessions: sessionmaker[Session], since: datetime) -> list[dict[str, str]]:
    """Articles whose download failed during this run, with the reason."""
    with sessions() as session:
        rows = session.execute(
            select(Article.canonical_url, Article.fetch_error, Article.status_reason)
            .where(Article.fetch_error.is_not(None), Article.updated_at >= since)
            .order_by(Article.canonical_url)
        )
        return [
            {"url": url, "error": error or "", "detail": detail or ""}
            for url, error, detail in rows
        ]


def run_stages(
    summary: RunSummary,
    stages: Sequence[tuple[str, Callable[[], Counter[str]]]],
    on_stage: StageCallback | None = None,
) -> None:
    """Run each stage in order, recording its counts in the summary as it finishes."""
    for name, stage in stages:
        counts = dict(stage())
        summary.stage_counts[name] = counts
        if on_stage:
            on_stage(name, counts)


def run_pipeline(
    sessions: sessionmaker[Session],
    settings: Settings,
    backend: SearchIndex,
    *,
    trigger: str = "cli",
    feed_names: Sequence[str] | None = None,
    on_stage: StageCallback | None = None,
) -> RunSummary:
    """Run every stage once over whatever is waiting. Safe to repeat or to resume."""
    started_at = utcnow()
    summary = RunSummary(run_id=start_run(sessions, trigger))
    try:
        polled = poll_feeds(sessions, settings, names=feed_names)
        summary.errors.extend(polled.errors)
        stage_results: list[tuple[str, Callable[[], Counter[str]]]] = [
            ("poll", lambda: polled.counts),
            ("fetch", lambda: fetch_pending(sessions, settings.fetch)),
            ("extract", lambda: extract_pending(sessions, settings.extract)),
            ("classify", lambda: Counter(classify_pending(sessions, settings))),
            ("index", lambda: index_pending(sessions, backend, settings.index)),
            ("alerts", lambda: run_alerts(sessions, settings)),
        ]
        run_stages(summary, stage_results, on_stage)
        summary.state = "succeeded"
    except BaseException:
        summary.state = "failed"
        raise
    finally:
        summary.status_counts = articles_by_status(sessions)
        summary.errors.extend(fetch_errors(sessions, started_at))
        finish_run(sessions, summary)
    return summary
