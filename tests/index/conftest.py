"""Search-index fixtures: an osmem-server process, and the backends under the contract.

osmem-server is an in-memory server speaking the Elasticsearch/OpenSearch REST API
(pip package ``osmem-server``, binary bundled). Each test gets its own index prefix, so
tests share one server process; fault tests take ``fault_osmem``, a server of their own
that they may pause, stop and start again on the same port.

Set ``NEWSWATCH_TEST_ELASTICSEARCH_URL`` to also run every backend test against a real
Elasticsearch (see docs/elasticsearch.md).
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from elastic_transport import HttpHeaders, Urllib3HttpNode
from elastic_transport._node import NodeApiResponse  # not re-exported at the top level
from elastic_transport.client_utils import DEFAULT, DefaultType
from osmem_server import OsmemServer

from pipeline.config import ElasticsearchSettings
from pipeline.index.base import SearchIndex
from pipeline.index.elastic import ElasticIndex
from pipeline.index.sqlite_fts import SqliteFtsIndex
from pipeline.records import IndexDocument
from tests.index.newsroom import DOCS

REAL_ES_URL = os.environ.get("NEWSWATCH_TEST_ELASTICSEARCH_URL")
# optional credentials for the real cluster, named like the settings they fill
_REAL_ES_OPTIONS = {
    "api_key": "NEWSWATCH_TEST_ELASTICSEARCH_API_KEY",
    "username": "NEWSWATCH_TEST_ELASTICSEARCH_USERNAME",
    "password": "NEWSWATCH_TEST_ELASTICSEARCH_PASSWORD",
    "ca_certs": "NEWSWATCH_TEST_ELASTICSEARCH_CA_CERTS",
}


class PlainJsonNode(Urllib3HttpNode):
    """Test-only: osmem rejects the client's ``application/vnd.elasticsearch+json;
    compatible-with=N`` media types (406), so send the plain JSON / NDJSON ones instead.
    What the client would have sent is kept in `sent`, so tests can check the
    compatible-with header of each path (8 and 9)."""

    sent: ClassVar[list[str]] = []

    def perform_request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: HttpHeaders | None = None,
        request_timeout: DefaultType | float | None = DEFAULT,
    ) -> NodeApiResponse:
        if headers is not None:
            headers = headers.copy()
            for name in ("accept", "content-type"):
                value = headers.get(name)
                if value and "vnd.elasticsearch+" in value:
                    PlainJsonNode.sent.append(value)
                    ndjson = "x-ndjson" in value
                    headers[name] = "application/x-ndjson" if ndjson else "application/json"
        return super().perform_request(
            method, target, body=body, headers=headers, request_timeout=request_timeout
        )


class OsmemProcess:
    """One osmem-server process on a fixed 127.0.0.1 port, which can go away and come back."""

    def __init__(self) -> None:
        self._server: OsmemServer | None = OsmemServer.start(japanese=False, addr="127.0.0.1:0")
        self.url = self._server.url
        self._paused = False

    def stop(self) -> None:
        """End the process: connections are refused and the in-memory data is gone."""
        self.resume()
        if self._server is not None:
            self._server.close()
            self._server = None

    def start(self) -> None:
        """Start an empty server again on the same port."""
        if self._server is None:
            port = self.url.rsplit(":", 1)[1]
            self._server = OsmemServer.start(japanese=False, addr=f"127.0.0.1:{port}")

    def pause(self) -> None:
        """Freeze the process (SIGSTOP): connections hang until the client times out."""
        if self._server is not None and not self._paused:
            os.kill(self._server.pid, signal.SIGSTOP)
            self._paused = True

    def resume(self) -> None:
        if self._server is not None and self._paused:
            os.kill(self._server.pid, signal.SIGCONT)
            self._paused = False


@pytest.fixture(scope="session")
def osmem() -> Iterator[OsmemProcess]:
    server = OsmemProcess()
    yield server
    server.stop()


@pytest.fixture
def fault_osmem() -> Iterator[OsmemProcess]:
    """A server of the test's own, to stop or pause without disturbing other tests."""
    server = OsmemProcess()
    yield server
    server.stop()


def es_settings(url: str, **overrides: Any) -> ElasticsearchSettings:
    """Settings for a test cluster, with an index prefix no other test uses."""
    values: dict[str, Any] = {
        "url": url,
        "index_prefix": f"nwtest-{uuid.uuid4().hex[:10]}",
        "request_timeout_seconds": 10.0,
        "bulk_chunk_size": 50,
    }
    values.update(overrides)
    return ElasticsearchSettings(**values)


def real_es_settings(**overrides: Any) -> ElasticsearchSettings:
    assert REAL_ES_URL is not None
    options = {key: os.environ[env] for key, env in _REAL_ES_OPTIONS.items() if env in os.environ}
    return es_settings(REAL_ES_URL, **options, **overrides)


def drop_indices(index: ElasticIndex) -> None:
    """Remove what a test created: its versioned indices and its template."""
    client = index.client.options(ignore_status=404)
    # by name: Elasticsearch refuses wildcard deletes (action.destructive_requires_name)
    names = list(client.indices.get_alias(index=f"{index.read_alias}-v*"))
    if names:
        client.indices.delete(index=",".join(names))
    client.indices.delete_index_template(name=index.read_alias)


@dataclass
class Backend:
    """A backend under test, and how to make its recent writes searchable."""

    kind: str
    index: SearchIndex
    refresh: Callable[[], None]


# "elasticsearch-8": the client path for 8.x servers (compatible-with=8 media types).
BACKENDS = ["sqlite", "elasticsearch", "elasticsearch-8"] + (
    ["elasticsearch-real"] if REAL_ES_URL else []
)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    kind: str = request.param
    if kind == "sqlite":
        sqlite = SqliteFtsIndex(tmp_path / "search.db")
        sqlite.ensure_ready()
        yield Backend(kind, sqlite, lambda: None)
        return
    elastic = make_elastic(request, kind)
    elastic.ensure_ready()
    try:
        yield Backend(kind, elastic, elastic.refresh)
    finally:
        drop_indices(elastic)


def holding(backend: Backend, docs: list[IndexDocument]) -> Backend:
    """The backend with `docs` indexed (every one accepted) and searchable."""
    outcomes = backend.index.index(docs)
    assert all(o.ok for o in outcomes), outcomes
    backend.refresh()
    return backend


@pytest.fixture
def newsroom(backend: Backend) -> Backend:
    """A backend holding the shared corpus, `tests.index.newsroom.DOCS`."""
    return holding(backend, DOCS)


ES_KINDS = ["elasticsearch", "elasticsearch-8"] + (["elasticsearch-real"] if REAL_ES_URL else [])


@pytest.fixture(params=ES_KINDS)
def elastic(request: pytest.FixtureRequest) -> Iterator[ElasticIndex]:
    """An ElasticIndex, ready, on osmem (and on the real cluster when one is configured)."""
    index = make_elastic(request, request.param)
    index.ensure_ready()
    try:
        yield index
    finally:
        drop_indices(index)


def make_elastic(request: pytest.FixtureRequest, kind: str, **overrides: Any) -> ElasticIndex:
    if kind in ("elasticsearch", "elasticsearch-8"):
        server: OsmemProcess = request.getfixturevalue("osmem")
        if kind == "elasticsearch-8":
            overrides = {"server_major": 8, **overrides}
        return ElasticIndex(es_settings(server.url, **overrides), node_class=PlainJsonNode)
    return ElasticIndex(real_es_settings(**overrides))
