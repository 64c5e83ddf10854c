"""The service's caches follow the index generation: an index run's articles show at the
next request, and while nothing is indexed the cached answers are not computed again.

Real stores (SQLite with FTS5; PostgreSQL with the Elasticsearch adapter on osmem), the
sample newsroom run through the real pipeline, a live uvicorn server, caching for an hour.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from pipeline.index.stage import index_pending
from pipeline.records import IndexState
from pipeline.store import open_store
from pipeline.store.models import Article
from tests.api.conftest import Service, running_service
from tests.conftest import postgres_schema, postgres_url


@pytest.fixture(params=["sqlite", "elasticsearch"])
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Service]:
    """The newsroom served with an hour's caching: FTS5 over a SQLite store, or the
    Elasticsearch adapter over a PostgreSQL store."""
    kind: str = request.param
    with ExitStack() as stack:
        store_url = es_url = None
        if kind == "elasticsearch":
            base = postgres_url()
            if base is None:
                pytest.skip("PostgreSQL is not reachable")
            es_url = request.getfixturevalue("es_server").url
            store_url = stack.enter_context(postgres_schema(base))
            open_store(store_url).dispose()  # migrated: running_service opens it as it is
        yield stack.enter_context(
            running_service(
                kind, tmp_path, es_url=es_url, store_url=store_url, api={"cache_seconds": 3600}
            )
        )


def _get(live: Service, path: str, **params: Any) -> Any:
    response = live.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _articles_by_thread(live: Service) -> dict[str, int]:
    return {t["name"]: t["articles"] for t in _get(live, "/api/threads")}


def _timeline_articles(live: Service, thread: str) -> int:
    buckets = _get(live, "/api/timeline", thread=thread)["buckets"]
    return sum(int(b["articles"]) for b in buckets)


def test_an_index_run_shows_at_the_next_request_and_nothing_else_recomputes(
    live: Service,
) -> None:
    counts = _articles_by_thread(live)
    thread = min(counts, key=lambda name: counts[name])  # a thread most articles lack
    hits = _get(live, "/api/search", thread=thread, collapse="false", limit=100)
    timeline = _timeline_articles(live, thread)
    assert hits["total"] == counts[thread] == timeline
    with live.store.sessions() as session:
        untagged = session.scalars(
            select(Article).where(Article.status == "indexed").order_by(Article.id)
        ).all()
        chosen = next(a for a in untagged if thread not in a.threads)
        chosen_id, tagged = chosen.id, [*chosen.threads, thread]

    # The store changes, but no run indexes anything: every answer comes from the cache.
    with live.store.sessions.begin() as session:
        session.execute(update(Article).where(Article.id == chosen_id).values(threads=tagged))
    assert _articles_by_thread(live) == counts
    assert _get(live, "/api/search", thread=thread, collapse="false", limit=100) == hits
    assert _timeline_articles(live, thread) == timeline

    # An index run sends the retagged article: the very next requests show it.
    with live.store.sessions.begin() as session:
        session.execute(
            update(Article)
            .where(Article.id == chosen_id)
            .values(index_state=IndexState.PENDING, index_next_attempt_at=None)
        )
    indexed = index_pending(live.store.sessions, live.backend, live.settings.index)
    assert indexed["indexed"] == 1  # no explicit refresh: the backend's write is searchable
    assert _articles_by_thread(live) == {**counts, thread: counts[thread] + 1}
    after = _get(live, "/api/search", thread=thread, collapse="false", limit=100)
    assert after["total"] == counts[thread] + 1
    assert chosen_id in {hit["article_id"] for hit in after["hits"]}
    assert _timeline_articles(live, thread) == timeline + 1
