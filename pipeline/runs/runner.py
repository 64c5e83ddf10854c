"""One pipeline run: poll → fetch → extract → classify → index → alerts, recorded in `runs`.

The CLI, the demo and the Airflow DAG all go through the same stage functions; this
module only strings them together for the CLI and the demo. With run.workers > 1, fetch,
extract and classify run in a pool of worker processes (`pipeline.runs.workers`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session, sessionmaker

from pipeline.alerts.stage import run_alerts
from pipeline.classify.stage import classify_pending
from pipeline.config import Settings
from pipeline.extract.stage import extract_pending
from pipeline.feeds.stage import poll_feeds
from pipeline.fetch.stage import fetch_pending
from pipeline.index.base import SearchIndex
from pipeline.index.stage import index_pending
from pipeline.records import RunState
from pipeline.runs.record import RunSummary, close_run, open_run
from pipeline.runs.workers import StagePool, stage_pool
from pipeline.store.batches import StageCounts

STAGES = ("poll", "fetch", "extract", "classify", "index", "alerts")

StageCallback = Callable[[str, dict[str, int]], None]
Stage = tuple[str, Callable[[], StageCounts]]


def stages_after_fetch(
    sessions: sessionmaker[Session],
    settings: Settings,
    backend: SearchIndex,
    pool: StagePool | None = None,
) -> list[Stage]:
    """extract → classify → index → alerts: what every run does once its pages are fetched.

    With a `pool`, extract and classify run in its worker processes."""
    return [
        mapped("extract", pool, lambda: extract_pending(sessions, settings.extract)),
        mapped("classify", pool, lambda: classify_pending(sessions, settings)),
        ("index", lambda: index_pending(sessions, backend, settings.index)),
        ("alerts", lambda: run_alerts(sessions, settings)),
    ]


def mapped(name: str, pool: StagePool | None, alone: Callable[[], StageCounts]) -> Stage:
    """The stage `name` over the pool's workers if there is a pool, else `alone`."""
    if pool is None:
        return (name, alone)
    return (name, lambda: pool.run(name))


def run_stages(
    stages: Sequence[Stage],
    stage_counts: dict[str, StageCounts],
    on_stage: StageCallback | None = None,
) -> None:
    """Run each stage in order, keeping its counts as it finishes (so a failure keeps those
    of the stages before it)."""
    for name, stage in stages:
        stage_counts[name] = stage()
        if on_stage:
            on_stage(name, dict(stage_counts[name]))


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
    run_id = open_run(sessions, trigger)
    stage_counts: dict[str, StageCounts] = {}
    poll_errors: list[dict[str, str]] = []
    state = RunState.FAILED
    try:
        with stage_pool(sessions, settings) as pool:  # its workers start while polling
            polled = poll_feeds(sessions, settings, names=feed_names)
            poll_errors = polled.errors
            stages: list[Stage] = [
                ("poll", lambda: polled.counts),
                mapped("fetch", pool, lambda: fetch_pending(sessions, settings.fetch)),
                *stages_after_fetch(sessions, settings, backend, pool),
            ]
            run_stages(stages, stage_counts, on_stage)
        state = RunState.SUCCEEDED
    finally:
        summary = close_run(sessions, run_id, stage_counts, poll_errors, state)
    return summary
