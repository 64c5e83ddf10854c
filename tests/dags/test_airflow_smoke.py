"""A real Airflow: api-server, scheduler and dag-processor run the ingest DAG end to end.

The services run on 127.0.0.1 with the LocalExecutor (parallelism 2) on a SQLite
metadata database. The test logs in through the SimpleAuthManager's /auth/token,
unpauses and triggers the DAG through the REST API (/api/v2), waits for success
against the sample newsroom, then stops everything: SIGTERM to each service's session,
then SIGKILL to whatever is left in it. Nothing may outlive the test, and the port
must be free again.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline.demo.content import load_feeds
from pipeline.demo.server import NewsroomServer
from pipeline.index.sqlite_fts import SqliteFtsIndex
from tests.dags.conftest import (
    VENV_BIN,
    base_env,
    create_fetch_pool,
    needs_airflow,
    newswatch_env,
)

pytestmark = [pytest.mark.airflow, pytest.mark.slow, needs_airflow]

DAG_ID = "newswatch_ingest"
SERVICES = ("api-server", "scheduler", "dag-processor")
STOP_GRACE_SECONDS = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def processes_with(marker: str) -> list[int]:
    """Pids of live processes whose environment contains `marker` (this test's home)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if marker.encode() in (entry / "environ").read_bytes():
                status = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if status != "Z":  # a zombie is only waiting for its parent to read it
                    found.append(int(entry.name))
    return found


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the service's whole session, wait, then SIGKILL what is left of it."""
    group = os.getpgid(process.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_GRACE_SECONDS)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)  # workers and task processes of the group
    process.wait()


@contextlib.contextmanager
def airflow_services(env: dict[str, str], logs: Path) -> Iterator[None]:
    started: list[subprocess.Popen[bytes]] = []
    try:
        for service in SERVICES:
            log = (logs / f"{service}.log").open("wb")
            started.append(
                subprocess.Popen(
                    [str(VENV_BIN / "airflow"), service],
                    env=env,
                    cwd=logs,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own session: stopped as one group
                )
            )
        yield
    finally:
        for process in reversed(started):
            stop(process)


def wait_for(what: str, check: Any, timeout: float, logs: Path) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if (result := check()) is not None:
                return result
        time.sleep(0.5)
    tails = {p.name: p.read_text(errors="replace")[-3000:] for p in logs.glob("*.log")}
    raise AssertionError(f"timed out waiting for {what}\n" + json.dumps(tails, indent=1))


def test_airflow_services_run_the_ingest_dag_triggered_through_the_rest_api(
    tmp_path: Path, newsroom: NewsroomServer
) -> None:
    began = time.perf_counter()
    home = tmp_path / "airflow"
    home.mkdir()
    port = free_port()
    password = secrets.token_urlsafe(12)
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({"admin": password}))
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    env = base_env(home) | newswatch_env(
        tmp_path, store_url, newsroom.feed_urls(), articles_per_task=20
    )
    env |= {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        # Parse the DAG folder once, in one process: re-parsing only competes for the CPU.
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
    }
    subprocess.run(
        [str(VENV_BIN / "airflow"), "db", "migrate"],
        env=env,
        cwd=home,
        check=True,
        capture_output=True,
        timeout=180,
    )
    create_fetch_pool(env, home)
    api = f"http://127.0.0.1:{port}"

    with airflow_services(env, home), httpx.Client(base_url=api, timeout=10) as client:

        def login() -> str | None:
            answer = client.post("/auth/token", json={"username": "admin", "password": password})
            return answer.json()["access_token"] if answer.status_code == 201 else None

        token = wait_for("the api-server", login, 90, home)
        client.headers["Authorization"] = f"Bearer {token}"
        assert client.get("/api/v2/dags", headers={"Authorization": ""}).status_code == 401

        def parsed() -> dict[str, Any] | None:
            answer = client.get(f"/api/v2/dags/{DAG_ID}")
            return answer.json() if answer.status_code == 200 else None

        dag = wait_for("the dag-processor to parse the DAG", parsed, 90, home)
        assert dag["is_paused"] is True  # new DAGs wait for an operator
        unpaused = client.patch(f"/api/v2/dags/{DAG_ID}", json={"is_paused": False})
        assert unpaused.status_code == 200 and unpaused.json()["is_paused"] is False
        triggered = client.post(f"/api/v2/dags/{DAG_ID}/dagRuns", json={"logical_date": None})
        assert triggered.status_code == 200, triggered.text
        run_id = triggered.json()["dag_run_id"]
        triggered_at = time.perf_counter()

        def finished() -> str | None:
            state = client.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}").json()["state"]
            return state if state in ("success", "failed") else None

        state = wait_for("the DAG run", finished, 240, home)
        run_seconds = time.perf_counter() - triggered_at
        tasks = client.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances").json()
        assert state == "success", [
            (t["task_id"], t["map_index"], t["state"]) for t in tasks["task_instances"]
        ]
        mapped = [t for t in tasks["task_instances"] if t["task_id"] == "poll_feeds"]
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
