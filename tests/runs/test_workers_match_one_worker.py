"""`newswatch run` with two worker processes ends where one process does, on both stores."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from pipeline.classify.models import SeedRelation
from pipeline.demo.server import NewsroomServer
from pipeline.index.factory import open_index
from pipeline.runs.record import RunSummary
from pipeline.runs.runner import run_pipeline
from pipeline.store import Store, open_store
from pipeline.store.models import Article
from tests.conftest import make_test_settings, postgres_schema


@dataclass(frozen=True)
class ArticleOutcome:
    """Where one article ended, in terms that do not depend on processing order (a
    cluster's id is its first member's, so the cluster is given by its members)."""

    status: str
    fetch_error: str | None
    cluster_members: frozenset[str]
    relation: str | None
    seed_relations: frozenset[tuple[str, str]]


@pytest.fixture(scope="module")
def newsroom() -> Iterator[NewsroomServer]:
    with NewsroomServer(slow_seconds=2.0) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgres"])
def two_store_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty stores of one backend: one for each run being compared."""
    if request.param == "sqlite":
        yield (f"sqlite:///{tmp_path / 'one.db'}", f"sqlite:///{tmp_path / 'two.db'}")
        return
    base = str(request.getfixturevalue("postgres_base_url"))
    with postgres_schema(base) as one, postgres_schema(base) as two:
        yield one, two


def outcomes(store: Store) -> dict[str, ArticleOutcome]:
    with store.sessions() as session:
        articles = list(session.scalars(select(Article)))
        relations: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
        for row in session.scalars(select(SeedRelation)):
            relations[row.article_id].add((row.seed_id, row.relation))
    members: defaultdict[str, set[str]] = defaultdict(set)
    for article in articles:
        if article.cluster_id is not None:
            members[article.cluster_id].add(article.id)
    return {
        a.id: ArticleOutcome(
            status=a.status,
            fetch_error=a.fetch_error,
            cluster_members=frozenset(members[a.cluster_id] if a.cluster_id else ()),
            relation=a.relation,
            seed_relations=frozenset(relations[a.id]),
        )
        for a in articles
    }


def test_two_workers_end_where_one_does_and_a_rerun_changes_nothing(
    tmp_path: Path, newsroom: NewsroomServer, two_store_urls: tuple[str, str]
) -> None:
    summaries: dict[int, RunSummary] = {}
    ends: dict[int, dict[str, ArticleOutcome]] = {}
    index_counts: dict[int, int] = {}
    with ExitStack() as stack:
        stores: dict[int, Store] = {}
        for workers, url in zip((1, 2), two_store_urls, strict=True):
            settings = make_test_settings(
                tmp_path / f"workers-{workers}",
                feeds=newsroom.feed_configs(),
                database_url=url,
                run={"workers": workers},
                fetch={"max_attempts": 1},  # so a rerun has nothing left to retry
            )
            store = stores[workers] = open_store(url)
            stack.callback(store.dispose)
            index = open_index(settings)
            index.ensure_ready()
            summaries[workers] = run_pipeline(store.sessions, settings, index)
            ends[workers] = outcomes(store)
            index_counts[workers] = index.count()

        assert summaries[1].state == summaries[2].state == "succeeded"
        assert ends[2] == ends[1]
        assert index_counts[2] == index_counts[1] == summaries[1].status_counts["indexed"]
        clusters = {o.cluster_members for o in ends[2].values() if o.cluster_members}
        assert max(len(c) for c in clusters) > 1  # syndicated copies were clustered together
        assert {o.relation for o in ends[2].values()} - {None} > {"unrelated"}

        rerun = run_pipeline(stores[2].sessions, settings, index)
        assert rerun.state == "succeeded"
        assert rerun.stage_counts["poll"].get("articles_new", 0) == 0
        assert rerun.stage_counts["fetch"] == {}
        assert outcomes(stores[2]) == ends[2]
        assert index.count() == index_counts[2]
