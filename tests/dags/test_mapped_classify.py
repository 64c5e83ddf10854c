"""Mapped classify instances running at once keep every story in one cluster.

The ingest DAG plans the extracted articles in batches and classifies each batch in its
own task instance; Airflow runs as many at once as it has workers (and `newswatch run`
with run.workers > 1 does the same in a process pool). An original and its copy in two
batches classified at the same moment must still end in one cluster: the cluster step
is serialised by the store's dedup lock (an advisory lock on PostgreSQL, the write lock
taken early on SQLite). Two threads, each with its own connections, stand in for two
workers; each batch here holds one article, so originals and copies are always in
different instances.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from pipeline.classify.models import StoryCluster
from pipeline.classify.repository import lock_dedup
from pipeline.classify.stage import classify_pending
from pipeline.config import Settings
from pipeline.records import ArticleStatus
from pipeline.runs.plan import waiting_batches
from pipeline.store import Store
from pipeline.store.models import Article
from tests.classify.support import add_copy_pairs, count

PAIRS = 8


def test_batches_classified_at_once_put_each_original_and_its_copy_in_one_cluster(
    store: Store, settings: Settings
) -> None:
    pairs = add_copy_pairs(store, PAIRS, first_story=100)
    batches = waiting_batches(store.sessions, "classify", 1, max_batches=100)
    assert [b for b in batches] == [[i] for pair in pairs for i in pair]  # oldest first
    # Pairs of instances start together: each original with its own copy.
    start_together = threading.Barrier(2)

    def mapped_classify_task(article_ids: list[str]) -> dict[str, int]:
        start_together.wait()
        return dict(classify_pending(store.sessions, settings, article_ids=article_ids))

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(mapped_classify_task, batches))

    assert sum(o.get("classified", 0) for o in outcomes) == 2 * PAIRS
    assert sum(o.get("new_clusters", 0) for o in outcomes) == PAIRS
    with store.sessions() as session:
        clusters = dict(session.execute(select(Article.id, Article.cluster_id)).all())
        statuses = set(session.scalars(select(Article.status)))
    assert statuses == {ArticleStatus.CLASSIFIED.value}
    for original, copy in pairs:
        assert clusters[original] == clusters[copy]
        assert clusters[original] in (original, copy)  # whichever instance locked first
    assert count(store, StoryCluster) == PAIRS


def test_the_dedup_lock_waits_for_the_other_holder_to_commit(store: Store) -> None:
    """On both stores a second classify transaction cannot pass the lock (and so cannot
    read the clusters) until the first has committed what it assigned."""
    events: list[str] = []
    held = threading.Event()

    def second_instance() -> None:
        held.wait()
        with store.sessions() as session, session.begin():
            lock_dedup(session)
            events.append("second has the lock")

    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(second_instance)
        with store.sessions() as session, session.begin():
            lock_dedup(session)
            held.set()
            time.sleep(0.5)  # the second instance is waiting on the lock meanwhile
            events.append("first commits")
        waiting.result(timeout=30)
    assert events == ["first commits", "second has the lock"]
