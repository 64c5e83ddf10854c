"""Backfill over real HTTP against the sample newsroom's sitemaps, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from pipeline.alerts.models import Alert
from pipeline.config import Settings
from pipeline.demo.server import NewsroomServer
from pipeline.demo.sitemaps import ARCHIVE_INDEX, SHOWCASE, SHOWCASE_ROOT
from pipeline.feeds.backfill import discover, open_job, walk
from pipeline.feeds.backfill_models import BackfillCandidate, BackfillSitemap
from pipeline.feeds.backfill_queue import queue_pages
from pipeline.feeds.backfill_report import report
from pipeline.feeds.relevance import make_scorer
from pipeline.feeds.sitemap_dates import DateRange
from pipeline.index.factory import open_index
from pipeline.runs.backfill import run_backfill
from pipeline.store import Store, open_store
from pipeline.store.models import Article
from tests.conftest import make_test_settings

RANGE_2020 = DateRange.from_days(date(2020, 7, 1), date(2020, 12, 31))
ALL = DateRange.from_days(date(2020, 7, 1), date(2021, 12, 31))


@pytest.fixture(scope="module")
def newsroom() -> Iterator[NewsroomServer]:
    with NewsroomServer(slow_seconds=1.0) as server:
        yield server


def backfill_settings(tmp_path: Path, **backfill: Any) -> Settings:
    return make_test_settings(
        tmp_path, backfill={"per_host_delay_seconds": 0.0, "max_pages": 100, **backfill}
    )


def showcase(newsroom: NewsroomServer) -> str:
    return newsroom.outlet_urls()[SHOWCASE]


def slug_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".html")


def candidates(store: Store, job: str) -> dict[str, BackfillCandidate]:
    with store.sessions() as session:
        rows = session.scalars(select(BackfillCandidate).where(BackfillCandidate.job_id == job))
        return {slug_of(c.url): c for c in rows}


def walked(store: Store, settings: Settings, site: str, window: DateRange) -> str:
    job = open_job(store.sessions, site, window)
    discover(store.sessions, settings, job)
    walk(store.sessions, settings, job, make_scorer(settings))
    return job


def test_range_filtering_and_the_showcase_tree(
    tmp_path: Path, store: Store, newsroom: NewsroomServer
) -> None:
    settings = backfill_settings(tmp_path, min_score=0.0)
    base = showcase(newsroom)
    newsroom.requests_seen.clear()
    job = open_job(store.sessions, base, RANGE_2020)
    assert discover(store.sessions, settings, job)["root_sitemaps"] == 1
    counts = walk(store.sessions, settings, job, make_scorer(settings))
    assert counts["sitemaps_already_queued"] == 1  # the archive index's link back to the root
    assert counts["sitemaps_partly_read"] == 1  # the malformed month
    found = candidates(store, job)
    # In range, from a plain month, the gzipped month and the part-readable malformed month:
    assert {
        "pompeo-grand-strategy-china",
        "huawei-5g-removal-ordered",
        "eat-out-scheme-first-week",
        "huawei-installation-ban-september-2021",  # in the gzipped 2020-11 sitemap
        "ncsc-huawei-guidance-operators",  # before the break in the malformed 2020-12 sitemap
    } <= set(found)
    assert "beijing-sanctions-mps-xinjiang" not in found  # March 2021: after --until
    assert "hong-kong-district-council-elections" not in found  # 2019
    seen = newsroom.requests_seen.counts()
    # robots.txt names the root; its 2019 month is skipped unread; the loop is read once.
    assert seen[base + "/robots.txt"] == 2  # once by discover, once by walk (its own client)
    assert seen[base + "/sitemap.xml"] == 0
    assert seen[base + SHOWCASE_ROOT] == 1
    assert seen[base + ARCHIVE_INDEX] == 1
    assert seen[base + "/sitemaps/2019-11.xml"] == 0
    assert seen[base + "/sitemaps/2021-03.xml"] == 0  # named outside the range
    result = report(store.sessions, job)
    errors = {e["sitemap"].removeprefix(base): e["error"] for e in result.errors}
    assert "not well-formed" in errors["/sitemaps/2020-12.xml"]
    assert "outside the range" in errors["/sitemaps/2019-11.xml"]
    assert result.seen >= result.in_range >= result.kept == len(found) > 0
    with store.sessions() as session:
        rows = session.scalars(select(BackfillSitemap).where(BackfillSitemap.job_id == job))
        states = {row.url: (row.state, row.urls_seen) for row in rows}
    # Partly read is read: one entry before the break (the second is only in the news sitemap).
    assert states[base + "/sitemaps/2020-12.xml"] == ("done", 1)
    assert states[base + "/sitemaps/2020-11.xml.gz"] == ("done", 1)
    assert list(states).count(base + SHOWCASE_ROOT) == 1


def test_without_robots_sitemap_lines_falls_back_to_sitemap_xml(
    tmp_path: Path, store: Store, newsroom: NewsroomServer
) -> None:
    settings = backfill_settings(tmp_path, min_score=0.0)
    base = newsroom.outlet_urls()["harbour-post-asia"]
    newsroom.requests_seen.clear()
    job = walked(store, settings, base, ALL)
    assert newsroom.requests_seen.count(base + "/sitemap.xml") == 1
    found = candidates(store, job)
    assert "hong-kong-suspends-extradition-agreements" in found
    news = found["hong-kong-activists-arrested-security-law"]  # also in the news sitemap
    assert news.date_source in ("news", "url")


def test_prefilter_orders_fetches_and_keeps_budgets(
    tmp_path: Path, store: Store, newsroom: NewsroomServer
) -> None:
    settings = backfill_settings(tmp_path, daily_pages_per_site=3)
    base = showcase(newsroom)
    job = walked(store, settings, base, ALL)
    found = candidates(store, job)
    assert "christmas-market-returns" not in found and "eat-out-scheme-first-week" not in found
    ranked = sorted(found.values(), key=lambda c: -c.score)
    first = queue_pages(store.sessions, settings, job, max_pages=2)
    assert first["queued"] == 2
    queued = sorted(
        (c for c in candidates(store, job).values() if c.state == "queued"), key=lambda c: -c.score
    )
    assert [c.url for c in queued] == [c.url for c in ranked[:2]]
    # The daily budget (3) allows one more today, whatever --max-pages says.
    second = queue_pages(store.sessions, settings, job, max_pages=10)
    assert second["queued"] == 1 and second["daily_budget_reached"] == 1
    assert queue_pages(store.sessions, settings, job, max_pages=10)["queued"] == 0
    with store.sessions() as session:
        backfilled = session.scalars(select(Article).where(Article.source == "backfill")).all()
    assert len(backfilled) == 3
    assert all(a.alerts_muted and a.status == "discovered" for a in backfilled)


def test_full_run_is_idempotent_and_raises_no_alerts(
    tmp_path: Path, store: Store, newsroom: NewsroomServer
) -> None:
    settings = backfill_settings(tmp_path)
    sites = list(newsroom.outlet_urls().values())
    backend = open_index(settings)
    first = run_backfill(store.sessions, settings, backend, sites, ALL)
    assert first.run.state == "succeeded"
    fetched = sum(job.fetched for job in first.jobs)
    assert fetched == sum(job.queued for job in first.jobs) > 0
    assert first.run.stage_counts["alerts"].get("muted_backfill", 0) > 0
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0
        total = session.scalar(select(func.count()).select_from(Article))
        kept = session.scalar(select(func.count()).select_from(BackfillCandidate))
    second = run_backfill(store.sessions, settings, backend, sites, ALL)
    assert second.run.stage_counts["queue"].get("queued", 0) == 0
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Article)) == total
        assert session.scalar(select(func.count()).select_from(BackfillCandidate)) == kept
    assert [(j.seen, j.kept, j.fetched) for j in second.jobs] == [
        (j.seen, j.kept, j.fetched) for j in first.jobs
    ]


def test_alerts_fire_for_backfill_when_asked(
    tmp_path: Path, store: Store, newsroom: NewsroomServer
) -> None:
    settings = backfill_settings(tmp_path)
    summary = run_backfill(
        store.sessions, settings, open_index(settings), [showcase(newsroom)], ALL, alerts=True
    )
    assert summary.run.stage_counts["alerts"].get("alerts_raised", 0) > 0
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) > 0


def test_robots_disallowing_sitemaps_is_obeyed(tmp_path: Path, httpserver: Any) -> None:
    httpserver.clear_all_handlers()  # this test's robots.txt, not the package's permissive one
    httpserver.expect_request("/robots.txt").respond_with_data(
        "User-agent: *\nDisallow: /sitemaps/\nSitemap: " + httpserver.url_for("/sitemaps/index.xml")
    )
    settings = backfill_settings(tmp_path)
    store = open_store(settings.resolved_database_url)
    job = walked(store, settings, httpserver.url_for("/"), ALL)
    result = report(store.sessions, job)
    assert result.sitemaps == {"failed": 1}
    assert "robots_disallowed" in result.errors[0]["error"]
    assert all(req.path != "/sitemaps/index.xml" for req, _ in httpserver.log)


KILLABLE = """
import sys
from pipeline.config import Settings
from pipeline.feeds.backfill import discover, open_job, walk
from pipeline.feeds.relevance import make_scorer
from pipeline.feeds.sitemap_dates import DateRange
from pipeline.store import open_store
from datetime import date, datetime
settings = Settings.model_validate_json(sys.argv[1])
store = open_store(settings.resolved_database_url)
window = DateRange.from_days(date(2020, 7, 1), date(2021, 12, 31))
job = open_job(store.sessions, sys.argv[2], window)
discover(store.sessions, settings, job)
walk(store.sessions, settings, job, make_scorer(settings))
"""


def test_a_killed_walk_resumes_where_it_stopped(tmp_path: Path, newsroom: NewsroomServer) -> None:
    base = showcase(newsroom)
    reference = backfill_settings(tmp_path / "reference", min_score=0.0)
    ref_store = open_store(reference.resolved_database_url)
    expected = set(candidates(ref_store, walked(ref_store, reference, base, ALL)))

    # A per-host gap makes the walk slow enough to kill between sitemap files.
    settings = backfill_settings(tmp_path, min_score=0.0, per_host_delay_seconds=0.4)
    store = open_store(settings.resolved_database_url)
    job = open_job(store.sessions, base, ALL)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    child = subprocess.Popen(
        [sys.executable, "-c", KILLABLE, settings.model_dump_json(), base], env=env
    )
    try:
        deadline = time.monotonic() + 60
        while (
            time.monotonic() < deadline and report(store.sessions, job).sitemaps.get("done", 0) < 3
        ):
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    interrupted = report(store.sessions, job).sitemaps
    assert interrupted.get("pending", 0) > 0, "the kill came too late to test resume"
    done_before = interrupted["done"]

    newsroom.requests_seen.clear()
    walk(store.sessions, settings, job, make_scorer(settings))
    final = report(store.sessions, job)
    assert "pending" not in final.sitemaps
    assert set(candidates(store, job)) == expected  # nothing lost, nothing twice
    assert newsroom.requests_seen.count(base + SHOWCASE_ROOT) == 0  # read before the kill
    assert final.sitemaps["done"] > done_before


def test_demo_backfill_takes_the_follow_ups_back_before_the_feeds(
    tmp_path: Path, newsroom: NewsroomServer
) -> None:
    from pipeline.classify.seeds import load_seeds
    from pipeline.classify.threads import load_thread_book
    from pipeline.demo.command import demo_backfill, demo_settings
    from pipeline.runs.runner import run_pipeline
    from pipeline.search.reports import seed_followups

    settings = demo_settings(make_test_settings(tmp_path), newsroom)
    store = open_store(settings.resolved_database_url)
    backend = open_index(settings)
    run_pipeline(store.sessions, settings, backend)

    def earliest_followup() -> datetime:
        """The earliest story in the follow-ups view: its follow-ups and, since relations are
        time-aware, its "before the seed" section (the archive's July 2020 pieces land there)."""
        with store.sessions() as session:
            report_ = seed_followups(
                session, load_seeds(settings)[0], load_thread_book(settings.dedup.threads_file)
            )
        stories = [s for g in report_.threads for s in g.stories] + report_.background
        return min(s.first_seen_at for s in stories if s.first_seen_at)

    before = earliest_followup()
    summary = demo_backfill(store.sessions, settings, backend)
    assert summary.run.state == "succeeded"
    archive = {a.url for a in newsroom.archive_manifest()}
    with store.sessions() as session:
        backfilled = {
            a.canonical_url for a in session.scalars(select(Article)) if a.source == "backfill"
        }
    assert backfilled and backfilled <= archive  # feed articles were already known
    after = earliest_followup()
    assert after < before and (after.year, after.month) == (2020, 7)


def test_a_failed_sitemap_is_recorded_and_read_again_when_asked(
    tmp_path: Path, store: Store, newsroom: NewsroomServer
) -> None:
    settings = backfill_settings(tmp_path, min_score=0.0)
    base = newsroom.outlet_urls()["westminster-wire"]
    month = f"{base}/sitemaps/2020-07.xml"
    newsroom.fail_next(month, times=10, status=500)
    backend = open_index(settings)
    first = run_backfill(store.sessions, settings, backend, [base], ALL)
    errors = {e["sitemap"]: e["error"] for e in first.jobs[0].errors}
    assert errors[month].startswith("http_server_error") and first.jobs[0].sitemaps["failed"] == 1
    assert "uk-suspends-hong-kong-extradition-treaty" not in candidates(store, first.jobs[0].job)

    newsroom.fail_next(month, times=0)  # the outage is over
    again = run_backfill(store.sessions, settings, backend, [base], ALL)
    assert "uk-suspends-hong-kong-extradition-treaty" not in candidates(store, again.jobs[0].job)
    healed = run_backfill(store.sessions, settings, backend, [base], ALL, retry_failed=True)
    assert "failed" not in healed.jobs[0].sitemaps
    assert "uk-suspends-hong-kong-extradition-treaty" in candidates(store, healed.jobs[0].job)
