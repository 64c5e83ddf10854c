"""The DAG folder as the dag-processor sees it: imports cleanly, light, and well formed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dags.conftest import needs_airflow, run_harness

pytestmark = [pytest.mark.airflow, needs_airflow]

INGEST_ORDER = [
    ("start", []),
    ("plan_polls", ["start"]),
    ("poll_feeds", ["plan_polls"]),
    ("plan_fetch", ["poll_feeds"]),
    ("fetch_pages", ["plan_fetch"]),
    ("plan_extract", ["fetch_pages"]),
    ("extract", ["plan_extract"]),
    ("plan_classify", ["extract"]),
    ("classify", ["plan_classify"]),
    ("index", ["classify"]),
    ("publish", ["index"]),
    ("alerts", ["classify"]),
]


@pytest.fixture(scope="module")
def dagbag(airflow_home: Path) -> dict[str, Any]:
    # Production-like task settings: the defaults, not the tests' quick retries.
    return run_harness(airflow_home, ["inspect"])


def test_the_dag_folder_imports_without_errors(dagbag: dict[str, Any]) -> None:
    assert dagbag["import_errors"] == {}
    assert set(dagbag["dags"]) == {
        "newswatch_ingest",
        "newswatch_maintenance",
        "newswatch_backfill",
    }


def test_parsing_the_dags_imports_no_stage_store_or_heavy_library(dagbag: dict[str, Any]) -> None:
    assert dagbag["heavy_modules"] == []


def test_ingest_runs_every_30_minutes_one_run_at_a_time(dagbag: dict[str, Any]) -> None:
    ingest = dagbag["dags"]["newswatch_ingest"]
    assert ingest["schedule"] == "*/30 * * * *"
    assert ingest["catchup"] is False
    assert ingest["max_active_runs"] == 1
    assert ingest["tags"] == ["ingest", "newswatch"]
    assert ingest["owner"] == "newswatch"
    assert ingest["doc_md"]
    assert ingest["params"] == {"feeds": [], "reprocess_since": None}


MAPPED = {"poll_feeds", "fetch_pages", "extract", "classify"}
PLANS = {"plan_polls", "plan_fetch", "plan_extract", "plan_classify"}


def test_ingest_stages_are_chained_and_poll_fetch_extract_classify_are_mapped(
    dagbag: dict[str, Any],
) -> None:
    tasks = dagbag["dags"]["newswatch_ingest"]["tasks"]
    for task_id, upstream in INGEST_ORDER:
        assert tasks[task_id]["upstream"] == upstream, task_id
    assert {t for t, spec in tasks.items() if spec["mapped"]} == MAPPED
    # After a mapped task, the next stage runs whatever its instances did: an empty one is
    # skipped, and a failed batch must not hold back the others' articles.
    for task_id in ("plan_fetch", "plan_extract", "plan_classify", "index", "alerts"):
        assert tasks[task_id]["trigger_rule"] == "all_done", task_id
    # The summary runs whatever happened, after every stage.
    assert tasks["summary"]["trigger_rule"] == "all_done"
    assert set(tasks["summary"]["upstream"]) == set(tasks) - {"summary", *PLANS}


def test_both_dags_run_the_same_stage_tasks_after_fetch(dagbag: dict[str, Any]) -> None:
    ingest = dagbag["dags"]["newswatch_ingest"]["tasks"]
    backfill = dagbag["dags"]["newswatch_backfill"]["tasks"]
    shared = ("plan_extract", "extract", "plan_classify", "classify", "index", "alerts")
    for task_id in shared:
        assert backfill[task_id]["upstream"] == ingest[task_id]["upstream"], task_id
        assert backfill[task_id]["mapped"] == ingest[task_id]["mapped"], task_id
    # Backfill's rule after a mapped task: run unless something upstream failed.
    for task_id in ("plan_extract", "plan_classify", "index", "alerts"):
        assert backfill[task_id]["trigger_rule"] == "none_failed", task_id


def test_fetching_is_pooled_and_runs_time_out_and_notify(dagbag: dict[str, Any]) -> None:
    fetch = dagbag["dags"]["newswatch_ingest"]["tasks"]["fetch_pages"]
    assert fetch["pool"] == "newswatch_fetch"
    assert fetch["max_active_tis_per_dagrun"] == 4
    others = [
        t
        for t, spec in dagbag["dags"]["newswatch_ingest"]["tasks"].items()
        if spec["pool"] != "default_pool"
    ]
    assert others == ["fetch_pages"]
    timeouts = {dag_id: dag["dagrun_timeout"] for dag_id, dag in dagbag["dags"].items()}
    assert timeouts == {
        "newswatch_ingest": 120 * 60,
        "newswatch_maintenance": 480 * 60,
        "newswatch_backfill": 1440 * 60,
    }
    for dag in dagbag["dags"].values():
        assert dag["on_failure_callback"] == ["RunFailureNotifier"]


def test_only_publish_emits_the_articles_asset(dagbag: dict[str, Any]) -> None:
    tasks = dagbag["dags"]["newswatch_ingest"]["tasks"]
    outlets = {task_id: spec["outlets"] for task_id, spec in tasks.items() if spec["outlets"]}
    assert outlets == {"publish": ["x-newswatch://search-index/articles"]}


def test_every_task_retries_with_backoff_and_has_a_timeout(dagbag: dict[str, Any]) -> None:
    assert set(dagbag["dags"]) == {
        "newswatch_ingest",
        "newswatch_maintenance",
        "newswatch_backfill",
    }
    assert all(dag["tasks"] for dag in dagbag["dags"].values())  # the loop checks something
    for dag_id, dag in dagbag["dags"].items():
        timeout = 240 * 60 if dag_id == "newswatch_maintenance" else 30 * 60
        for task_id, spec in dag["tasks"].items():
            assert spec["retries"] == 3, (dag_id, task_id)
            assert spec["retry_exponential_backoff"] == 2.0, (dag_id, task_id)
            assert spec["execution_timeout"] == timeout, (dag_id, task_id)


def test_maintenance_rebuilds_only_on_request_and_after_retention(dagbag: dict[str, Any]) -> None:
    maintenance = dagbag["dags"]["newswatch_maintenance"]
    assert maintenance["params"] == {
        "failing_polls": 3,
        "setup_index": False,
        "rebuild_index": False,
    }
    assert maintenance["catchup"] is False
    tasks = maintenance["tasks"]
    assert set(tasks) == {"feed_health", "setup_index", "retention", "rebuild_index"}
    assert tasks["retention"]["upstream"] == ["setup_index"]
    assert tasks["retention"]["trigger_rule"] == "none_failed"  # runs when setup is skipped
    assert tasks["rebuild_index"]["upstream"] == ["retention"]
    assert tasks["rebuild_index"]["trigger_rule"] == "none_failed"  # runs when retention is off


def test_backfill_is_manual_mapped_per_site_and_chunk_and_yields_to_ingest(
    dagbag: dict[str, Any],
) -> None:
    backfill = dagbag["dags"]["newswatch_backfill"]
    assert backfill["timetable"] == "NullTimetable" and backfill["max_active_runs"] == 1
    assert backfill["params"] == {"sites": [], "since": "2020-07-21", "until": None, "budget": None}
    tasks = backfill["tasks"]
    assert {t for t, spec in tasks.items() if spec["mapped"]} == {
        "discover",
        "walk_sitemaps",
        "fetch_pages",
        "extract",
        "classify",
    }
    for task_id in ("discover", "walk_sitemaps", "fetch_pages"):
        assert tasks[task_id]["pool"] == "newswatch_backfill", task_id
    ingest = dagbag["dags"]["newswatch_ingest"]["tasks"]
    assert all(spec["priority_weight"] == 0 for spec in tasks.values())
    assert all(spec["priority_weight"] >= 1 for spec in ingest.values())
    assert tasks["summary"]["trigger_rule"] == "all_done"
