"""The tables of one index generation, and the meta table saying which one is live.

A rebuild fills generation N+1 (``meta.building``) while searches read generation N
(``meta.active``); writes go to both; the switch is one small transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from pipeline.cjk import has_cjk, segmented
from pipeline.index.base import BackendUnavailable

TOKENIZER = "porter unicode61 remove_diacritics 2"

# One generation of the index. The FTS5 table is external-content over a view of the
# documents table, kept in step by triggers inside the writer's transaction. The view
# gives the FTS5 table the jieba-segmented title and text of Chinese documents
# (title_terms, text_terms; NULL for text without Chinese, which is indexed as it is).
_DOCS = (
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
        author TEXT,
        perspective TEXT,
        title_terms TEXT,
        text_terms TEXT
    )""",
    "CREATE INDEX {docs}_published ON {docs} (published_at)",
    "CREATE INDEX {docs}_cluster ON {docs} (cluster_id)",
)
# What a text search filters, sorts and collapses its matches by, keyed by rid: a filtered
# search looks its matches up here (render.matched_sql) rather than in the documents' rows,
# whose text spreads them over many more pages. At 100,000 documents a thread filter's
# pass took a quarter of the time, a date range's two thirds.
_FILTERS_INDEX = (
    "CREATE INDEX IF NOT EXISTS {docs}_filters ON {docs} (rid, published_at, article_id, "
    "cluster_id, threads, relation, language, perspective, outlet_key, domain_key)"
)
_INSERT_TRIGGER = """CREATE TRIGGER {docs}_ai AFTER INSERT ON {docs} BEGIN
        INSERT INTO {fts} (rowid, title, text) VALUES (new.rid,
            coalesce(new.title_terms, new.title), coalesce(new.text_terms, new.text));
    END"""
_FTS = (
    """CREATE VIEW {docs}_src AS SELECT rid, coalesce(title_terms, title) AS title,
            coalesce(text_terms, text) AS text FROM {docs}""",
    """CREATE VIRTUAL TABLE {fts} USING fts5(
            title, text, content='{docs}_src', content_rowid='rid', tokenize='{tokenizer}'
        )""",
    _INSERT_TRIGGER,
    """CREATE TRIGGER {docs}_ad AFTER DELETE ON {docs} BEGIN
            INSERT INTO {fts} ({fts}, rowid, title, text) VALUES ('delete', old.rid,
                coalesce(old.title_terms, old.title), coalesce(old.text_terms, old.text));
        END""",
    """CREATE TRIGGER {docs}_au AFTER UPDATE ON {docs}
        WHEN old.title IS NOT new.title OR old.text IS NOT new.text
            OR old.title_terms IS NOT new.title_terms OR old.text_terms IS NOT new.text_terms
        BEGIN
            INSERT INTO {fts} ({fts}, rowid, title, text) VALUES ('delete', old.rid,
                coalesce(old.title_terms, old.title), coalesce(old.text_terms, old.text));
            INSERT INTO {fts} (rowid, title, text) VALUES (new.rid,
                coalesce(new.title_terms, new.title), coalesce(new.text_terms, new.text));
        END""",
)
_SCHEMA = (*_DOCS, _FILTERS_INDEX, *_FTS)


@dataclass(frozen=True)
class Tables:
    """One generation of the index: a documents table and its FTS5 index."""

    version: int

    @property
    def docs(self) -> str:
        return f"docs_v{self.version}"

    @property
    def filters_index(self) -> str:
        return f"{self.docs}_filters"

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


@contextmanager
def indexed_afterwards(conn: sqlite3.Connection, tables: Tables) -> Iterator[None]:
    """Documents inserted inside reach the FTS5 index in one 'rebuild' at the end rather than
    row by row through the insert trigger: several times faster for a bulk load."""
    conn.execute(f"DROP TRIGGER {tables.docs}_ai")
    yield
    conn.execute(f"INSERT INTO {tables.fts} ({tables.fts}) VALUES ('rebuild')")
    conn.execute(_INSERT_TRIGGER.format(docs=tables.docs, fts=tables.fts))


def drop_tables(conn: sqlite3.Connection, tables: Tables) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {tables.fts}")
    conn.execute(f"DROP VIEW IF EXISTS {tables.docs}_src")
    conn.execute(f"DROP TABLE IF EXISTS {tables.docs}")  # drops its indexes and triggers


def _columns(conn: sqlite3.Connection, tables: Tables) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({tables.docs})")}


def has_current_layout(conn: sqlite3.Connection, tables: Tables) -> bool:
    has_filters_index = conn.execute(
        "SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ?", (tables.filters_index,)
    ).fetchone()
    return {"text_terms", "perspective"} <= _columns(conn, tables) and bool(has_filters_index)


def upgrade_layout(conn: sqlite3.Connection, tables: Tables) -> None:
    """Bring a generation built by an earlier version to the current layout, in place.

    Documents indexed before the perspective column have none (NULL) until they are
    indexed again (`newswatch index rebuild`)."""
    columns = _columns(conn, tables)
    if "text_terms" not in columns:
        upgrade_to_cjk_layout(conn, tables)
    if "perspective" not in columns:
        conn.execute(f"ALTER TABLE {tables.docs} ADD COLUMN perspective TEXT")
    conn.execute(_FILTERS_INDEX.format(docs=tables.docs))


def upgrade_to_cjk_layout(conn: sqlite3.Connection, tables: Tables) -> int:
    """Bring a generation built before Chinese segmentation to the current layout, in place.

    Adds the segmented columns, fills them for documents with Chinese text, and rebuilds
    the FTS5 table from the new view. Returns the number of documents segmented.
    Runs inside the caller's write transaction, so searchers see the old or the new index.
    """
    conn.execute(f"ALTER TABLE {tables.docs} ADD COLUMN title_terms TEXT")
    conn.execute(f"ALTER TABLE {tables.docs} ADD COLUMN text_terms TEXT")
    rows = conn.execute(f"SELECT rid, title, text FROM {tables.docs}").fetchall()
    changed = [
        (segmented_or_none(title), segmented_or_none(text), rid)
        for rid, title, text in rows
        if has_cjk(title) or has_cjk(text)
    ]
    conn.executemany(
        f"UPDATE {tables.docs} SET title_terms = ?, text_terms = ? WHERE rid = ?", changed
    )
    for trigger in ("ai", "ad", "au"):
        conn.execute(f"DROP TRIGGER IF EXISTS {tables.docs}_{trigger}")
    conn.execute(f"DROP TABLE IF EXISTS {tables.fts}")
    for statement in _FTS:
        conn.execute(statement.format(docs=tables.docs, fts=tables.fts, tokenizer=TOKENIZER))
    conn.execute(f"INSERT INTO {tables.fts} ({tables.fts}) VALUES ('rebuild')")
    return len(changed)


def segmented_or_none(text: str) -> str | None:
    """The index form of a text with Chinese in it; None when it has none (stored as is)."""
    return segmented(text) if has_cjk(text) else None


def count_docs(conn: sqlite3.Connection, tables: Tables) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {tables.docs}").fetchone()[0])


def marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))
