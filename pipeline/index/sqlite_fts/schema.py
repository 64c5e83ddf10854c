"""The tables of one index generation, and the meta table saying which one is live.

A rebuild fills generation N+1 (``meta.building``) while searches read generation N
(``meta.active``); writes go to both; the switch is one small transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.index.base import BackendUnavailable

TOKENIZER = "porter unicode61 remove_diacritics 2"

# One generation of the index. The FTS5 table is external-content over the documents
# table, kept in step by triggers inside the writer's transaction.
_SCHEMA = (
    """CREATE TABLE {docs} (
        rid INTEGER PRIMARY KEY,
        article_id TEXT NOT NULL UNIQUE,
        canonical_url TEXT NOT NULL,
        title TEXT NOT NULL,
        text TEXT NOT NULL,
        published_at TEXT,  -- ISO-8601 UTC, fixed width, so text order is time order
        date_source TEXT NOT NULL,
        indexed_at TEXT NOT NULL,
        outlet TEXT NOT NULL,
        outlet_key TEXT NOT NULL,  -- casefolded, for the sources filter
        domain TEXT NOT NULL,
        domain_key TEXT NOT NULL,
        language TEXT,
        threads TEXT NOT NULL,  -- JSON array
        relation TEXT,
        seed_similarity REAL,
        cluster_id TEXT,
        author TEXT
    )""",
    "CREATE INDEX {docs}_published ON {docs} (published_at)",
    "CREATE INDEX {docs}_cluster ON {docs} (cluster_id)",
    """CREATE VIRTUAL TABLE {fts} USING fts5(
        title, text, content='{docs}', content_rowid='rid', tokenize='{tokenizer}'
    )""",
    """CREATE TRIGGER {docs}_ai AFTER INSERT ON {docs} BEGIN
        INSERT INTO {fts} (rowid, title, text) VALUES (new.rid, new.title, new.text);
    END""",
    """CREATE TRIGGER {docs}_ad AFTER DELETE ON {docs} BEGIN
        INSERT INTO {fts} ({fts}, rowid, title, text)
        VALUES ('delete', old.rid, old.title, old.text);
    END""",
    """CREATE TRIGGER {docs}_au AFTER UPDATE ON {docs}
    WHEN old.title IS NOT new.title OR old.text IS NOT new.text BEGIN
        INSERT INTO {fts} ({fts}, rowid, title, text)
        VALUES ('delete', old.rid, old.title, old.text);
        INSERT INTO {fts} (rowid, title, text) VALUES (new.rid, new.title, new.text);
    END""",
)


@dataclass(frozen=True)
class Tables:
    """One generation of the index: a documents table and its FTS5 index."""

    version: int

    @property
    def docs(self) -> str:
        return f"docs_v{self.version}"

    @property
    def fts(self) -> str:
        return f"fts_v{self.version}"


def meta(conn: sqlite3.Connection, key: str) -> int | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else int(row[0])


def set_meta(conn: sqlite3.Connection, key: str, value: int) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def active_version(conn: sqlite3.Connection) -> int | None:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    return meta(conn, "active") if exists else None


def require_active(conn: sqlite3.Connection) -> int:
    version = active_version(conn)
    if version is None:
        raise BackendUnavailable("search index is not initialised (meta table missing)")
    return version


def write_targets(conn: sqlite3.Connection) -> list[Tables]:
    """The active generation, plus the one a running rebuild is filling."""
    targets = [Tables(require_active(conn))]
    building = meta(conn, "building")
    if building is not None:
        targets.append(Tables(building))
    return targets


def check_still_building(conn: sqlite3.Connection, tables: Tables) -> None:
    if meta(conn, "building") != tables.version:
        raise BackendUnavailable("another rebuild took over; this one stopped")


def create_tables(conn: sqlite3.Connection, tables: Tables) -> None:
    for statement in _SCHEMA:
        conn.execute(statement.format(docs=tables.docs, fts=tables.fts, tokenizer=TOKENIZER))


def drop_tables(conn: sqlite3.Connection, tables: Tables) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {tables.fts}")
    conn.execute(f"DROP TABLE IF EXISTS {tables.docs}")  # drops its indexes and triggers


def count_docs(conn: sqlite3.Connection, tables: Tables) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {tables.docs}").fetchone()[0])


def marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))
