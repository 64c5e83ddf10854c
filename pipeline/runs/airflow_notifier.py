"""The DAGs' failure notifier: an Airflow notifier over `pipeline.runs.failure_notice`.

Airflow runs a DAG's ``on_failure_callback`` in the dag-processor when a run fails
(a task failed, or ``dagrun_timeout`` passed). The notifier reads the run's task states
from the API server, builds the notice and sends it to ``airflow.failure_channels``.
Imported by the DAG files, so it imports nothing heavy at module level.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from airflow.sdk import BaseNotifier

log = logging.getLogger("newswatch.runs")

DEFAULT_UI_URL = "http://localhost:8080/"


class RunFailureNotifier(BaseNotifier):
    """Sends a run-failure notice (failed tasks, link to the run) to the failure channels."""

    def notify(self, context: Any) -> None:
        from pipeline.runs.airflow_support import task_settings
        from pipeline.runs.failure_notice import notify_failure

        settings = task_settings()
        failure = failure_from_context(context, settings.airflow.ui_url)
        outcome = notify_failure(settings, failure)
        log.info("run failure notice: %s", outcome or "no failure_channels configured")


def failure_from_context(context: Mapping[str, Any], ui_url: str | None) -> Any:
    """The RunFailure that a DAG callback context describes."""
    from pipeline.runs.airflow_support import failed_tasks
    from pipeline.runs.failure_notice import RunFailure, run_url

    dag_id = str(context["dag"].dag_id)
    run_id = str(context["run_id"])
    base = ui_url or _airflow_base_url()
    return RunFailure(
        dag_id=dag_id,
        run_id=run_id,
        failed_tasks=tuple(failed_tasks(_task_states(context, dag_id, run_id))),
        url=run_url(base, dag_id, run_id),
        reason=context.get("reason"),
    )


def _task_states(context: Mapping[str, Any], dag_id: str, run_id: str) -> dict[str, Any]:
    """Task instance → state for the run, asked of the API server; if that channel is not
    there (dag.test() runs callbacks in process), the task that failed the run."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    try:
        states = RuntimeTaskInstance.get_task_states(dag_id=dag_id, run_ids=[run_id])
        return dict(states.get(run_id, {}))
    except Exception as exc:  # no supervisor channel in this process
        log.info("task states unavailable (%s); naming the task that failed the run", exc)
    ti = context.get("ti")
    if ti is None:
        return {}
    index = getattr(ti, "map_index", -1)
    name = ti.task_id if index is None or index < 0 else f"{ti.task_id}_{index}"
    return {name: "failed"}


def _airflow_base_url() -> str:
    from airflow.configuration import conf

    return str(conf.get("api", "base_url", fallback=DEFAULT_UI_URL) or DEFAULT_UI_URL)
