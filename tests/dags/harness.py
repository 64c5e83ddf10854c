"""Runs Airflow in a child process for the DAG tests and prints one JSON line.

Importing Airflow configures logging and settings process-wide, so the tests never
import it themselves; they run this script with AIRFLOW_HOME and the NEWSWATCH_*
settings in its environment.

    python harness.py inspect
    python harness.py run DAG_ID [--conf JSON ...] [--heal-on-retry TASK_ID ENV=VALUE]
                                 [--fail-mapped TASK_ID MAP_INDEX]

`inspect` loads the DAG folder like the dag-processor does and describes each DAG.
`run` executes DAG runs in process with `dag.test()`, one per --conf (default one run
with no conf), one after the other; Airflow starts up once for all of them. A conf's
"_env" entry is not passed to the run: it sets environment variables (settings)
before it. With --heal-on-retry, a failure of TASK_ID sets ENV=VALUE for its retry,
as an operator fixing an outage would, and the failure is reported. With --fail-mapped,
that instance of a mapped task fails in the first run (as a worker that died would) and
runs normally in the later ones.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from typing import Any

# Modules a DAG file must not import at parse time (the dag-processor parses often).
HEAVY_MODULES = (
    "pipeline.feeds.stage",
    "pipeline.fetch",
    "pipeline.extract",
    "pipeline.classify",
    "pipeline.alerts",
    "pipeline.store",
    "pipeline.index",
    "trafilatura",
    "feedparser",
    "datasketch",
    "elasticsearch",
)


def inspect() -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    dags: dict[str, Any] = {}
    for dag_id, dag in bag.dags.items():
        dags[dag_id] = {
            "timetable": type(dag.timetable).__name__,
            "schedule": getattr(dag.timetable, "expression", None),
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "tags": sorted(dag.tags),
            "owner": dag.owner,
            "doc_md": bool(dag.doc_md),
            "params": {name: dag.params.get_param(name).resolve() for name in dag.params},
            "tasks": {task.task_id: _describe(task) for task in dag.tasks},
            "dagrun_timeout": dag.dagrun_timeout.total_seconds() if dag.dagrun_timeout else None,
            "on_failure_callback": [type(c).__name__ for c in dag.on_failure_callback or []],
        }
    heavy = sorted(m for m in sys.modules if m.startswith(HEAVY_MODULES))
    return {"import_errors": bag.import_errors, "dags": dags, "heavy_modules": heavy}


def _describe(task: Any) -> dict[str, Any]:
    timeout = task.execution_timeout
    return {
        "mapped": type(task).__name__ == "DecoratedMappedOperator",
        "upstream": sorted(task.upstream_task_ids),
        "trigger_rule": str(task.trigger_rule.value),
        "retries": task.retries,
        "retry_exponential_backoff": task.retry_exponential_backoff,
        "execution_timeout": timeout.total_seconds() if timeout else None,
        "outlets": [getattr(outlet, "uri", str(outlet)) for outlet in task.outlets],
        "pool": task.pool,
        "max_active_tis_per_dagrun": task.max_active_tis_per_dagrun,
        "priority_weight": task.priority_weight,
    }


def fail_once(dag: Any, task_id: str, map_index: int) -> None:
    """Make one instance of a mapped task fail, without retry, the first time it runs."""
    from airflow.sdk import get_current_context
    from airflow.sdk.exceptions import AirflowFailException

    task = dag.get_task(task_id)
    original = task.python_callable
    failed: list[bool] = []

    @functools.wraps(original)
    def flaky(*args: Any, **kwargs: Any) -> Any:
        if not failed and get_current_context()["ti"].map_index == map_index:
            failed.append(True)
            raise AirflowFailException(f"injected failure of {task_id}[{map_index}]")
        return original(*args, **kwargs)

    task.python_callable = flaky


def run(
    dag_id: str,
    confs: list[dict[str, Any]],
    heal: list[str] | None,
    fail_mapped: list[str] | None = None,
) -> dict[str, Any]:
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).dags[dag_id]
    if fail_mapped:
        fail_once(dag, fail_mapped[0], int(fail_mapped[1]))
    seen: list[str] = []
    if heal:
        task_id, setting = heal
        name, _, value = setting.partition("=")

        def fix_outage(context: Any) -> None:
            seen.append(str(context.get("exception")))
            os.environ[name] = value

        dag.get_task(task_id).on_retry_callback = [fix_outage]
    runs = []
    for conf in confs:
        os.environ.update(conf.pop("_env", {}))
        runs.append(_one_run(dag, conf))
    return {"runs": runs, "retry_failures": seen}


def _one_run(dag: Any, conf: dict[str, Any]) -> dict[str, Any]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    began = time.perf_counter()
    dag_run = dag.test(run_conf=conf)
    seconds = time.perf_counter() - began
    with create_session() as session:
        tis = [
            {
                "task_id": ti.task_id,
                "map_index": ti.map_index,
                "state": ti.state,
                "try_number": ti.try_number,
            }
            for ti in dag_run.get_task_instances(session=session)
        ]
        returned = {
            xcom.task_id: XComModel.deserialize_value(xcom)
            for xcom in session.scalars(
                XComModel.get_many(
                    run_id=dag_run.run_id, dag_ids=dag.dag_id, key="return_value", map_indexes=-1
                )
            )
        }
    return {
        "run_id": dag_run.run_id,
        "state": str(dag_run.state),
        "seconds": round(seconds, 2),
        "task_instances": sorted(tis, key=lambda t: (t["task_id"], t["map_index"])),
        "xcom": returned,  # what each unmapped task returned
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("inspect")
    run_parser = commands.add_parser("run")
    run_parser.add_argument("dag_id")
    run_parser.add_argument("--conf", action="append", type=json.loads)
    run_parser.add_argument("--heal-on-retry", nargs=2, metavar=("TASK_ID", "ENV=VALUE"))
    run_parser.add_argument("--fail-mapped", nargs=2, metavar=("TASK_ID", "MAP_INDEX"))
    args = parser.parse_args()
    if args.command == "inspect":
        result = inspect()
    else:
        result = run(args.dag_id, args.conf or [{}], args.heal_on_retry, args.fail_mapped)
    # The last line of stdout is the result; Airflow may print before it.
    print("\n" + json.dumps(result, default=str))


if __name__ == "__main__":
    main()
