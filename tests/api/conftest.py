"""Fixtures of the search-service tests: the sample newsroom run through the real pipeline
(poll, fetch, extract, classify, index, alerts over loopback HTTP) on each search backend,
served by a real uvicorn server on 127.0.0.1.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select

from pipeline.api.app import create_app
from pipeline.classify.models import SeedRelation
from pipeline.config import Settings
from pipeline.demo.content import load_articles, load_outlets
from pipeline.demo.server import NewsroomServer
from pipeline.index.base import SearchIndex
from pipeline.index.elastic import ElasticIndex
from pipeline.index.sqlite_fts import SqliteFtsIndex
from pipeline.records import ArticleStatus
from pipeline.runs.runner import run_pipeline
from pipeline.store import Store, open_store
from pipeline.store.models import Article
from pipeline.urls import article_id, canonical_url
from tests.conftest import make_test_settings
from tests.index.conftest import OsmemProcess, PlainJsonNode, drop_indices, es_settings

# The newsroom's articles and their labels (kind: seed_copy, follow_up, ...), by slug.
SAMPLE = {s.slug: s for s in load_articles(load_outlets()).values() if s.kind != "stub"}
SEED_COPIES = {slug for slug, s in SAMPLE.items() if s.kind in ("seed_copy", "seed_edited")}
# The seed's story cluster: its copies plus reports of its event in another language, which
# the multilingual embeddings join to it (the newsroom labels those `relation: duplicate`).
SEED_STORY = SEED_COPIES | {
    slug for slug, s in SAMPLE.items() if s.kind == "other_language" and s.relation == "duplicate"
}
SLOW_SECONDS = 0.1  # the slow route answers in time: these tests are about search, not fetching


class ServerThread:
    """uvicorn serving an app on 127.0.0.1 (a free port) in a background thread."""

    def __init__(self, app: FastAPI) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> ServerThread:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("uvicorn stopped during startup")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


@dataclass
class Service:
    """A running search service, what it serves, and an HTTP client bound to it."""

    kind: str
    url: str
    settings: Settings
    store: Store
    backend: SearchIndex
    http: httpx.Client
    ids: dict[str, str] = field(default_factory=dict)  # sample slug -> article id

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def ids_of(self, slugs: Iterable[str]) -> set[str]:
        return {self.ids[slug] for slug in slugs}

    def follow_ups(self) -> set[str]:
        """The default seed's follow-ups as the store has them: the truth the API is checked
        against (how well the classifier finds them is tests/test_demo_seeds.py's business)."""
        return stored_follow_ups(self.store)

    def indexed(self) -> list[Article]:
        """The store's view of what is searchable: the truth the API is checked against."""
        with self.store.sessions() as session:
            stmt = select(Article).where(Article.status == ArticleStatus.INDEXED.value)
            return list(session.scalars(stmt))


def stored_follow_ups(store: Store, seed_id: str = "seed_article") -> set[str]:
    with store.sessions() as session:
        stmt = select(SeedRelation.article_id).where(
            SeedRelation.seed_id == seed_id, SeedRelation.relation == "follow_up"
        )
        return set(session.scalars(stmt))


@contextmanager
def running_service(
    kind: str,
    tmp_path: Path,
    *,
    es_url: str | None = None,
    filled: bool = True,
    store_url: str | None = None,
    **overrides: Any,
) -> Iterator[Service]:
    """A service on `kind` ('sqlite', or 'elasticsearch' at es_url), filled by a pipeline run
    over the sample newsroom unless told otherwise. `overrides` are settings (api={...})."""
    with ExitStack() as stack:
        feeds: list[dict[str, str]] = []
        if filled:
            newsroom = stack.enter_context(NewsroomServer(slow_seconds=SLOW_SECONDS))
            feeds = newsroom.feed_configs()
        settings = make_test_settings(tmp_path, feeds=feeds, index={"backend": kind}, **overrides)
        store = open_store(store_url or settings.resolved_database_url, migrate=store_url is None)
        stack.callback(store.dispose)
        backend: SearchIndex
        if kind == "sqlite":
            backend = SqliteFtsIndex(settings.data_dir / "search.db")
            backend.ensure_ready()  # an empty embedded index is still a ready one
        else:
            assert es_url is not None
            backend = ElasticIndex(es_settings(es_url), node_class=PlainJsonNode)
        ids: dict[str, str] = {}
        if filled:
            if isinstance(backend, ElasticIndex):
                backend.ensure_ready()
                stack.callback(drop_indices, backend)
            summary = run_pipeline(store.sessions, settings, backend)
            assert summary.state == "succeeded", summary.as_dict()
            if isinstance(backend, ElasticIndex):
                backend.refresh()
            ids = {a.slug: article_id(canonical_url(a.url)) for a in newsroom.manifest()}
        server = stack.enter_context(ServerThread(create_app(settings, store, backend)))
        http = stack.enter_context(httpx.Client(base_url=server.url, timeout=30))
        yield Service(kind, server.url, settings, store, backend, http, ids)


@pytest.fixture(scope="session")
def es_server() -> Iterator[OsmemProcess]:
    """An Elasticsearch-compatible server (osmem) for the whole session."""
    server = OsmemProcess()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["sqlite", "elasticsearch"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """The sample newsroom behind a live server, once per backend."""
    kind: str = request.param
    es_url = request.getfixturevalue("es_server").url if kind == "elasticsearch" else None
    with running_service(kind, tmp_path_factory.mktemp(f"api-{kind}"), es_url=es_url) as live:
        yield live
