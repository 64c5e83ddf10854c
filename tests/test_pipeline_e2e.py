"""The whole pipeline over real HTTP against the sample newsroom, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pipeline.config import Settings
from pipeline.demo.hostile import HOSTILE_EXPECT
from pipeline.demo.server import NewsroomServer
from pipeline.extract.stage import extract_pending
from pipeline.feeds.stage import poll_feeds
from pipeline.fetch.stage import due_for_fetch, fetch_pending
from pipeline.index.base import SearchIndex
from pipeline.index.factory import open_index
from pipeline.records import ArticleStatus, utcnow
from pipeline.runs.record import RunSummary
from pipeline.runs.runner import run_pipeline
from pipeline.store import Store, open_store
from pipeline.store.models import Article, FeedEntryRow, Run
from pipeline.urls import article_id, canonical_url
from tests.conftest import make_test_settings

FINAL_STATUSES = {
    ArticleStatus.INDEXED.value,
    ArticleStatus.NO_CONTENT.value,
    ArticleStatus.FETCH_FAILED.value,
}


@pytest.fixture(scope="module")
def newsroom() -> Iterator[NewsroomServer]:
    with NewsroomServer(slow_seconds=2.0) as server:
        yield server


def newsroom_settings(tmp_path: Path, newsroom: NewsroomServer, **overrides: object) -> Settings:
    feeds = newsroom.feed_configs()
    return make_test_settings(tmp_path, feeds=feeds, **overrides)


def snapshot(store: Store) -> dict[str, tuple[str, str | None, str | None]]:
    with store.sessions() as session:
        return {
            a.id: (a.status, a.fetch_error, a.cluster_id) for a in session.scalars(select(Article))
        }


def status_of(store: Store, url: str) -> Article:
    with store.sessions() as session:
        article = session.get(Article, article_id(canonical_url(url)))
        assert article is not None, f"{url} was never discovered"
        return article


def test_every_article_ends_with_the_expected_status(
    tmp_path: Path, newsroom: NewsroomServer, store: Store
) -> None:
    settings = newsroom_settings(tmp_path, newsroom)
    backend = open_index(settings)
    backend.ensure_ready()
    summary = run_pipeline(store.sessions, settings, backend)

    assert_expected_outcome(store, newsroom, summary, backend)


def test_worker_processes_take_every_article_to_the_same_end(
    tmp_path: Path, newsroom: NewsroomServer, store: Store
) -> None:
    """run.workers = 2: fetch, extract and classify in two processes, as mapped tasks."""
    settings = newsroom_settings(tmp_path, newsroom, run={"workers": 2})
    backend = open_index(settings)
    backend.ensure_ready()
    summary = run_pipeline(store.sessions, settings, backend)

    assert_expected_outcome(store, newsroom, summary, backend)
    counts = summary.stage_counts  # the workers' counts are summed over their batches
    assert sum(counts["extract"].values()) == counts["fetch"]["fetched"]
    assert counts["classify"]["classified"] == counts["extract"]["extracted"]
    with store.sessions() as session:  # syndicated copies share their original's cluster
        clusters = Counter(
            session.scalars(select(Article.cluster_id).where(Article.cluster_id.is_not(None)))
        )
    assert max(clusters.values()) > 1


def test_worker_processes_finish_what_an_earlier_run_left_at_each_stage(
    tmp_path: Path, newsroom: NewsroomServer, store: Store
) -> None:
    """Articles left fetched or extracted by an earlier run join the workers' chains at
    the stage they wait for, and every article goes through each stage once."""
    settings = newsroom_settings(tmp_path, newsroom, run={"workers": 2})
    poll_feeds(store.sessions, settings)
    with store.sessions() as session:
        due = list(session.scalars(due_for_fetch(utcnow()).with_only_columns(Article.id)))
    fetch_pending(store.sessions, settings.fetch, article_ids=due[: len(due) // 2])
    extract_pending(store.sessions, settings.extract, article_ids=due[: len(due) // 4])
    waiting = count_by_status(store)
    assert waiting[ArticleStatus.FETCHED] and waiting[ArticleStatus.EXTRACTED]
    backend = open_index(settings)
    backend.ensure_ready()
    summary = run_pipeline(store.sessions, settings, backend)

    assert_expected_outcome(store, newsroom, summary, backend)
    counts = summary.stage_counts
    extracted_now = sum(counts["extract"].values())
    assert extracted_now == waiting[ArticleStatus.FETCHED] + counts["fetch"]["fetched"]
    assert counts["classify"]["classified"] == (
        waiting[ArticleStatus.EXTRACTED] + counts["extract"]["extracted"]
    )


def count_by_status(store: Store) -> Counter[str]:
    with store.sessions() as session:
        return Counter(session.scalars(select(Article.status)))


def assert_expected_outcome(
    store: Store, newsroom: NewsroomServer, summary: RunSummary, backend: SearchIndex
) -> None:
    assert summary.state == "succeeded"
    for spec in newsroom.manifest():
        if "malformed" in spec.feeds and len(spec.feeds) == 1:
            continue  # only listed in the malformed feed: may or may not be recoverable
        article = status_of(store, spec.url)
        expected = "no_content" if spec.kind == "stub" else "indexed"
        assert article.status == expected, (spec.slug, article.status, article.status_reason)
    for name, url in newsroom.hostile_urls().items():
        article = status_of(store, url)
        expected = HOSTILE_EXPECT[name]
        if expected in ("extracted", "no_content"):
            wanted = "indexed" if expected == "extracted" else "no_content"
            assert article.status == wanted, (name, article.status, article.status_reason)
        else:
            assert article.status == "fetch_failed", (name, article.status)
            assert article.fetch_error == expected, (
                name,
                article.fetch_error,
                article.status_reason,
            )
            assert article.status_reason  # a clear reason is recorded
    with store.sessions() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(FeedEntryRow)
                .where(FeedEntryRow.skipped_reason == "no_link")
            )
            >= 1
        )
    assert backend.count() == summary.status_counts["indexed"]


def test_tracking_variants_and_cross_listed_stories_are_one_article(
    tmp_path: Path, newsroom: NewsroomServer, store: Store
) -> None:
    settings = newsroom_settings(tmp_path, newsroom)
    run_pipeline(store.sessions, settings, open_index(settings))
    with store.sessions() as session:
        links = [e.link for e in session.scalars(select(FeedEntryRow)) if e.link]
        by_article = Counter(article_id(canonical_url(link)) for link in links)
        urls = list(session.scalars(select(Article.canonical_url)))
    assert any(count > 1 for count in by_article.values()), "fixture lists one story twice"
    assert len(urls) == len(set(urls)) == len(by_article)
    assert not any("utm_" in url or "fbclid" in url or "#" in url for url in urls)


def test_running_twice_changes_nothing(
    tmp_path: Path, newsroom: NewsroomServer, store: Store
) -> None:
    settings = newsroom_settings(tmp_path, newsroom, fetch={"max_attempts": 1})
    backend = open_index(settings)
    run_pipeline(store.sessions, settings, backend)
    first = snapshot(store)
    fetched_once = newsroom.requests_seen.counts()
    second = run_pipeline(store.sessions, settings, backend, feed_names=list(newsroom.feed_urls()))

    assert snapshot(store) == first
    assert second.stage_counts["poll"].get("articles_new", 0) == 0
    assert second.stage_counts["fetch"] == {}
    assert backend.count() == first_count_indexed(first)
    # no article page was downloaded again (only the feeds, and the feed host's robots.txt
    # that each poll consults, were requested again)
    refetched = newsroom.requests_seen.counts() - fetched_once
    assert all("/feeds/" in url or url.endswith("/robots.txt") for url in refetched), refetched


def first_count_indexed(snap: dict[str, tuple[str, str | None, str | None]]) -> int:
    return sum(1 for status, _, _ in snap.values() if status == "indexed")


def test_run_is_recorded_with_counts_and_errors(
    tmp_path: Path, newsroom: NewsroomServer, store: Store
) -> None:
    settings = newsroom_settings(tmp_path, newsroom)
    summary = run_pipeline(store.sessions, settings, open_index(settings))
    with store.sessions() as session:
        run = session.get_one(Run, summary.run_id)
    assert run.state == "succeeded" and run.finished_at is not None
    assert run.counts["articles_by_status"]["indexed"] >= 25
    errors = {e.get("error") for e in run.errors}
    assert {"redirect_loop", "blocked_address", "not_html", "too_large"} <= errors


KILLABLE_RUN = """
import sys
from pipeline.config import Settings
from pipeline.index.factory import open_index
from pipeline.runs.runner import run_pipeline
from pipeline.store import open_store
settings = Settings.model_validate_json(sys.argv[1])
store = open_store(settings.resolved_database_url)
run_pipeline(store.sessions, settings, open_index(settings))
"""


def test_a_killed_run_is_completed_by_the_next(tmp_path: Path, newsroom: NewsroomServer) -> None:
    # A per-host delay makes the run slow enough to kill part-way through fetching.
    settings = newsroom_settings(
        tmp_path, newsroom, fetch={"per_host_delay_seconds": 0.4, "max_attempts": 1}
    )
    store = open_store(settings.resolved_database_url)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    child = subprocess.Popen(
        [sys.executable, "-c", KILLABLE_RUN, settings.model_dump_json()], env=env
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            counts = Counter(status for status, _, _ in snapshot(store).values())
            if counts[ArticleStatus.FETCHED.value] + counts[ArticleStatus.FETCH_FAILED.value] >= 3:
                break
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    interrupted = Counter(status for status, _, _ in snapshot(store).values())
    assert interrupted[ArticleStatus.DISCOVERED.value] > 0, "the kill came too late to test resume"
    with store.sessions() as session:
        assert session.scalar(select(Run.state).order_by(Run.id.desc())) == "running"

    summary = run_pipeline(store.sessions, settings, open_index(settings))
    final = snapshot(store)
    assert summary.state == "succeeded"
    assert {status for status, _, _ in final.values()} <= FINAL_STATUSES
    assert len(final) == sum(interrupted.values())  # nothing added twice, nothing dropped
    assert open_index(settings).count() == first_count_indexed(final)
