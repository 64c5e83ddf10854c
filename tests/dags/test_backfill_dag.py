"""The backfill DAG run for real with dag.test() against the sample newsroom's sitemaps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pipeline.demo.server import NewsroomServer
from pipeline.feeds.backfill_models import BackfillCandidate
from pipeline.store import open_store
from pipeline.store.models import Article
from tests.dags.conftest import needs_airflow, newswatch_env, run_harness

pytestmark = [pytest.mark.airflow, pytest.mark.slow, needs_airflow]


def test_backfill_dag_maps_sites_and_sitemap_chunks_and_a_second_run_adds_nothing(
    airflow_home: Path, newsroom: NewsroomServer, tmp_path: Path, store_url: str
) -> None:
    env = newswatch_env(tmp_path, store_url, {})
    env["NEWSWATCH_BACKFILL"] = json.dumps(
        {"per_host_delay_seconds": 0, "sitemaps_per_task": 3, "sites": []}
    )
    sites = list(newsroom.outlet_urls().values())[:3]
    conf = json.dumps({"sites": sites, "since": "2020-07-01", "until": "2021-12-31", "budget": 2})
    result = run_harness(
        airflow_home,
        ["run", "newswatch_backfill", "--conf", conf, "--conf", conf],
        env,
        timeout=900,
    )
    first, second = result["runs"]
    assert first["state"] == "success", first
    assert second["state"] == "success", second
    by_task: dict[str, list[str]] = {}
    for ti in first["task_instances"]:
        by_task.setdefault(ti["task_id"], []).append(ti["state"])
    assert len(by_task["discover"]) == 3  # one per site
    assert len(by_task["walk_sitemaps"]) >= 3  # sitemap chunks of three
    assert all(s == "success" for states in by_task.values() for s in states)

    summary = first["xcom"]["summary"]
    assert [site["site"] for site in summary["sites"]] == sites
    for site in summary["sites"]:
        assert site["seen"] >= site["in_range"] >= site["kept"] > 0
        assert site["fetched"] == site["queued"] <= 2
    store = open_store(store_url)
    try:
        with store.sessions() as session:
            backfilled = session.scalars(select(Article).where(Article.source == "backfill")).all()
            candidates = session.scalar(select(func.count()).select_from(BackfillCandidate))
        assert backfilled and all(a.status in ("indexed", "no_content") for a in backfilled)
    finally:
        store.dispose()
    # The second run resumes the same jobs: the budget allows two more per site, no repeats.
    again = second["xcom"]["summary"]
    assert [s["kept"] for s in again["sites"]] == [s["kept"] for s in summary["sites"]]
    assert len(backfilled) == sum(site["queued"] for site in again["sites"])
    assert all(
        s["queued"] > f["queued"] for s, f in zip(again["sites"], summary["sites"], strict=True)
    )
    assert candidates > 0
    assert second["xcom"]["summary"]["stages"]["walk"] == {}  # every sitemap already read
