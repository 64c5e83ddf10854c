"""
### newswatch backfill

Finds sites' articles of a date range in their sitemaps and takes the relevant ones
through the pipeline (`newswatch backfill` as a DAG). Manual runs only, triggered with
params: `sites` (home pages; empty: `backfill.sites`), `since`, `until` (default today)
and `budget` (pages fetched per site; default `backfill.max_pages`).

- `plan_sites`: opens (or resumes) one job per site and date range.
- `discover`: mapped per site; the root sitemaps from robots.txt (else /sitemap.xml),
  read, so their children are queued.
- `plan_walk`: every pending sitemap of the jobs, in chunks of `backfill.sitemaps_per_task`.
- `walk_sitemaps`: mapped per chunk; streams each sitemap, keeps the URLs in the range
  that the relevance pre-filter scores high enough (nested indexes are read in the
  same task).
- `queue_pages`: the best candidates of each site, within the budget and the site's daily
  page budget, become articles with source `backfill`; their ids in fetch batches.
- `fetch_pages`: mapped per batch; polite download at the backfill's per-host gap.
- `plan_extract`, `extract`, `plan_classify`, `classify`, `index`, `alerts`: the ingest
  DAG's tasks (`pipeline/runs/airflow_tasks.py`), extract and classify mapped over
  batches; backfilled articles raise no alerts unless `backfill.alerts` is on.
- `summary`: seen, kept, queued and fetched per site; fails the run if a task failed.

Network tasks run in the `backfill.airflow_pool` pool (create it with few slots:
`airflow pools set newswatch_backfill 1 "sitemap backfill"`); every task has priority
weight `backfill.airflow_priority_weight` (0, absolute), below ingest's, so live ingest
goes first. All state is in the store:
a cleared or killed task resumes where it stopped, and a second run adds nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from pipeline.config import Settings
from pipeline.runs.airflow_notifier import RunFailureNotifier
from pipeline.runs.airflow_support import dag_default_args, dagrun_timeout
from pipeline.runs.airflow_tasks import after_fetch

SETTINGS = Settings()  # parse time: environment and TOML only
AFTER_MAPPED = "none_failed"
POOL = SETTINGS.backfill.airflow_pool  # the network tasks' own pool

log = logging.getLogger(__name__)


@dag(
    dag_id="newswatch_backfill",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=dagrun_timeout(SETTINGS.airflow.backfill_dagrun_timeout_minutes),
    on_failure_callback=[RunFailureNotifier()],
    default_args={
        **dag_default_args(SETTINGS, SETTINGS.airflow.task_timeout_minutes),
        # Below ingest's (1, summed downstream) on every task, whatever its place in the DAG.
        "priority_weight": SETTINGS.backfill.airflow_priority_weight,
        "weight_rule": "absolute",
    },
    tags=["newswatch", "backfill"],
    doc_md=__doc__,
    params={
        "sites": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Sites",
            description="Home pages of the sites to backfill. Empty: backfill.sites.",
        ),
        "since": Param(
            "2020-07-21", type="string", format="date", title="Since", description="First day."
        ),
        "until": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Until",
            description="Last day (default today).",
        ),
        "budget": Param(
            None,
            type=["null", "integer"],
            minimum=0,
            title="Pages per site",
            description="Pages fetched per site in this run (default backfill.max_pages).",
        ),
    },
)
def newswatch_backfill() -> None:
    @task
    def plan_sites() -> dict[str, Any]:
        from pipeline.feeds.backfill import open_job
        from pipeline.feeds.sitemap_dates import DateRange
        from pipeline.runs import airflow_support as nw

        context = get_current_context()
        params = context["params"]
        with nw.task_store() as (settings, store):
            sites = params["sites"] or [site.url for site in settings.backfill.sites]
            try:
                window = DateRange.from_days(
                    date.fromisoformat(params["since"]),
                    date.fromisoformat(params["until"] or datetime.now(UTC).date().isoformat()),
                )
                jobs = [open_job(store.sessions, site, window) for site in sites]
            except ValueError as exc:  # a bad site or range: retrying cannot help
                raise AirflowFailException(str(exc)) from exc
            run_id = nw.begin_run(store.sessions, "backfill:" + context["run_id"])
        return {"run_id": run_id, "jobs": jobs}

    @task
    def job_ids(plan: dict[str, Any]) -> list[str]:
        return list(plan["jobs"])

    @task(pool=POOL)
    def discover(job: str) -> dict[str, int]:
        from pipeline.feeds.backfill import discover, pending_sitemaps, walk
        from pipeline.feeds.relevance import make_scorer
        from pipeline.runs import airflow_support as nw

        with nw.task_store() as (settings, store):
            counts = discover(store.sessions, settings, job)
            roots = pending_sitemaps(store.sessions, job)
            scorer = make_scorer(settings)
            counts.update(walk(store.sessions, settings, job, scorer, roots, descend=False))
        return dict(counts)

    @task(trigger_rule=AFTER_MAPPED)
    def plan_walk(jobs: list[str]) -> list[dict[str, Any]]:
        from pipeline.feeds.backfill import pending_sitemaps
        from pipeline.runs import airflow_support as nw

        with nw.task_store() as (settings, store):
            size = settings.backfill.sitemaps_per_task
            return [
                {"job": job, "sitemaps": ids[i : i + size]}
                for job in jobs
                if (ids := pending_sitemaps(store.sessions, job))
                for i in range(0, len(ids), size)
            ]

    @task(pool=POOL)
    def walk_sitemaps(chunk: dict[str, Any]) -> dict[str, int]:
        from pipeline.feeds.backfill import walk
        from pipeline.feeds.relevance import make_scorer
        from pipeline.runs import airflow_support as nw

        with nw.task_store() as (settings, store):
            scorer = make_scorer(settings)
            return dict(walk(store.sessions, settings, chunk["job"], scorer, chunk["sitemaps"]))

    @task(trigger_rule=AFTER_MAPPED)
    def queue_pages(jobs: list[str]) -> list[list[str]]:
        from pipeline.feeds.backfill_queue import queue_pages, queued_article_ids
        from pipeline.runs import airflow_support as nw
        from pipeline.runs.plan import batches

        budget = get_current_context()["params"]["budget"]
        with nw.task_store() as (settings, store):
            for job in jobs:
                queue_pages(store.sessions, settings, job, max_pages=budget)
            ids = [i for job in jobs for i in queued_article_ids(store.sessions, job)]
            return batches(ids, settings.airflow.articles_per_task)

    @task(pool=POOL)
    def fetch_pages(article_ids: list[str]) -> dict[str, int]:
        from pipeline.feeds.sitemap_walk import backfill_fetch_settings
        from pipeline.fetch.stage import fetch_pending
        from pipeline.runs import airflow_support as nw

        with nw.task_store() as (settings, store):
            polite = backfill_fetch_settings(settings)
            return dict(fetch_pending(store.sessions, polite, article_ids=article_ids))

    @task(trigger_rule="all_done")
    def summary(
        plan: dict[str, Any] | None,
        discovered: list[dict[str, int]],
        walked: list[dict[str, int]],
        fetched: list[dict[str, int]],
        extracted: list[dict[str, int]],
        classified: list[dict[str, int]],
        indexed: dict[str, int] | None,
        alerted: dict[str, int] | None,
    ) -> dict[str, Any]:
        from pipeline.feeds.backfill_report import report
        from pipeline.runs import airflow_support as nw

        context = get_current_context()
        states = context["ti"].get_task_states(
            dag_id=context["dag"].dag_id, run_ids=[context["run_id"]]
        )
        failed = nw.failed_tasks(states.get(context["run_id"], {}))
        if plan is None:
            raise AirflowFailException(f"the run never started; failed: {', '.join(failed)}")
        stages = {
            "discover": nw.sum_counts(discovered),
            "walk": nw.sum_counts(walked),
            "fetch": nw.sum_counts(fetched),
            "extract": nw.sum_counts(extracted),
            "classify": nw.sum_counts(classified),
            "index": indexed or {},
            "alerts": alerted or {},
        }
        with nw.task_store() as (_settings, store):
            sites = [report(store.sessions, job).as_dict() for job in plan["jobs"]]
            run, errors = nw.finish_run(store.sessions, plan["run_id"], stages, [], failed)
        for site in sites:
            log.info(
                "%s %s..%s: seen=%d in_range=%d kept=%d queued=%d known=%d fetched=%d",
                site["site"], site["since"], site["until"], site["seen"], site["in_range"],
                site["kept"], site["queued"], site["known"], site["fetched"],
            )  # fmt: skip
        log.info("%s", nw.format_summary(run, errors))
        result = {**run, "sites": sites}
        if failed:
            context["ti"].xcom_push("return_value", result)
            raise AirflowFailException(f"tasks failed: {', '.join(failed)}")
        return result

    plan = plan_sites()
    jobs = job_ids(plan)
    discovered = discover.expand(job=jobs)
    chunks = plan_walk(jobs)
    discovered >> chunks
    walked = walk_sitemaps.expand(chunk=chunks)
    batches = queue_pages(jobs)
    walked >> batches
    fetched = fetch_pages.expand(article_ids=batches)
    done = after_fetch(fetched, AFTER_MAPPED)
    summarised = summary(
        plan,
        discovered,
        walked,
        fetched,
        done["extract"],
        done["classify"],
        done["index"],
        done["alerts"],
    )
    done["index"] >> summarised


newswatch_backfill()
