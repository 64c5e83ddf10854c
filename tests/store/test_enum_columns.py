"""Status columns are enums in Python and plain text in the store (no migration needed)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from pipeline.records import ArticleStatus, IndexState, utcnow
from pipeline.store import Article, Store
from pipeline.store.db import transaction


def add(store: Store, status: object) -> None:
    with transaction(store.sessions) as session:
        session.add(
            Article(
                id="a" * 32,
                canonical_url="https://outlet.example/a",
                url="https://outlet.example/a",
                status=status,
                discovered_at=utcnow(),
                threads=[],
            )
        )


def test_statuses_read_back_as_enums_and_are_stored_as_their_value(store: Store) -> None:
    add(store, ArticleStatus.CLASSIFIED)
    with transaction(store.sessions) as session:
        session.get_one(Article, "a" * 32).index_state = IndexState.PENDING
    with store.sessions() as session:
        article = session.get_one(Article, "a" * 32)
        assert article.status is ArticleStatus.CLASSIFIED
        assert article.index_state is IndexState.PENDING
        raw = session.execute(text("SELECT status, index_state FROM articles")).one()
    assert tuple(raw) == ("classified", "pending")


def test_a_value_outside_the_enum_is_refused(store: Store) -> None:
    with pytest.raises(StatementError, match="'publshed' is not a valid ArticleStatus"):
        add(store, "publshed")
    with store.sessions() as session:
        assert session.execute(text("SELECT count(*) FROM articles")).scalar_one() == 0
