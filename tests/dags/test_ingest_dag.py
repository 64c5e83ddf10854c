"""The ingest DAG run for real with dag.test() against the sample newsroom.

Each run happens in a child process (see conftest); the assertions read the store and
the search index that the run left behind.
"""

from __future__ import annotations

import json
import socket
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select

from pipeline.config import Settings
from pipeline.demo.content import load_feeds
from pipeline.demo.hostile import HOSTILE_EXPECT
from pipeline.demo.server import NewsroomServer
from pipeline.index.factory import open_index
from pipeline.records import ArticleStatus
from pipeline.store import open_store
from pipeline.store.models import Article, FeedEntryRow, Run
from pipeline.urls import article_id, canonical_url
from tests.alerts.test_alert_webhook import hook
from tests.dags.conftest import needs_airflow, newswatch_env, run_harness

pytestmark = [pytest.mark.airflow, pytest.mark.slow, needs_airflow]


def store_state(store_url: str) -> dict[str, Any]:
    store = open_store(store_url)
    try:
        with store.sessions() as session:
            articles = {a.id: a for a in session.scalars(select(Article))}
            return {
                "articles": {
                    i: (a.status, a.fetch_error, a.index_state, a.cluster_id)
                    for i, a in articles.items()
                },
                "pages_done": {
                    a.canonical_url
                    for a in articles.values()
                    if a.status in (ArticleStatus.INDEXED.value, ArticleStatus.NO_CONTENT.value)
                },
                "by_status": Counter(a.status for a in articles.values()),
                "entries": session.scalar(select(func.count()).select_from(FeedEntryRow)),
                "runs": [tuple(r) for r in session.execute(select(Run.trigger, Run.state))],
            }
    finally:
        store.dispose()


def indexed_count(tmp_path: Path) -> int:
    return open_index(Settings(data_dir=tmp_path / "data", feeds=[])).count()


def states(result: dict[str, Any]) -> dict[str, list[str]]:
    by_task: dict[str, list[str]] = {}
    for ti in result["task_instances"]:
        by_task.setdefault(ti["task_id"], []).append(ti["state"])
    return by_task


def expected_status(newsroom: NewsroomServer) -> dict[str, str]:
    """Article id -> the status the pipeline must reach (as in tests/test_pipeline_e2e.py)."""
    wanted = {}
    for spec in newsroom.manifest():
        if "malformed" in spec.feeds and len(spec.feeds) == 1:
            continue  # only listed in the malformed feed: may or may not be recoverable
        wanted[spec.url] = "no_content" if spec.kind == "stub" else "indexed"
    for name, url in newsroom.hostile_urls().items():
        outcome = HOSTILE_EXPECT[name]
        wanted[url] = {"extracted": "indexed"}.get(outcome, outcome)
    return {article_id(canonical_url(url)): status for url, status in wanted.items()}


