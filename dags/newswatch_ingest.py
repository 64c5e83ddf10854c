"""
### newswatch ingest

Takes new articles from the feeds to the search index: the stages of `newswatch run`,
one task each. Runs every 30 minutes by default (`NEWSWATCH_AIRFLOW__SCHEDULE`), one
run at a time, without catch-up.

- `start`: records the run in the store; re-queues articles for indexing when
  `reprocess_since` is set.
- `plan_polls`: the feeds to poll (the `feeds` param, else every enabled feed that is
  due), in batches.
- `poll_feeds`: one mapped instance per batch of feeds; conditional GET of each feed,
  new entries become `discovered` articles.
- `plan_fetch`: the articles due for download (new ones, and failed ones whose retry
  time has come), oldest first, in at most `max_fetch_batches` batches, well below
  Airflow's `max_map_length`; the rest waits for the next run and is counted
  (`fetch_deferred`).
- `fetch_pages`: one mapped instance per batch of articles; polite download of each page.
  Runs in the `newswatch_fetch` pool, at most `fetch_max_active_per_run` at once per run;
  the per-host delay holds across workers (next-allowed times kept in the store).
- `plan_extract`: the fetched articles, in batches of `articles_per_task` (larger when
  there would be more than `max_fetch_batches`). Runs once every fetch batch is done,
  even if some failed: the other batches' articles go on to the index, and the failed
  batch's articles wait for the next run.
- `extract`: one mapped instance per batch; text and metadata of each fetched page.
- `plan_classify`: the extracted articles, oldest first, in batches of
  `articles_per_classify_task` (each instance loads the models and the duplicate index).
- `classify`: one mapped instance per batch, as many at once as Airflow has workers;
  duplicates, story clusters, relation to the seed stories, threads. The cluster step
  of each batch is serialised by a store lock, so copies of one story classified by two
  instances at once still form one cluster.
- `index`: sends the outbox to the search backend (after every classify instance, even
  if one failed). Fails, and is retried, while the backend is down; the articles wait in
  the outbox meanwhile.
- `alerts`: raises alerts on newly classified articles (once per story cluster and
  rule) and delivers what is due; runs even while the search backend is down, and a
  channel that is down is retried on the next run.
- `publish`: emits the `newswatch_articles` asset when new articles were indexed, so
  DAGs scheduled on it run; skipped otherwise.
- `summary`: logs the run summary (counts per stage and per article status, errors per
  feed) and returns it as XCom; fails the run if any task failed.

A failed or timed-out run (`dagrun_timeout`) is reported to the alert channels named in
`airflow.failure_channels`, with the failed tasks and a link to the run.

Tasks hand each other only ids and counts. Every stage takes what is waiting for it
in the store, so clearing any task, or a whole run, re-does only what is still
waiting: nothing is duplicated and nothing is lost. A mapped task with no batch is
skipped, and the stages after it still run.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import Asset, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from pipeline.config import Settings
from pipeline.runs.airflow_notifier import RunFailureNotifier
from pipeline.runs.airflow_support import (
    ARTICLES_ASSET_NAME,
    ARTICLES_ASSET_URI,
    dag_default_args,
    dagrun_timeout,
)
from pipeline.runs.airflow_tasks import after_fetch

# Parse time reads only the environment and the TOML file: no database, no network.
SETTINGS = Settings()
ARTICLES = Asset(name=ARTICLES_ASSET_NAME, uri=ARTICLES_ASSET_URI)
# After a mapped task: run whatever its instances did (an empty one is skipped, a failed
# batch fails alone), so the other batches' articles still reach the index. The failed
# instance fails the run in `summary`.
AFTER_MAPPED = "all_done"
DEFERRED_KEY = "deferred"  # plan_fetch's count of due articles left for the next run

log = logging.getLogger(__name__)


@dag(
    dag_id="newswatch_ingest",
    schedule=SETTINGS.airflow.schedule or None,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=dag_default_args(SETTINGS, SETTINGS.airflow.task_timeout_minutes),
    dagrun_timeout=dagrun_timeout(SETTINGS.airflow.ingest_dagrun_timeout_minutes),
    on_failure_callback=[RunFailureNotifier(consequential=("summary",))],
    tags=["newswatch", "ingest"],
    doc_md=__doc__,
    params={
        "feeds": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Feeds",
            description="Poll only these feeds (by name), due or not. Empty: every feed due.",
        ),
        "reprocess_since": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Re-index since",
            description="Send every article published on or after this date to the search "
            "index again (YYYY-MM-DD), e.g. after a backend was restored from an old snapshot.",
        ),
    },
)
def newswatch_ingest() -> None:
    @task
    def start() -> dict[str, int]:
        from pipeline.index.stage import requeue
        from pipeline.runs import airflow_support as nw

        context = get_current_context()
        since = nw.parse_since(context["params"]["reprocess_since"])
        with nw.task_store() as (_settings, store):
            run_id = nw.begin_run(store.sessions, context["run_id"])
            requeued = requeue(store.sessions, since=since) if since else 0
        return {"run_id": run_id, "requeued": requeued}

    @task
    def plan_polls() -> list[list[str]]:
        from pipeline.runs import airflow_support as nw

        feeds = get_current_context()["params"]["feeds"]
        with nw.task_store() as (settings, store):
            try:
                return nw.due_feed_batches(store.sessions, settings, feeds)
            except ValueError as exc:  # an unknown feed name: retrying cannot help
                raise AirflowFailException(str(exc)) from exc

    @task
    def poll_feeds(feed_names: list[str]) -> dict[str, Any]:
        from pipeline.feeds.stage import poll_feeds
        from pipeline.runs import airflow_support as nw

        with nw.task_store() as (settings, store):
            result = poll_feeds(store.sessions, settings, names=feed_names)
        return {"counts": dict(result.counts), "errors": result.errors}

    @task(trigger_rule=AFTER_MAPPED)
    def plan_fetch() -> list[list[str]]:
        from pipeline.runs import airflow_support as nw
        from pipeline.runs.plan import due_fetch_batches

        with nw.task_store() as (settings, store):
            conf = settings.airflow
            planned, deferred = due_fetch_batches(
                store.sessions, conf.articles_per_task, conf.max_fetch_batches
            )
        if deferred:
            log.warning("%d articles due for download wait for the next run", deferred)
        get_current_context()["ti"].xcom_push(DEFERRED_KEY, deferred)  # for the summary
        return planned

    @task(
        pool=SETTINGS.airflow.fetch_pool,
        max_active_tis_per_dagrun=SETTINGS.airflow.fetch_max_active_per_run,
    )
    def fetch_pages(article_ids: list[str]) -> dict[str, int]:
        from pipeline.fetch.stage import fetch_pending
        from pipeline.runs import airflow_support as nw

        with nw.task_store() as (settings, store):
            return dict(fetch_pending(store.sessions, settings.fetch, article_ids=article_ids))

    @task(outlets=[ARTICLES])
    def publish(indexed: dict[str, int]) -> None:
        new = indexed.get("indexed", 0)
        if not new:
            raise AirflowSkipException("no new articles were indexed")
        get_current_context()["outlet_events"][ARTICLES].extra = {"indexed": new}

    @task(trigger_rule="all_done")
    def summary(
        started: dict[str, int] | None,
        polled: list[dict[str, Any]],
        fetched: list[dict[str, int]],
        extracted: list[dict[str, int]],
        classified: list[dict[str, int]],
        indexed: dict[str, int] | None,
        alerted: dict[str, int] | None,
    ) -> dict[str, Any]:
        from pipeline.runs import airflow_support as nw

        context = get_current_context()
        states = context["ti"].get_task_states(
            dag_id=context["dag"].dag_id, run_ids=[context["run_id"]]
        )
        failed = nw.failed_tasks(states.get(context["run_id"], {}))
        deferred = context["ti"].xcom_pull(task_ids="plan_fetch", key=DEFERRED_KEY)
        if started is None:
            raise AirflowFailException(f"the run never started; failed: {', '.join(failed)}")
        stages = {
            "start": {"requeued": started["requeued"]},
            "poll": nw.sum_counts(p["counts"] for p in polled if p),
            "fetch": nw.sum_counts([*fetched, {"fetch_deferred": deferred} if deferred else None]),
            "extract": nw.sum_counts(extracted),
            "classify": nw.sum_counts(classified),
            "index": indexed or {},
            "alerts": alerted or {},
        }
        poll_errors = [error for p in polled if p for error in p["errors"]]
        with nw.task_store() as (_settings, store):
            report, errors = nw.finish_run(
                store.sessions, started["run_id"], stages, poll_errors, failed
            )
        log.info("%s", nw.format_summary(report, errors))
        if failed:
            context["ti"].xcom_push("return_value", report)  # a failed run has its summary too
            raise AirflowFailException(f"tasks failed: {', '.join(failed)}")
        return report

    started = start()
    feed_batches = plan_polls()
    started >> feed_batches
    polled = poll_feeds.expand(feed_names=feed_batches)
    fetch_batches = plan_fetch()
    polled >> fetch_batches
    fetched = fetch_pages.expand(article_ids=fetch_batches)
    done = after_fetch(fetched, AFTER_MAPPED)
    published = publish(done["index"])
    summarised = summary(
        started, polled, fetched, done["extract"], done["classify"], done["index"], done["alerts"]
    )
    published >> summarised


newswatch_ingest()
