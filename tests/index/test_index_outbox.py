"""The index outbox against a real Elasticsearch-speaking server (osmem) that goes away.

Nothing indexed is lost and nothing is indexed twice: articles the backend did not
confirm stay pending, and the next run sends them once the server is back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from pipeline.config import IndexSettings
from pipeline.index.base import IndexOutcome, SearchQuery
from pipeline.index.elastic import ElasticIndex
from pipeline.index.stage import index_pending
from pipeline.records import ArticleStatus, IndexDocument, IndexState
from pipeline.store import Article, Store
from pipeline.urls import article_id
from tests.index.conftest import OsmemProcess, PlainJsonNode, es_settings

OUTBOX = IndexSettings(batch_size=3, retry_backoff_seconds=0.0, max_attempts=8)
TOPICS = [
    "tram strike",
    "flood barrier",
    "school meals",
    "bus fares",
    "port cranes",
    "rail link",
    "bike lanes",
]


@pytest.fixture
def fault_osmem() -> Iterator[OsmemProcess]:
    """An osmem-server of the test's own, to freeze or stop."""
    server = OsmemProcess()
    yield server
    server.stop()


def add_classified(store: Store) -> list[str]:
    ids = []
    with store.sessions() as session, session.begin():
        for day, topic in enumerate(TOPICS):
            url = f"https://citydesk.example/{topic.replace(' ', '-')}"
            ids.append(article_id(url))
            session.add(
                Article(
                    id=ids[-1],
                    canonical_url=url,
                    url=url,
                    status=ArticleStatus.CLASSIFIED.value,
                    title=f"Council debates {topic}",
                    text=f"The council spent the evening on {topic} and agreed to meet again.",
                    published_at=datetime(2022, 5, 2, tzinfo=UTC) + timedelta(days=day),
                    date_source="page",
                    site_name="City Desk",
                    domain="citydesk.example",
                    language="en",
                    threads=[],
                    index_state=IndexState.PENDING.value,
                )
            )
    return ids


def states(store: Store) -> dict[str, tuple[str | None, str, int]]:
    with store.sessions() as session:
        return {
            a.id: (a.index_state, a.status, a.index_attempts)
            for a in session.scalars(select(Article))
        }


class FreezesAfterFirstBatch(ElasticIndex):
    """The real backend; its server freezes (SIGSTOP) once the first batch is in."""

    def __init__(self, index: ElasticIndex, server: OsmemProcess) -> None:
        super().__init__(index.settings, node_class=PlainJsonNode)
        self.server = server

    def index(self, docs: Sequence[IndexDocument]) -> list[IndexOutcome]:
        outcomes = super().index(docs)
        self.server.pause()
        return outcomes


def indexed_ids(index: ElasticIndex) -> list[str]:
    index.refresh()
    page = index.search(SearchQuery(collapse=False, limit=100))
    return [hit.article_id for hit in page.hits]


def test_a_server_frozen_mid_run_loses_and_repeats_nothing(
    store: Store, fault_osmem: OsmemProcess
) -> None:
    ids = add_classified(store)
    index = ElasticIndex(
        es_settings(fault_osmem.url, request_timeout_seconds=0.5), node_class=PlainJsonNode
    )
    index.ensure_ready()
    try:
        first = index_pending(store.sessions, FreezesAfterFirstBatch(index, fault_osmem), OUTBOX)
    finally:
        fault_osmem.resume()
    assert (first["indexed"], first["index_deferred"], first["backend_unavailable"]) == (3, 3, 1)
    after_first = states(store)
    indexed = {i for i, (state, _, _) in after_first.items() if state == IndexState.INDEXED}
    assert len(indexed) == 3
    assert all(
        state == IndexState.PENDING and status == ArticleStatus.CLASSIFIED
        for i, (state, status, _) in after_first.items()
        if i not in indexed
    )

    second = index_pending(store.sessions, index, OUTBOX)
    assert second["indexed"] == len(ids) - 3
    assert {state for state, _, _ in states(store).values()} == {IndexState.INDEXED.value}
    found = indexed_ids(index)
    assert sorted(found) == sorted(ids)  # every article once
    assert index.count() == len(ids)


def test_a_server_down_for_a_whole_run_gets_everything_next_run(
    store: Store, fault_osmem: OsmemProcess
) -> None:
    ids = add_classified(store)
    index = ElasticIndex(es_settings(fault_osmem.url), node_class=PlainJsonNode)
    fault_osmem.stop()
    first = index_pending(store.sessions, index, OUTBOX)
    assert (first["indexed"], first["backend_unavailable"]) == (0, 1)
    assert all(state == IndexState.PENDING for state, _, _ in states(store).values())

    fault_osmem.start()  # empty again; a run begins with ensure_ready, as the CLI does
    index.ensure_ready()
    second = index_pending(store.sessions, index, OUTBOX)
    assert second["indexed"] == len(ids)
    assert sorted(indexed_ids(index)) == sorted(ids)
    assert all(status == ArticleStatus.INDEXED for _, status, _ in states(store).values())
