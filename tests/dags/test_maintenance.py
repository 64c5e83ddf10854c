"""Maintenance: the index rebuild and the retention stage over real stores and the embedded
index, and the maintenance DAG run for real with dag.test()."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from pipeline.classify.models import StoryCluster
from pipeline.classify.stage import refresh_cluster
from pipeline.index.base import BackendUnavailable, SearchQuery
from pipeline.index.sqlite_fts import SqliteFtsIndex
from pipeline.index.stage import rebuild_index
from pipeline.records import IndexDocument, IndexState
from pipeline.store import Store, open_store
from pipeline.store.db import transaction
from pipeline.store.models import Article, Feed, FeedEntryRow, Page
from pipeline.store.retention import delete_expired
from tests.dags.conftest import needs_airflow, run_harness

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
WORDS = "huawei broadband rollout ministers security review"


def article(
    n: int, *, status: str = "indexed", cluster: str | None = None, **fields: Any
) -> Article:
    values: dict[str, Any] = {
        "id": f"{n:032x}",
        "canonical_url": f"http://127.0.0.2/story-{n}.html",
        "url": f"http://127.0.0.2/story-{n}.html",
        "feed_name": "wire",
        "status": status,
        "discovered_at": NOW - timedelta(days=1),
        "published_at": NOW - timedelta(days=1),
        "title": f"Story {n}",
        "text": f"{WORDS} story number {n}",
        "domain": "127.0.0.2",
        "site_name": "Wire",
        "threads": [],
        "cluster_id": cluster,
        "classified_at": NOW - timedelta(days=1) if status in ("classified", "indexed") else None,
        "index_state": {"indexed": "indexed", "classified": "pending"}.get(status),
        **fields,
    }
    return Article(**values)


def fill(store: Store, articles: Iterable[Article]) -> None:
    with transaction(store.sessions) as session:
        session.add(Feed(name="wire", url="http://127.0.0.1:9/wire.xml"))
        rows = list(articles)
        session.add_all(rows)
        session.flush()
        for row in rows:
            session.add(Page(article_id=row.id, html="<p>x</p>", fetched_at=NOW))
            session.add(
                FeedEntryRow(feed_name="wire", entry_key=row.url, link=row.url, article_id=row.id)
            )
        for cluster_id in {r.cluster_id for r in rows if r.cluster_id}:
            refresh_cluster(session, cluster_id)


def statuses(store: Store) -> dict[int, tuple[str, str | None]]:
    with store.sessions() as session:
        return {int(a.id, 16): (a.status, a.index_state) for a in session.scalars(select(Article))}


@pytest.fixture
def index(tmp_path: Path) -> SqliteFtsIndex:
    backend = SqliteFtsIndex(tmp_path / "search.db")
    backend.ensure_ready()
    return backend


def stale_document(n: int) -> IndexDocument:
    return IndexDocument(
        article_id=f"{n:032x}",
        canonical_url=f"http://127.0.0.9/{n}",
        title="gone",
        text=WORDS,
        published_at=None,
        date_source="none",
        indexed_at=NOW,
        outlet="x",
        domain="127.0.0.9",
        language=None,
    )


def test_rebuild_indexes_every_classified_article_and_drops_what_the_store_lacks(
    store: Store, index: SqliteFtsIndex
) -> None:
    fill(
        store,
        [
            article(1),
            article(2),
            article(3, status="classified"),
            article(4, status="classified", index_state="failed", index_error="rejected"),
            article(5, status="extracted", text="not yet classified"),
        ],
    )
    index.index([stale_document(99)])

    counts = rebuild_index(store.sessions, index)

    assert counts == {"documents": 4, "indexed": 4, "marked_indexed": 4}
    assert index.count() == 4
    hits = index.search(SearchQuery(text="huawei", collapse=False, limit=10)).hits
    assert sorted(int(h.article_id, 16) for h in hits) == [1, 2, 3, 4]
    assert statuses(store) == {
        1: ("indexed", "indexed"),
        2: ("indexed", "indexed"),
        3: ("indexed", "indexed"),
        4: ("indexed", "indexed"),
        5: ("extracted", None),
    }


class ReclassifiedDuringRebuild(SqliteFtsIndex):
    """The real index, while a classify run re-classifies article 2 mid-rebuild."""

    def __init__(self, path: Path, store: Store) -> None:
        super().__init__(path)
        self.store = store

    def rebuild(self, docs: Iterable[IndexDocument]) -> int:
        built = super().rebuild(docs)
        with transaction(self.store.sessions) as session:
            changed = session.get_one(Article, f"{2:032x}")
            changed.status, changed.index_state = "classified", IndexState.PENDING.value
            changed.classified_at = datetime.now(UTC)
        return built


def test_an_article_reclassified_during_the_rebuild_stays_in_the_outbox(
    store: Store, tmp_path: Path
) -> None:
    fill(store, [article(1), article(2)])
    backend = ReclassifiedDuringRebuild(tmp_path / "search.db", store)
    backend.ensure_ready()

    counts = rebuild_index(store.sessions, backend)

    assert counts["marked_indexed"] == 1
    assert statuses(store) == {1: ("indexed", "indexed"), 2: ("classified", "pending")}


class RejectsOne(SqliteFtsIndex):
    """The real index, as a cluster that rejects one document of the rebuild."""

    def rebuild(self, docs: Iterable[IndexDocument]) -> int:
        return super().rebuild(d for d in docs if d.article_id != f"{3:032x}")


def test_when_the_backend_rejects_documents_every_article_goes_back_to_the_outbox(
    store: Store, tmp_path: Path
) -> None:
    fill(store, [article(1), article(2), article(3)])
    backend = RejectsOne(tmp_path / "search.db")
    backend.ensure_ready()

    counts = rebuild_index(store.sessions, backend)

    assert counts == {"documents": 3, "indexed": 2, "requeued": 3}
    assert {state for _, state in statuses(store).values()} == {"pending"}


def old(n: int, days: int, **fields: Any) -> Article:
    return article(
        n,
        published_at=NOW - timedelta(days=days),
        discovered_at=NOW - timedelta(days=1),
        **fields,
    )


def test_retention_deletes_old_articles_from_index_and_store_and_tidies_clusters(
    store: Store, index: SqliteFtsIndex
) -> None:
    fill(
        store,
        [
            old(1, 400, cluster=f"{1:032x}"),  # a story whose every copy is old
            old(2, 390, cluster=f"{1:032x}"),
            old(3, 400, cluster=f"{3:032x}"),  # an old story with a recent copy
            old(4, 10, cluster=f"{3:032x}"),
            article(5, published_at=None, discovered_at=NOW - timedelta(days=500)),
            article(6, published_at=None, discovered_at=NOW - timedelta(days=5)),
            old(7, 200),
        ],
    )
    rebuild_index(store.sessions, index)

    counts = delete_expired(store.sessions, index, keep_days=365, now=NOW, batch_size=2)

    assert counts == {
        "articles_deleted": 4,
        "index_deleted": 4,
        "clusters_deleted": 1,
        "clusters_updated": 1,
    }
    assert sorted(statuses(store)) == [4, 6, 7]
    hits = index.search(SearchQuery(text="huawei", collapse=False, limit=10)).hits
    assert sorted(int(h.article_id, 16) for h in hits) == [4, 6, 7]
    with store.sessions() as session:
        clusters = {c.id: c for c in session.scalars(select(StoryCluster))}
        assert set(clusters) == {f"{3:032x}"}
        assert clusters[f"{3:032x}"].size == 1
        assert clusters[f"{3:032x}"].representative_article_id == f"{4:032x}"
        assert session.scalar(select(func.count()).select_from(Page)) == 3
        # Feed entries stay, so a feed still listing an expired story does not revive it.
        entries = session.scalars(select(FeedEntryRow.article_id)).all()
        assert len(entries) == 7 and entries.count(None) == 4

    assert delete_expired(store.sessions, index, keep_days=365, now=NOW) == {}


def test_retention_deletes_nothing_while_the_index_is_unreachable(
    store: Store, tmp_path: Path
) -> None:
    fill(store, [old(1, 400), old(2, 10)])
    blocker = tmp_path / "search.db"
    blocker.mkdir()  # a directory where the index file should be: SQLite cannot open it
    unreachable = SqliteFtsIndex(blocker)

    with pytest.raises(BackendUnavailable):
        delete_expired(store.sessions, unreachable, keep_days=365, now=NOW)

    assert sorted(statuses(store)) == [1, 2]


def task_states(run: dict[str, Any]) -> dict[str, str]:
    return {t["task_id"]: t["state"] for t in run["task_instances"]}


@pytest.mark.airflow
@pytest.mark.slow
@needs_airflow
def test_the_maintenance_dag_reports_failing_feeds_and_retains_and_rebuilds_when_asked(
    airflow_home: Path, tmp_path: Path
) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(store_url)
    now = datetime.now(UTC)
    fill(
        store,
        [
            article(1, published_at=now - timedelta(days=40)),
            article(2, published_at=now - timedelta(days=2)),
            article(3, status="classified", published_at=now - timedelta(days=2)),
        ],
    )
    with transaction(store.sessions) as session:
        session.get_one(Feed, "wire").consecutive_failures = 4
        session.get_one(Feed, "wire").last_error = "HTTP 503"
        session.add(Feed(name="healthy", url="http://127.0.0.1:9/ok.xml", consecutive_failures=1))
    store.dispose()
    env = {
        "NEWSWATCH_DATA_DIR": str(tmp_path / "data"),
        "NEWSWATCH_DATABASE_URL": store_url,
        "NEWSWATCH_FEEDS": "[]",
        "NEWSWATCH_RETENTION__KEEP_DAYS": "30",
    }
    # A scheduled run with retention off (the default), then one triggered by an operator
    # with retention on, asking for the index set-up, a rebuild and a stricter failing-feed
    # threshold.
    scheduled = {"_env": {"NEWSWATCH_RETENTION__ENABLED": "false"}}
    by_hand = {
        "setup_index": True,
        "rebuild_index": True,
        "failing_polls": 5,
        "_env": {"NEWSWATCH_RETENTION__ENABLED": "true"},
    }

    result = run_harness(
        airflow_home,
        [
            "run",
            "newswatch_maintenance",
            "--conf",
            json.dumps(scheduled),
            "--conf",
            json.dumps(by_hand),
        ],
        env,
    )

    first, second = result["runs"]
    print(f"maintenance runs: {first['seconds']} s, {second['seconds']} s")
    assert first["state"] == second["state"] == "success", result
    assert task_states(first) == {
        "feed_health": "success",
        "setup_index": "skipped",
        "retention": "skipped",
        "rebuild_index": "skipped",
    }
    health = first["xcom"]["feed_health"]
    assert health["failing_polls"] == 3
    assert [(f["feed"], f["consecutive_failures"], f["last_error"]) for f in health["feeds"]] == [
        ("wire", 4, "HTTP 503")
    ]
    assert task_states(second) == dict.fromkeys(
        ("feed_health", "setup_index", "retention", "rebuild_index"), "success"
    )
    assert second["xcom"]["feed_health"] == {"failing_polls": 5, "feeds": []}
    assert second["xcom"]["retention"]["articles_deleted"] == 1
    assert second["xcom"]["rebuild_index"] == {"documents": 2, "indexed": 2, "marked_indexed": 2}
    reopened = open_store(store_url)
    try:
        assert statuses(reopened) == {2: ("indexed", "indexed"), 3: ("indexed", "indexed")}
    finally:
        reopened.dispose()
    assert SqliteFtsIndex(tmp_path / "data" / "search.db").count() == 2
