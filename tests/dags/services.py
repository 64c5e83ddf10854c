"""A real Airflow on 127.0.0.1: api-server, scheduler and dag-processor (LocalExecutor).

Shared by the scheduler smoke test (tests/dags/test_airflow_smoke.py) and the DAG speed
benchmark (benchmarks/bench_airflow.py). Each service runs in its own session, so that
stopping it stops its worker and task processes too: SIGTERM to the session, then
SIGKILL to whatever is left of it. The REST API (/api/v2) is used as an operator would,
logged in through the SimpleAuthManager's /auth/token.
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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.dags.conftest import VENV_BIN

SERVICES = ("api-server", "scheduler", "dag-processor")
STOP_GRACE_SECONDS = 20
ADMIN = "admin"


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def processes_with(marker: str) -> list[int]:
    """Pids of live processes whose environment contains `marker` (an Airflow home)."""
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


def service_env(home: Path, port: int, parallelism: int) -> tuple[dict[str, str], str]:
    """Settings of the services (LocalExecutor with `parallelism` task slots, the api-server
    on `port`), and the admin's password, written to a file in `home` for the auth manager."""
    password = secrets.token_urlsafe(12)
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({ADMIN: password}))
    env = {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        # Parse the DAG folder once, in one process: re-parsing only competes for the CPU.
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
    }
    return env, password


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
    """The three services, logging to `logs`/<service>.log, stopped on exit."""
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


def wait_for(what: str, check: Callable[[], Any], timeout: float, logs: Path) -> Any:
    """The first result of `check` that is not None; the services' log tails on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if (result := check()) is not None:
                return result
        time.sleep(0.5)
    tails = {p.name: p.read_text(errors="replace")[-3000:] for p in logs.glob("*.log")}
    raise AssertionError(f"timed out waiting for {what}\n" + json.dumps(tails, indent=1))


def log_in(client: httpx.Client, password: str, logs: Path) -> None:
    """Wait for the api-server, then send the admin's token with every request."""

    def token() -> str | None:
        answer = client.post("/auth/token", json={"username": ADMIN, "password": password})
        return answer.json()["access_token"] if answer.status_code == 201 else None

    client.headers["Authorization"] = f"Bearer {wait_for('the api-server', token, 90, logs)}"


def wait_for_dag(client: httpx.Client, dag_id: str, logs: Path) -> dict[str, Any]:
    """The DAG as the API describes it, once the dag-processor has parsed it."""

    def parsed() -> dict[str, Any] | None:
        answer = client.get(f"/api/v2/dags/{dag_id}")
        return answer.json() if answer.status_code == 200 else None

    found: dict[str, Any] = wait_for("the dag-processor to parse the DAG", parsed, 90, logs)
    return found


def trigger(client: httpx.Client, dag_id: str) -> str:
    """Trigger a run of the DAG now; its run id."""
    answer = client.post(f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None})
    answer.raise_for_status()
    return str(answer.json()["dag_run_id"])


def wait_for_run(
    client: httpx.Client, dag_id: str, run_id: str, timeout: float, logs: Path
) -> dict[str, Any]:
    """The DAG run once it succeeded or failed."""

    def finished() -> dict[str, Any] | None:
        found: dict[str, Any] = client.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json()
        return found if found["state"] in ("success", "failed") else None

    run: dict[str, Any] = wait_for("the DAG run", finished, timeout, logs)
    return run


def task_instances(client: httpx.Client, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """Every task instance of the run, mapped ones one per map index."""
    answer = client.get(
        f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000}
    )
    answer.raise_for_status()
    found: list[dict[str, Any]] = answer.json()["task_instances"]
    return found
