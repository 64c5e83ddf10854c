"""Mapped fetch tasks running at once on PostgreSQL never take the same article.

Airflow may run two fetch batches with overlapping ids at the same time (a cleared
task re-run while the original still runs, or two workers picking up retries); the
stage claims rows with FOR UPDATE SKIP LOCKED, so each page is downloaded once. The
newsroom's request log is the witness.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from pipeline.demo.server import NewsroomServer
from pipeline.feeds.stage import poll_feeds
from pipeline.fetch.stage import fetch_pending
from pipeline.records import ArticleStatus
from pipeline.store import open_store
from pipeline.store.models import Article
from pipeline.urls import article_id, canonical_url
from tests.conftest import make_test_settings

pytestmark = pytest.mark.postgres


def test_overlapping_fetch_batches_run_at_once_fetch_every_page_exactly_once(
    postgres_store_url: str, newsroom: NewsroomServer, tmp_path: Path
) -> None:
    feeds = [{"name": name, "url": url} for name, url in newsroom.feed_urls().items()]
    settings = make_test_settings(tmp_path, feeds=feeds)
    store = open_store(postgres_store_url)
    try:
        poll_feeds(store.sessions, settings)
        # The outlets' ordinary pages: one request each when fetched once (the hostile
        # routes are left out because transient errors are retried within a fetch).
        pages = {article_id(canonical_url(spec.url)): spec.url for spec in newsroom.manifest()}
        with store.sessions() as session:
            ids = sorted(
                session.scalars(
                    select(Article.id).where(
                        Article.id.in_(pages), Article.status == ArticleStatus.DISCOVERED.value
                    )
                )
            )
        assert len(ids) > 20
        third = len(ids) // 3
        batches = [ids[: 2 * third], ids[third:]]  # the middle third is in both
        start_together = threading.Barrier(len(batches))
        newsroom.requests_seen.clear()

        def mapped_fetch_task(batch: list[str]) -> Counter[str]:
            start_together.wait()
            # Generous timeouts: a read timeout on a loaded machine would be retried, and
            # the retry's second request would look like a page fetched twice.
            small_batches = settings.fetch.model_copy(
                update={
                    "batch_size": 3,
                    "read_timeout_seconds": 30.0,
                    "total_timeout_seconds": 60.0,
                }
            )
            return fetch_pending(store.sessions, small_batches, article_ids=batch)

        with ThreadPoolExecutor(len(batches)) as pool:
            outcomes = list(pool.map(mapped_fetch_task, batches))

        requests = newsroom.requests_seen.counts()
        assert {pages[i]: requests[pages[i]] for i in ids} == {pages[i]: 1 for i in ids}
        assert sum(sum(c.values()) for c in outcomes) == len(ids)
        with store.sessions() as session:
            fetched = session.scalars(select(Article.status).where(Article.id.in_(ids))).all()
        assert set(fetched) == {ArticleStatus.FETCHED.value}
    finally:
        store.dispose()
