"""Migration 0002 on a store written by the previous schema (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, text

from pipeline.classify.stage import classify_pending
from pipeline.config import Settings
from pipeline.records import ArticleStatus, Relation
from pipeline.store import open_store
from pipeline.store.db import make_engine
from pipeline.store.migrate import current_revision, head_revision, upgrade
from tests.classify.test_relate import fixture

BEFORE = datetime(2019, 7, 1, 10, 0, tzinfo=UTC)


def test_upgrade_adds_embeddings_and_recomputes_old_relations(
    store_url: str, settings: Settings
) -> None:
    engine = make_engine(store_url)
    upgrade(engine, "0002_date_note")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO articles (id, canonical_url, url, status, title, text, "
                "published_at, discovered_at, updated_at, relation, cluster_id, classified_at, "
                "ignore_robots, threads, fetch_attempts, index_attempts, index_state) VALUES "
                "(:id, :u, :u, :s, :t, :x, :p, :p, :p, 'follow_up', :id, :p, false, '[]', 0, 0, "
                "'indexed')"
            ),
            {
                "id": "a" * 32,
                "u": "https://old.example/hk",
                "s": ArticleStatus.INDEXED.value,
                "t": "UK urges restraint in Hong Kong",
                "x": fixture("background_hk_2019"),
                "p": BEFORE,
            },
        )
    engine.dispose()

    store = open_store(store_url)  # migrates to head, as every command does
    try:
        assert current_revision(store.engine) == head_revision()
        assert "article_embeddings" in inspect(store.engine).get_table_names()
        with store.engine.connect() as conn:
            status = conn.execute(text("SELECT status FROM articles")).scalar_one()
        assert status == ArticleStatus.EXTRACTED.value
        counts = classify_pending(store.sessions, settings)
        assert counts["classified"] == 1 and counts["embedded"] == 1
        assert "new_clusters" not in counts  # it keeps its story cluster
        with store.engine.connect() as conn:
            relation, cluster = conn.execute(
                text("SELECT relation, cluster_id FROM articles")
            ).one()
        assert (relation, cluster) == (Relation.BACKGROUND.value, "a" * 32)
    finally:
        store.dispose()
