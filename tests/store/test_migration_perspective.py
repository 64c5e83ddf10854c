"""Migration 0005: articles.perspective added to a store that already holds articles."""

from __future__ import annotations

from sqlalchemy import inspect, text

from pipeline.store.db import make_engine
from pipeline.store.migrate import current_revision, head_revision, upgrade


def test_upgrade_from_0004_keeps_articles_and_adds_an_empty_perspective(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        upgrade(engine, "0005_ops")
        assert "perspective" not in {c["name"] for c in inspect(engine).get_columns("articles")}
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO articles (id, canonical_url, url, ignore_robots, status, "
                    "discovered_at, updated_at, fetch_attempts, index_attempts, threads) "
                    "VALUES ('a1', 'https://x.example/a', 'https://x.example/a', false, "
                    "'discovered', '2020-07-21 00:00:00', '2020-07-21 00:00:00', 0, 0, '[]')"
                )
            )
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, perspective FROM articles")).all()
        assert [tuple(r) for r in rows] == [("a1", None)]
    finally:
        engine.dispose()
