"""INSERT … ON CONFLICT DO NOTHING that says which rows were new, on SQLite and PostgreSQL.

The unique keys (rule and cluster, delivery key, alert and article) are what make alerts
fire once; this is how the stage learns whether it or a concurrent run created a row.
RETURNING rather than the row count, which psycopg reports as -1 for these statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_new(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    index_elements: Sequence[str],
    returning: Column[Any],
) -> list[Any]:
    """Insert the rows that do not exist yet; returns `returning` of those inserted."""
    if not rows:
        return []
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = (
        module.insert(table)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=list(index_elements))
        .returning(returning)
    )
    return list(session.scalars(stmt))
