"""One backfill run: for each site, discover, walk and queue; then the normal stages.

The queued articles go through the same fetch, extract, classify, index and alerts stages
as feed entries (the run is recorded in `runs` with trigger `backfill`). Fetching uses the
backfill's per-host gap, and only this run's sites' queued articles are fetched here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import FetchSettings, Settings
from pipeline.feeds.backfill import discover, open_job, reset_failed_sitemaps, walk
from pipeline.feeds.backfill_queue import queue_pages, queued_article_ids
from pipeline.feeds.backfill_report import JobReport, report
from pipeline.feeds.relevance import RelevanceScorer, make_scorer
from pipeline.feeds.sitemap_dates import DateRange
from pipeline.feeds.sitemap_walk import backfill_fetch_settings
from pipeline.fetch.stage import fetch_pending
from pipeline.index.base import SearchIndex
from pipeline.records import RunState
from pipeline.runs.record import RunSummary, close_run, open_run
from pipeline.runs.runner import Stage, StageCallback, run_stages, stages_after_fetch
from pipeline.store.batches import StageCounts


@dataclass
class BackfillSummary:
    run: RunSummary
    jobs: list[JobReport] = field(default_factory=list)


def backfill_sites(
    sessions: sessionmaker[Session],
    settings: Settings,
    sites: Sequence[str],
    window: DateRange,
    *,
    max_pages: int | None = None,
    alerts: bool | None = None,
    scorer: RelevanceScorer | None = None,
    retry_failed: bool = False,
    on_stage: StageCallback | None = None,
) -> tuple[list[str], dict[str, Counter[str]]]:
    """Discover, walk and queue every site; returns the job ids and the step counts.

    `retry_failed` reads the sitemaps that failed in earlier runs again (after an outage).
    """
    scorer = scorer or make_scorer(settings)
    jobs = [open_job(sessions, site, window) for site in sites]
    if retry_failed:
        for job in jobs:
            reset_failed_sitemaps(sessions, job)
    steps: dict[str, Counter[str]] = {"discover": Counter(), "walk": Counter(), "queue": Counter()}

    def discover_job(job: str) -> Counter[str]:
        return discover(sessions, settings, job)

    def walk_job(job: str) -> Counter[str]:
        return walk(sessions, settings, job, scorer)

    def queue_job(job: str) -> Counter[str]:
        return queue_pages(sessions, settings, job, max_pages=max_pages, alerts=alerts)

    for name, step in (("discover", discover_job), ("walk", walk_job), ("queue", queue_job)):
        for job in jobs:
            steps[name].update(step(job))
        if on_stage:
            on_stage(name, dict(steps[name]))
    return jobs, steps


def run_backfill(
    sessions: sessionmaker[Session],
    settings: Settings,
    backend: SearchIndex,
    sites: Sequence[str],
    window: DateRange,
    *,
    max_pages: int | None = None,
    alerts: bool | None = None,
    retry_failed: bool = False,
    trigger: str = "backfill",
    on_stage: StageCallback | None = None,
) -> BackfillSummary:
    """The whole backfill of `sites` for `window`, then the stages. Safe to repeat or resume."""
    run_id = open_run(sessions, trigger)
    stage_counts: dict[str, StageCounts] = {}
    problems: list[dict[str, str]] = []
    jobs: list[str] = []
    state = RunState.FAILED
    try:
        jobs, steps = backfill_sites(
            sessions,
            settings,
            sites,
            window,
            max_pages=max_pages,
            alerts=alerts,
            retry_failed=retry_failed,
            on_stage=on_stage,
        )
        stage_counts.update(steps)
        ids = [i for job in jobs for i in queued_article_ids(sessions, job)]
        fetch_settings = backfill_fetch_settings(settings)
        stages: list[Stage] = [
            ("fetch", lambda: _fetch_in_score_order(sessions, fetch_settings, ids)),
            *stages_after_fetch(sessions, settings, backend),
        ]
        run_stages(stages, stage_counts, on_stage)
        state = RunState.SUCCEEDED
    finally:
        reports = [report(sessions, job) for job in jobs]
        # Sitemap problems are recorded like a feed's poll problems, under the site.
        problems = [
            {"feed": f"backfill {r.site}", "error": f"{e['sitemap']}: {e['error']}"}
            for r in reports
            for e in r.errors
        ]
        summary = BackfillSummary(
            close_run(sessions, run_id, stage_counts, problems, state), reports
        )
    return summary


def _fetch_in_score_order(
    sessions: sessionmaker[Session], settings: FetchSettings, ids: list[str], batch: int = 16
) -> StageCounts:
    """Fetch the queued articles best score first, a batch at a time (a run cut short has
    fetched the most relevant ones)."""
    counts: StageCounts = Counter()
    for start in range(0, len(ids), batch):
        counts.update(fetch_pending(sessions, settings, article_ids=ids[start : start + batch]))
    return counts
