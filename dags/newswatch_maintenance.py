"""
### newswatch maintenance

Daily housekeeping, and the index rebuild on demand.

- `feed_health`: lists the feeds whose last `failing_polls` polls all failed, with their
  last error, in the log and as XCom. A feed keeps being polled, with backoff, until
  someone fixes or disables it.
- `retention`: deletes articles older than `retention.keep_days` (by published date,
  else discovery time) from the search index and the store. Off unless
  `NEWSWATCH_RETENTION__ENABLED=true`; skipped otherwise.
- `setup_index`: only when triggered with `setup_index` on. Installs or updates the
  Elasticsearch index template and creates the first index and its aliases
  (`newswatch index setup`); needs a Connection whose user may manage index templates,
  which the ingest credential does not need.
- `rebuild_index`: only when triggered with `rebuild_index` on. Builds a fresh index
  from every classified article and switches searchers to it when complete (an alias
  swap on Elasticsearch), so search never sees a half-built index. The ingest DAG may
  keep running meanwhile: its writes reach both the old and the new index.

Every task can be cleared and re-run: deleting what is already gone and rebuilding
again are both harmless.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from pipeline.config import Settings
from pipeline.runs.airflow_notifier import RunFailureNotifier
from pipeline.runs.airflow_support import dag_default_args, dagrun_timeout

# Parse time reads only the environment and the TOML file: no database, no network.
SETTINGS = Settings()

log = logging.getLogger(__name__)


@dag(
    dag_id="newswatch_maintenance",
    schedule="@daily",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=dag_default_args(SETTINGS, SETTINGS.airflow.maintenance_timeout_minutes),
    dagrun_timeout=dagrun_timeout(SETTINGS.airflow.maintenance_dagrun_timeout_minutes),
    on_failure_callback=[RunFailureNotifier()],
    tags=["newswatch", "maintenance"],
    doc_md=__doc__,
    params={
        "failing_polls": Param(
            3,
            type="integer",
            minimum=1,
            title="Failing polls",
            description="Report feeds whose last N polls all failed.",
        ),
        "setup_index": Param(
            False,
            type="boolean",
            title="Set up the search index",
            description="Install or update the index template and aliases first.",
        ),
        "rebuild_index": Param(
            False,
            type="boolean",
            title="Rebuild the search index",
            description="Build a fresh index from the store and swap it in.",
        ),
    },
)
def newswatch_maintenance() -> None:
    @task
    def feed_health() -> dict[str, Any]:
        from pipeline.runs import airflow_support as nw

        min_failures = get_current_context()["params"]["failing_polls"]
        with nw.task_store() as (_settings, store):
            failing = nw.feed_health(store.sessions, min_failures)
        for feed in failing:
            log.warning(
                "feed %s: last %d polls failed (last success %s): %s",
                feed["feed"],
                feed["consecutive_failures"],
                feed["last_success_at"] or "never",
                feed["last_error"],
            )
        log.info("%d feed(s) failing for %d polls or more", len(failing), min_failures)
        return {"failing_polls": min_failures, "feeds": failing}

    @task(trigger_rule="none_failed")  # runs when setup_index is skipped
    def retention() -> dict[str, int]:
        from pipeline.runs import airflow_support as nw
        from pipeline.store.retention import delete_expired

        with nw.task_store() as (settings, store):
            if not settings.retention.enabled:
                raise AirflowSkipException("retention is off (NEWSWATCH_RETENTION__ENABLED)")
            backend = nw.ready_index(settings)
            counts = delete_expired(store.sessions, backend, settings.retention.keep_days)
        log.info("retention (%d days): %s", settings.retention.keep_days, dict(counts))
        return dict(counts)

    @task
    def setup_index() -> None:
        from pipeline.index.factory import open_index
        from pipeline.index.stage import setup_index
        from pipeline.runs import airflow_support as nw

        if not get_current_context()["params"]["setup_index"]:
            raise AirflowSkipException("not requested (trigger with setup_index on)")
        settings = nw.task_settings()
        with nw.no_retry_on_config_errors():
            setup_index(open_index(settings))
        log.info("search index set up")

    # After retention, so expired articles are not rebuilt; it runs when retention is off
    # or setup was not asked for.
    @task(trigger_rule="none_failed")
    def rebuild_index() -> dict[str, int]:
        from pipeline.index.stage import rebuild_index
        from pipeline.runs import airflow_support as nw

        if not get_current_context()["params"]["rebuild_index"]:
            raise AirflowSkipException("not requested (trigger with rebuild_index on)")
        with nw.task_store() as (settings, store):
            counts = rebuild_index(store.sessions, nw.ready_index(settings))
        log.info("index rebuilt: %s", dict(counts))
        return dict(counts)

    feed_health()
    setup_index() >> retention() >> rebuild_index()


newswatch_maintenance()