def test_ingest_runs_end_to_end_and_a_second_run_adds_nothing(
    airflow_home: Path, newsroom: NewsroomServer, tmp_path: Path, store_url: str
) -> None:
    env = newswatch_env(tmp_path, store_url, newsroom.feed_urls())
    newsroom.requests_seen.clear()

    result = run_harness(
        airflow_home, ["run", "newswatch_ingest", "--conf", "{}", "--conf", "{}"], env
    )

    first, second = result["runs"]
    backend = store_url.split(":")[0]
    print(f"in-process ingest runs ({backend}): {first['seconds']} s, then {second['seconds']} s")
    assert first["state"] == "success", first
    assert second["state"] == "success", second
    tasks = states(first)
    assert len(tasks["poll_feeds"]) == -(-len(load_feeds()) // 2)  # two feeds per instance
    assert len(tasks["fetch_pages"]) >= 4  # eight articles per mapped instance
    # extract and classify are mapped the same way, each instance over its own batch
    assert len(tasks["extract"]) == len(first["xcom"]["plan_extract"]) >= 4
    assert len(tasks["classify"]) == len(first["xcom"]["plan_classify"]) >= 2
    planned = [i for batch in first["xcom"]["plan_classify"] for i in batch]
    assert len(planned) == len(set(planned))  # no article in two batches
    assert all(state == "success" for states_ in tasks.values() for state in states_)

    state = store_state(store_url)
    assert_final_statuses(state, newsroom)
    indexed = state["by_status"][ArticleStatus.INDEXED.value]
    assert indexed > 20
    assert indexed_count(tmp_path) == indexed
    assert state["runs"] == [("airflow", "succeeded"), ("airflow", "succeeded")]

    summary = first["xcom"]["summary"]
    assert summary["state"] == "succeeded"
    assert summary["stages"]["index"]["indexed"] == indexed
    assert summary["articles_by_status"] == dict(sorted(state["by_status"].items()))
    assert summary["errors_by_feed"]["regional-broken"] >= 1  # the malformed feed
    assert summary["errors_by_feed"]["uk-politics"] >= 3  # loop, 404, private address, robots
    assert tasks["publish"] == ["success"]

    # The second run found nothing new: same statuses, nothing indexed, no asset event.
    again = second["xcom"]["summary"]
    assert again["articles_by_status"] == summary["articles_by_status"]
    assert again["stages"]["poll"].get("articles_new", 0) == 0
    assert again["stages"]["index"] == {}
    assert states(second)["publish"] == ["skipped"]
    # Every page that reached its final state was downloaded once over both runs; only
    # transient failures are tried again.
    requests = newsroom.requests_seen.counts()
    assert state["pages_done"]
    for url in state["pages_done"]:
        assert requests[url] == 1, url


def assert_final_statuses(state: dict[str, Any], newsroom: NewsroomServer) -> None:
    """Every sample article reached the status (and fetch error) it must end in."""
    for article, wanted in expected_status(newsroom).items():
        status, fetch_error = state["articles"][article][:2]
        if wanted in ("indexed", "no_content"):
            assert status == wanted, (article, status)
        else:
            assert (status, fetch_error) == ("fetch_failed", wanted), (article, status)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_index_task_fails_while_the_backend_is_down_and_its_retry_loses_nothing(
    airflow_home: Path, newsroom: NewsroomServer, tmp_path: Path
) -> None:
    """The index points at an Elasticsearch that is not there (via the Airflow Connection);
    after the first failure the operator switches to the embedded index, and the retry
    indexes every classified article."""
    port = closed_port()
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    env = newswatch_env(tmp_path, store_url, newsroom.feed_urls())
    env["NEWSWATCH_INDEX__BACKEND"] = "elasticsearch"
    env["AIRFLOW_CONN_NEWSWATCH_ELASTICSEARCH"] = json.dumps(
        {"conn_type": "generic", "host": "127.0.0.1", "port": port, "schema": "http"}
    )

    result = run_harness(
        airflow_home,
        ["run", "newswatch_ingest", "--heal-on-retry", "index", "NEWSWATCH_INDEX__BACKEND=sqlite"],
        env,
    )

    (run,) = result["runs"]
    print(f"in-process ingest run with an index retry: {run['seconds']} s")
    assert run["state"] == "success", run
    index_ti = next(t for t in run["task_instances"] if t["task_id"] == "index")
    assert index_ti["try_number"] == 2
    assert len(result["retry_failures"]) == 1
    assert f"127.0.0.1:{port}" in result["retry_failures"][0]  # the Connection's host was used
    by_status = store_state(store_url)["by_status"]
    assert by_status[ArticleStatus.CLASSIFIED.value] == 0
    assert by_status[ArticleStatus.INDEXED.value] == indexed_count(tmp_path) > 20
    indexed = run["xcom"]["summary"]["stages"]["index"]["indexed"]
    assert indexed == by_status[ArticleStatus.INDEXED.value]


def test_a_failed_run_reports_its_summary_and_the_next_run_loses_nothing(
    airflow_home: Path, newsroom: NewsroomServer, tmp_path: Path
) -> None:
    """The search backend stays down for a whole run; once it is back, the next run
    indexes everything the failed run classified."""
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    env = newswatch_env(tmp_path, store_url, newsroom.feed_urls())
    env["NEWSWATCH_INDEX__BACKEND"] = "elasticsearch"
    env["NEWSWATCH_INDEX__ELASTICSEARCH__URL"] = f"http://127.0.0.1:{closed_port()}"
    back_up = {"_env": {"NEWSWATCH_INDEX__BACKEND": "sqlite"}}

    result = run_harness(
        airflow_home,
        ["run", "newswatch_ingest", "--conf", "{}", "--conf", json.dumps(back_up)],
        env,
    )

    failed, recovered = result["runs"]
    print(
        f"in-process ingest runs, failed then recovered: {failed['seconds']} s, "
        f"{recovered['seconds']} s"
    )
    assert failed["state"] == "failed"
    summary = failed["xcom"]["summary"]
    assert summary["state"] == "failed"
    assert summary["failed_tasks"] == ["index", "publish"]
    classified = summary["articles_by_status"]["classified"]
    assert classified > 20 and "indexed" not in summary["articles_by_status"]

    assert recovered["state"] == "success", recovered
    again = recovered["xcom"]["summary"]
    assert again["stages"]["index"]["indexed"] == classified
    assert again["articles_by_status"]["indexed"] == classified == indexed_count(tmp_path)
    assert store_state(store_url)["runs"] == [("airflow", "failed"), ("airflow", "succeeded")]


def test_a_failed_fetch_batch_fails_alone_the_rest_reaches_the_index_and_ops_are_told(
    airflow_home: Path, newsroom: NewsroomServer, tmp_path: Path, httpserver: HTTPServer
) -> None:
    """One mapped fetch instance fails (no retry) in the first run; the other batches'
    articles still go through extract, classify and index in that run, the run fails and
    the failure notice reaches a real webhook with the failed batch and a link to the run.
    Fetch planning is capped at 3 batches a run, so the rest waits and is counted. Later
    runs fetch the failed batch and the backlog: nothing is lost."""
    receiver = hook(httpserver, [200], path="/hooks/oncall")
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    env = newswatch_env(
        tmp_path,
        store_url,
        newsroom.feed_urls(),
        max_fetch_batches=3,
        failure_channels=["oncall"],
        ui_url="https://airflow.example.org",
    )
    env["NEWSWATCH_ALERTS"] = json.dumps(
        {"channels": {"oncall": {"type": "webhook", "url": httpserver.url_for("/hooks/oncall")}}}
    )

    result = run_harness(
        airflow_home,
        ["run", "newswatch_ingest", "--fail-mapped", "fetch_pages", "1"] + ["--conf", "{}"] * 4,
        env,
    )

    first, *later = result["runs"]
    assert first["state"] == "failed"
    fetch_states = [
        (t["map_index"], t["state"])
        for t in first["task_instances"]
        if t["task_id"] == "fetch_pages"
    ]
    assert fetch_states == [(0, "success"), (1, "failed"), (2, "success")]
    tasks = states(first)
    for stage in ("extract", "classify", "index", "alerts"):
        assert tasks[stage] and set(tasks[stage]) == {"success"}, (stage, tasks)
    summary = first["xcom"]["summary"]
    assert summary["failed_tasks"] == ["fetch_pages_1"]
    assert summary["stages"]["fetch"]["fetch_deferred"] > 0
    assert summary["stages"]["index"]["indexed"] > 0  # the other batches reached the index
    failed_batch = first["xcom"]["plan_fetch"][1]
    after_first = summary["articles_by_status"]
    assert after_first["discovered"] >= len(failed_batch)

    (notice,) = receiver.accepted()
    assert notice["event"] == "dag_run.failed"
    assert notice["failed_tasks"] == ["fetch_pages_1"]
    assert notice["run_id"] == first["run_id"]
    assert notice["url"].startswith("https://airflow.example.org/dags/newswatch_ingest/runs/")

    assert all(run["state"] == "success" for run in later), [r["state"] for r in later]
    state = store_state(store_url)
    for article in failed_batch:
        assert state["articles"][article][0] != "discovered", article
    assert_final_statuses(state, newsroom)
    assert later[-1]["xcom"]["summary"]["stages"]["fetch"].get("fetch_deferred", 0) == 0
    assert state["by_status"]["indexed"] == indexed_count(tmp_path)
