"""A real Airflow: api-server, scheduler and dag-processor run the ingest DAG end to end.

The services run on 127.0.0.1 with the LocalExecutor (parallelism 2) on a SQLite
metadata database. The test logs in through the SimpleAuthManager's /auth/token,
unpauses and triggers the DAG through the REST API (/api/v2), waits for success
against the sample newsroom, then stops everything: SIGTERM to each service's session,
then SIGKILL to whatever is left in it. Nothing may outlive the test, and the port
must be free again.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from pipeline.demo.content import load_feeds
from pipeline.demo.server import NewsroomServer
from pipeline.index.sqlite_fts import SqliteFtsIndex
from tests.alerts.support import free_port
from tests.dags.conftest import (
    airflow_command,
    base_env,
    create_fetch_pool,
    needs_airflow,
    newswatch_env,
)
from tests.dags.services import (
    airflow_services,
    log_in,
    port_is_free,
    processes_with,
    service_env,
    task_instances,
    trigger,
    wait_for_dag,
    wait_for_run,
)

pytestmark = [pytest.mark.airflow, pytest.mark.slow, needs_airflow]

DAG_ID = "newswatch_ingest"


def test_airflow_services_run_the_ingest_dag_triggered_through_the_rest_api(
    tmp_path: Path, newsroom: NewsroomServer
) -> None:
    began = time.perf_counter()
    home = tmp_path / "airflow"
    home.mkdir()
    port = free_port()
    services, password = service_env(home, port, parallelism=2)
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    env = base_env(home) | newswatch_env(
        tmp_path, store_url, newsroom.feed_urls(), articles_per_task=20
    )
    env |= services
    airflow_command(env, home, "db", "migrate")
    create_fetch_pool(env, home)
    api = f"http://127.0.0.1:{port}"

    with airflow_services(env, home), httpx.Client(base_url=api, timeout=10) as client:
        log_in(client, password, home)
        assert client.get("/api/v2/dags", headers={"Authorization": ""}).status_code == 401
        dag = wait_for_dag(client, DAG_ID, home)
        assert dag["is_paused"] is True  # new DAGs wait for an operator
        unpaused = client.patch(f"/api/v2/dags/{DAG_ID}", json={"is_paused": False})
        assert unpaused.status_code == 200 and unpaused.json()["is_paused"] is False
        run_id = trigger(client, DAG_ID)
        triggered_at = time.perf_counter()
        state = wait_for_run(client, DAG_ID, run_id, 240, home)["state"]
        run_seconds = time.perf_counter() - triggered_at
        tasks = task_instances(client, DAG_ID, run_id)
        assert state == "success", [(t["task_id"], t["map_index"], t["state"]) for t in tasks]
        mapped = [t for t in tasks if t["task_id"] == "poll_feeds"]
        assert len(mapped) == -(-len(load_feeds()) // 2)  # two feeds per mapped instance
        summary = client.get(
            f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/summary/xcomEntries/return_value"
        ).json()["value"]

    indexed = summary["articles_by_status"]["indexed"]
    assert summary["state"] == "succeeded" and indexed > 20
    assert SqliteFtsIndex(tmp_path / "data" / "search.db").count() == indexed
    assert port_is_free(port)
    assert processes_with(f"AIRFLOW_HOME={home}") == []
    print(
        f"airflow smoke test: {time.perf_counter() - began:.1f} s in all, "
        f"DAG run {run_seconds:.1f} s from trigger to success"
    )
