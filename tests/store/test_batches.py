"""drain: batches claimed, processed and committed one at a time, on both stores."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from pipeline.records import ArticleStatus, utcnow
from pipeline.store import Article, Store, open_store
from pipeline.store.batches import StageCounts, drain
from pipeline.store.db import transaction


def add_articles(store: Store, count: int) -> list[str]:
    ids = [f"{n:032x}" for n in range(count)]
    start = utcnow()
    with transaction(store.sessions) as session:
        for n, article_id in enumerate(ids):
            url = f"https://outlet.example/{n}"
            session.add(
                Article(
                    id=article_id,
                    canonical_url=url,
                    url=url,
                    status=ArticleStatus.DISCOVERED,
                    discovered_at=start + timedelta(seconds=n),
                    threads=[],
                )
            )
    return ids


def discovered() -> Select[Article]:
    return (
        select(Article)
        .where(Article.status == ArticleStatus.DISCOVERED)
        .order_by(Article.discovered_at, Article.id)
    )


def statuses(store: Store) -> dict[str, ArticleStatus]:
    with store.sessions() as session:
        rows = session.execute(select(Article.id, Article.status))
        return {article_id: status for article_id, status in rows}


def test_drains_every_due_row_in_batches(store: Store) -> None:
    ids = add_articles(store, 7)
    batches: list[list[str]] = []

    def work(session: Session, articles: list[Article], counts: StageCounts) -> None:
        batches.append([a.id for a in articles])
        for article in articles:
            article.status = ArticleStatus.FETCHED
            counts["fetched"] += 1

    counts = drain(store.sessions, discovered, work, batch_size=3)

    assert batches == [ids[0:3], ids[3:6], ids[6:7]]
    assert counts == {"fetched": 7}
    assert set(statuses(store).values()) == {ArticleStatus.FETCHED}
    assert drain(store.sessions, discovered, work, batch_size=3) == {}  # nothing left: idempotent


def test_work_can_stop_after_its_batch_is_committed(store: Store) -> None:
    ids = add_articles(store, 5)

    def work(session: Session, articles: list[Article], counts: StageCounts) -> bool:
        for article in articles:
            article.status = ArticleStatus.FETCH_FAILED
        counts["deferred"] += len(articles)
        return True

    assert drain(store.sessions, discovered, work, batch_size=2) == {"deferred": 2}
    after = statuses(store)
    assert [after[i] for i in ids] == [ArticleStatus.FETCH_FAILED] * 2 + [
        ArticleStatus.DISCOVERED
    ] * 3


def test_a_failing_batch_is_rolled_back_and_earlier_batches_stay(store: Store) -> None:
    ids = add_articles(store, 4)
    calls = 0

    def work(session: Session, articles: list[Article], counts: StageCounts) -> None:
        nonlocal calls
        calls += 1
        for article in articles:
            article.status = ArticleStatus.FETCHED
        if calls == 2:
            raise RuntimeError("the process dies half-way")

    with pytest.raises(RuntimeError):
        drain(store.sessions, discovered, work, batch_size=2)
    after = statuses(store)
    assert [after[i] for i in ids] == [ArticleStatus.FETCHED] * 2 + [ArticleStatus.DISCOVERED] * 2


@pytest.mark.postgres
def test_concurrent_drains_never_take_the_same_row(postgres_store_url: str) -> None:
    stores = [open_store(postgres_store_url) for _ in range(2)]
    ids = add_articles(stores[0], 40)
    taken: list[list[str]] = [[], []]
    start_together = threading.Barrier(2)

    def worker(n: int) -> None:
        def work(session: Session, articles: list[Article], counts: StageCounts) -> None:
            taken[n].extend(a.id for a in articles)
            time.sleep(0.02)  # hold the rows locked while the other worker claims
            for article in articles:
                article.status = ArticleStatus.FETCHED

        start_together.wait()
        drain(stores[n].sessions, discovered, work, batch_size=3)

    try:
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert all(taken)  # both took part
        assert sorted(taken[0] + taken[1]) == ids  # every row once, none twice
    finally:
        for store in stores:
            store.dispose()
