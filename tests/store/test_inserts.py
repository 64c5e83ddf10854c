"""insert_new on both stores: it must say exactly which rows were new.

The stages count "new article" versus "already known" from it, and the alerts stage
decides from it whether it or a concurrent run raised an alert.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from pipeline.alerts.models import AlertRuleState
from pipeline.records import utcnow
from pipeline.store import Store
from pipeline.store.db import transaction
from pipeline.store.inserts import insert_new


def rule_rows(*names: str) -> list[dict[str, Any]]:
    return [{"name": name, "first_seen_at": utcnow()} for name in names]


def insert_rules(session: Session, *names: str) -> list[str]:
    return insert_new(session, AlertRuleState, rule_rows(*names), ["name"], AlertRuleState.name)


def test_returns_only_the_rows_it_inserted(store: Store) -> None:
    with transaction(store.sessions) as session:
        first = insert_rules(session, "a", "b")
    with transaction(store.sessions) as session:
        again = insert_rules(session, "b", "c", "a", "d")
    with transaction(store.sessions) as session:
        none_new = insert_rules(session, "c")
    assert sorted(first) == ["a", "b"]
    assert sorted(again) == ["c", "d"]
    assert none_new == []
    with store.sessions() as session:
        assert sorted(r.name for r in session.query(AlertRuleState)) == ["a", "b", "c", "d"]


def test_an_existing_row_is_left_as_it_was(store: Store) -> None:
    with transaction(store.sessions) as session:
        insert_rules(session, "a")
        kept = session.get_one(AlertRuleState, "a").first_seen_at
    with transaction(store.sessions) as session:
        insert_rules(session, "a")
    with store.sessions() as session:
        assert session.get_one(AlertRuleState, "a").first_seen_at == kept


def test_no_rows_is_no_statement(store: Store) -> None:
    with transaction(store.sessions) as session:
        assert insert_new(session, AlertRuleState, [], ["name"], AlertRuleState.name) == []
