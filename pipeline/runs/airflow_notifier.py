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

from pipeline.runs.failure_notice import RunFailure

log = logging.getLogger("newswatch.runs")

DEFAULT_UI_URL = "http://localhost:8080/"


class RunFailureNotifier(BaseNotifier):
    """Sends a run-failure notice (failed tasks, link to the run) to the failure channels.

    `consequential` names tasks that fail because others did (the ingest DAG's `summary`):
    they are left out of the notice unless nothing else failed.
    """

    def __init__(self, consequential: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.consequential = consequential

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        """Nothing to render: the notice has no templated fields. (Rendering would also fail
        under dag.test(), whose callback context holds a serialized DAG.)"""

    def notify(self, context: Any) -> None:
        from pipeline.runs.airflow_support import task_settings
        from pipeline.runs.failure_notice import notify_failure

        settings = task_settings()
        failure = failure_from_context(context, settings.airflow.ui_url, self.consequential)
        outcome = notify_failure(settings, failure)
        log.info("run failure notice: %s", outcome or "no failure_channels configured")


def failure_from_context(
    context: Mapping[str, Any], ui_url: str | None, consequential: tuple[str, ...] = ()
) -> RunFailure:
    """The RunFailure that a DAG callback context describes."""
    from pipeline.runs.airflow_support import failed_tasks
    from pipeline.runs.failure_notice import run_url

    dag_id = str(context["dag"].dag_id)
    run_id = str(context["run_id"])
    base = ui_url or _airflow_base_url()
    failed = failed_tasks(_task_states(context, dag_id, run_id))
    causes = [name for name in failed if name not in consequential]
    return RunFailure(
        dag_id=dag_id,
        run_id=run_id,
        failed_tasks=tuple(causes or failed),
        url=run_url(base, dag_id, run_id),
        reason=context.get("reason"),
    )


def _task_states(context: Mapping[str, Any], dag_id: str, run_id: str) -> dict[str, Any]:
    """Task instance → state for the run: asked of the API server (the dag-processor's
    channel); where there is none (dag.test() runs callbacks in its own process), read
    from the metadata database; failing both, the task that failed the run."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    try:
        states = RuntimeTaskInstance.get_task_states(dag_id=dag_id, run_ids=[run_id])
        return dict(states.get(run_id, {}))
    except Exception as exc:  # no supervisor channel in this process
        log.debug("task states from the API server unavailable: %s", exc)
    try:
        return _task_states_from_db(dag_id, run_id)
    except Exception as exc:
        log.info("task states unavailable (%s); naming the task that failed the run", exc)
    ti = context.get("ti")
    return {_ti_name(ti.task_id, getattr(ti, "map_index", -1)): "failed"} if ti else {}


def _task_states_from_db(dag_id: str, run_id: str) -> dict[str, Any]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(TaskInstance.task_id, TaskInstance.map_index, TaskInstance.state).where(
                TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id
            )
        )
        return {_ti_name(task_id, index): state for task_id, index, state in rows}


def _ti_name(task_id: str, map_index: int | None) -> str:
    """As get_task_states names them: task_id, or task_id_MAPINDEX for a mapped instance."""
    return task_id if map_index is None or map_index < 0 else f"{task_id}_{map_index}"


def _airflow_base_url() -> str:
    from airflow.configuration import conf

    return str(conf.get("api", "base_url", fallback=DEFAULT_UI_URL) or DEFAULT_UI_URL)
