"""A batch's same-event candidates from memory are those of the per-article query, on a
real store (SQLite, and PostgreSQL when reachable)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session

from pipeline.classify.embed import DIMENSIONS, MODEL_ID, vector_bytes
from pipeline.classify.event_candidates import (
    MAX_EVENT_CANDIDATES,
    EventPool,
    dated_candidates,
)
from pipeline.classify.models import ArticleEmbedding
from pipeline.config import Settings
from pipeline.records import ArticleStatus
from pipeline.store import Store
from pipeline.store.models import Article
from tests.classify.support import T0

W = T0 + timedelta(hours=1)  # the batch's first article's date
EDGE = timedelta(days=1, hours=12)  # how far its candidates may be dated (default tolerance)
# (published, discovered, status, clustered, Chinese) of the stored articles
ARTICLES = [
    (W - timedelta(hours=1), T0, ArticleStatus.CLASSIFIED, True, False),
    (W + timedelta(hours=2), T0, ArticleStatus.INDEXED, True, True),
    (W - EDGE, T0, ArticleStatus.CLASSIFIED, True, False),
    (W - EDGE - timedelta(microseconds=1), T0, ArticleStatus.INDEXED, True, False),
    (W + EDGE, T0, ArticleStatus.CLASSIFIED, True, False),
    (None, W + timedelta(hours=1), ArticleStatus.CLASSIFIED, True, True),
    (None, W + timedelta(days=4), ArticleStatus.CLASSIFIED, True, False),
    (W + timedelta(days=3, hours=23), T0, ArticleStatus.INDEXED, True, False),
    (W, T0, ArticleStatus.EXTRACTED, True, False),  # re-fetched: waits to be classified
    (W, T0, ArticleStatus.CLASSIFIED, False, False),  # no cluster
]
CLAIMED = [W, W + timedelta(days=4)]  # the batch's articles' dates


def fill(store: Store) -> list[str]:
    """The stored articles, then the batch's (extracted), each with a lead vector."""
    rng = np.random.default_rng(7)
    rows = [*ARTICLES, *((when, when, ArticleStatus.EXTRACTED, False, False) for when in CLAIMED)]
    ids = []
    with store.sessions() as session, session.begin():
        # Ids out of date order, so the order by id is not the order of insertion.
        for n, (published, discovered, status, clustered, chinese) in enumerate(rows):
            aid = f"{(n * 7) % 13:02d}-article"
            ids.append(aid)
            session.add(
                Article(
                    id=aid,
                    canonical_url=f"https://e.example/{aid}",
                    url=f"https://e.example/{aid}",
                    status=status,
                    title="英国批准收购" if chinese else "Ministers clear a takeover",
                    text=("中资企业" * 80) if chinese else "A takeover was cleared. " * 20,
                    published_at=published,
                    discovered_at=discovered,
                    cluster_id=f"c{n % 3}" if clustered else None,
                )
            )
            session.flush()
            vector = rng.standard_normal(DIMENSIONS).astype(np.float32)
            session.add(
                ArticleEmbedding(
                    article_id=aid, model=MODEL_ID, source_hash="-", vector=vector_bytes(vector)
                )
            )
    return ids


def assert_same(session: Session, pool: EventPool, aid: str, when: datetime, s: Settings) -> int:
    found, matrix = pool.candidates(aid, when)
    expected, expected_matrix = dated_candidates(session, aid, when, s.dedup)
    assert found == expected
    assert np.array_equal(matrix, expected_matrix)
    return len(found)


def classify(session: Session, pool: EventPool, aid: str) -> None:
    """Mark a batch article classified (into its own cluster) and tell the pool."""
    article = session.get_one(Article, aid)
    article.status, article.cluster_id = ArticleStatus.CLASSIFIED, aid
    vector = session.get_one(ArticleEmbedding, aid).vector
    pool.add(article, aid, np.frombuffer(vector, dtype="<f4"))


def test_the_pool_gives_what_the_query_gives(store: Store, settings: Settings) -> None:
    ids = fill(store)
    claimed = ids[len(ARTICLES) :]
    with store.sessions() as session, session.begin():
        pool = EventPool(session, CLAIMED, len(claimed), settings.dedup)
        sizes = [assert_same(session, pool, aid, CLAIMED[0], settings) for aid in ids]
        assert sizes == [4, 4, 4, 5, 4, 4, 5, 5, 5, 5, 5, 5]  # each leaves itself out
        assert assert_same(session, pool, claimed[1], CLAIMED[1], settings) == 2
        # The batch's first article is classified: the second sees it, as the query does
        # once autoflush has written it.
        classify(session, pool, claimed[0])
        assert assert_same(session, pool, claimed[1], CLAIMED[0], settings) == 6
        assert assert_same(session, pool, claimed[1], CLAIMED[1], settings) == 2
        classify(session, pool, claimed[1])
        assert assert_same(session, pool, ids[0], CLAIMED[1], settings) == 3
        # A date outside what the pool read is asked of the store.
        assert assert_same(session, pool, claimed[1], T0 + timedelta(days=30), settings) == 0


def test_dates_too_crowded_to_read_whole_are_asked_per_article(
    store: Store, settings: Settings
) -> None:
    ids = fill(store)
    with store.sessions() as session:
        # A batch this large could push any stretch past the per-article limit.
        pool = EventPool(session, CLAIMED, MAX_EVENT_CANDIDATES, settings.dedup)
        assert [assert_same(session, pool, aid, CLAIMED[0], settings) for aid in ids[:2]] == [4, 4]
