"""Fixtures for the DAG tests: a migrated Airflow home, and Airflow runs in child processes.

Airflow is never imported into the pytest process: importing it reads AIRFLOW_HOME
once and reconfigures logging for the whole process, which would leak into every
other test. Each Airflow step runs `harness.py` (or the `airflow` command) in a child
process whose environment alone carries AIRFLOW_HOME and the NEWSWATCH_* settings.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline.demo.server import NewsroomServer
from tests.conftest import make_test_settings

REPO = Path(__file__).resolve().parents[2]
DAGS_FOLDER = REPO / "dags"
HARNESS = Path(__file__).with_name("harness.py")
VENV_BIN = Path(sys.executable).parent
HAS_AIRFLOW = importlib.util.find_spec("airflow") is not None
FETCH_POOL = "newswatch_fetch"

needs_airflow = pytest.mark.skipif(not HAS_AIRFLOW, reason="apache-airflow is not installed")


def base_env(airflow_home: Path) -> dict[str, str]:
    """This process's environment minus any Airflow or newswatch settings, plus a home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NEWSWATCH_"))}
    env.update(
        AIRFLOW_HOME=str(airflow_home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS_FOLDER),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        # The DAGs must import pipeline from this checkout whatever the child's cwd.
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    return env


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An Airflow home with a migrated SQLite metadata database, shared by the session."""
    if not HAS_AIRFLOW:
        pytest.skip("apache-airflow is not installed")
    home = tmp_path_factory.mktemp("airflow-home")
    airflow_command(base_env(home), home, "db", "migrate")
    create_fetch_pool(base_env(home), home)
    return home


def airflow_command(env: dict[str, str], home: Path, *args: str) -> None:
    """One `airflow` CLI command (db migrate, pools set, ...) that must succeed."""
    subprocess.run(
        [str(VENV_BIN / "airflow"), *args],
        env=env,
        cwd=home,
        check=True,
        capture_output=True,
        timeout=180,
    )


def create_fetch_pool(env: dict[str, str], home: Path, slots: int = 2) -> None:
    """The fetch tasks' pool, as an operator (or docker/'s airflow-init) creates it."""
    airflow_command(env, home, "pools", "set", FETCH_POOL, str(slots), "newswatch fetch")


def newswatch_env(
    tmp_path: Path, store_url: str, feeds: dict[str, str], **airflow: Any
) -> dict[str, str]:
    """NEWSWATCH_* settings for a DAG run: the test fetch limits, tiny batches, quick retries."""
    fetch = make_test_settings(tmp_path).fetch.model_dump(mode="json")
    tasks = {
        "feeds_per_task": 2,
        "articles_per_task": 8,
        "articles_per_classify_task": 16,
        "retries": 1,
        "retry_delay_seconds": 0,
        "max_retry_delay_seconds": 1,
        "schedule": "",
        **airflow,
    }
    return {
        "NEWSWATCH_DATA_DIR": str(tmp_path / "data"),
        "NEWSWATCH_DATABASE_URL": store_url,
        "NEWSWATCH_FEEDS": json.dumps([{"name": n, "url": u} for n, u in feeds.items()]),
        "NEWSWATCH_FETCH": json.dumps(fetch),
        "NEWSWATCH_AIRFLOW": json.dumps(tasks),
    }


def run_harness(
    airflow_home: Path, args: list[str], env: dict[str, str] | None = None, timeout: float = 600
) -> dict[str, Any]:
    """Run harness.py in a child process; returns the JSON it prints last.

    The default timeout leaves room for a loaded machine: an ingest run has a mapped
    instance per batch for poll, fetch, extract and classify (200 s for the first run of
    the end-to-end test at load ≈ 15 on 2 cores)."""
    child_env = base_env(airflow_home) | (env or {})
    done = subprocess.run(
        [sys.executable, str(HARNESS), *args],
        env=child_env,
        cwd=airflow_home,  # no stray ./newswatch.toml is picked up
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise AssertionError(
            f"harness {args} failed:\n{done.stdout[-4000:]}\n{done.stderr[-8000:]}"
        )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def newsroom() -> Any:
    with NewsroomServer(slow_seconds=2.0) as server:
        yield server
