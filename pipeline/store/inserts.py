"""INSERT … ON CONFLICT DO NOTHING that says which rows were new, on SQLite and PostgreSQL.

Unique keys are what make the stages idempotent (one article per canonical URL, one alert
per rule and story); this is how a stage learns whether it or a concurrent run created a
row. It asks with RETURNING rather than trusting the driver's row count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql.dml import Insert

from pipeline.store.models import Base

T = TypeVar("T")


def insert_new(
    session: Session,
    model: type[Base],
    rows: Sequence[Mapping[str, Any]],
    conflict_on: Sequence[str],
    returning: QueryableAttribute[T],
) -> list[T]:
    """Insert the rows whose `conflict_on` key is not taken yet; returns `returning` of
    those inserted (empty when every row existed)."""
    if not rows:
        return []
    stmt: Insert
    table = cast(Table, model.__table__)  # every model here maps one table
    if session.get_bind().dialect.name == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing(index_elements=list(conflict_on))
    else:
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=list(conflict_on))
    # The rows as parameters of one cached statement (SQLAlchemy batches them into
    # multi-row INSERTs), not as literal VALUES compiled afresh for every call.
    return list(session.scalars(stmt.returning(returning), list(rows)))
