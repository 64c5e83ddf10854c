"""Fixtures of the search-service tests: the sample newsroom classified and indexed on each
backend, served by a real uvicorn server on 127.0.0.1.

The newsroom's articles go into a real store as extracted pages and then through the real
classify and index stages, so clusters, seed relations, threads and revisions are the
pipeline's own.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from pipeline.api.app import create_app
from pipeline.config import Settings
from pipeline.demo.content import ArticleSpec, load_articles, load_outlets
from pipeline.index.base import SearchIndex
from pipeline.index.elastic import ElasticIndex
from pipeline.index.sqlite_fts import SqliteFtsIndex
from pipeline.records import ArticleStatus, DateSource
from pipeline.stages.classify import classify_pending
from pipeline.stages.index import index_pending
from pipeline.store import Store, open_store
from pipeline.store.models import Article
from pipeline.urls import article_id, canonical_url
from tests.conftest import make_test_settings
from tests.index.conftest import OsmemProcess, PlainJsonNode, drop_indices, es_settings

SAMPLE = {s.slug: s for s in load_articles(load_outlets()).values() if s.kind != "stub"}


def sample_id(slug: str) -> str:
    """The article id a sample article gets in these tests."""
    return article_id(_sample_url(SAMPLE[slug]))


def _sample_url(spec: ArticleSpec) -> str:
    return canonical_url(f"https://{spec.outlet}.example{spec.path}")


def insert_sample_articles(store: Store) -> None:
    """The sample newsroom's readable articles, as the extract stage leaves them."""
    outlets = load_outlets()
    with store.sessions() as session, session.begin():
        for spec in SAMPLE.values():
            outlet = outlets[spec.outlet]
            url = _sample_url(spec)
            session.add(
                Article(
                    id=article_id(url),
                    canonical_url=url,
                    url=url,
                    status=ArticleStatus.EXTRACTED.value,
                    title=spec.title,
                    author=spec.author,
                    text=spec.text,
                    word_count=spec.word_count,
                    published_at=spec.published.astimezone(UTC),
                    date_source=DateSource.PAGE.value,
                    site_name=outlet.name,
                    domain=f"{outlet.key}.example",
                    language=outlet.lang.split("-")[0],
                )
            )


def populate(settings: Settings, store: Store, backend: SearchIndex) -> None:
    """Sample articles through the real classify and index stages."""
    insert_sample_articles(store)
    classify_pending(store.sessions, settings)
    counts = index_pending(store.sessions, backend, settings.index)
    assert counts["indexed"] == len(SAMPLE), counts
    if isinstance(backend, ElasticIndex):
        backend.refresh()


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

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)


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
    """A service on `kind` ('sqlite' or 'elasticsearch' at es_url), filled with the sample
    newsroom unless told otherwise. `overrides` are settings (e.g. api={...})."""
    settings = make_test_settings(tmp_path, index={"backend": kind}, **overrides)
    store = open_store(store_url or settings.resolved_database_url, migrate=store_url is None)
    backend: SearchIndex
    if kind == "sqlite":
        backend = SqliteFtsIndex(settings.data_dir / "search.db")
    else:
        assert es_url is not None
        backend = ElasticIndex(es_settings(es_url), node_class=PlainJsonNode)
    try:
        if filled or kind == "sqlite":  # an empty embedded index is still a ready one
            backend.ensure_ready()
        if filled:
            populate(settings, store, backend)
        app = create_app(settings, store, backend)
        with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
            yield Service(kind, server.url, settings, store, backend, http)
    finally:
        if filled and isinstance(backend, ElasticIndex):
            drop_indices(backend)
        store.dispose()


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
