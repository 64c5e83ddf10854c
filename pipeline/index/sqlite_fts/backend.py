"""SqliteFtsIndex: the SearchIndex protocol over one SQLite file (see the package docstring)."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Literal

from pipeline.index.base import (
    BackendUnavailable,
    IndexOutcome,
    SearchError,
    SearchHit,
    SearchPage,
    SearchQuery,
    TimelineBucket,
)
from pipeline.index.paging import check_limit, decode_cursor, encode_cursor, fingerprint
from pipeline.index.query import Node, Or, Term, parse_query
from pipeline.index.sqlite_fts.documents import insert_new, upsert
from pipeline.index.sqlite_fts.mlt import distinctive_terms
from pipeline.index.sqlite_fts.pages import fetch_page, search_page
from pipeline.index.sqlite_fts.render import Filters, Plan, make_plan, matched_sql, render
from pipeline.index.sqlite_fts.repair import set_aside_if_damaged
from pipeline.index.sqlite_fts.schema import (
    Tables,
    active_version,
    check_still_building,
    count_docs,
    create_tables,
    drop_tables,
    has_current_layout,
    indexed_afterwards,
    marks,
    meta,
    require_active,
    set_meta,
    upgrade_layout,
    write_targets,
)
from pipeline.index.timeline import step_days, with_gaps
from pipeline.records import IndexDocument
from pipeline.store.errors import ensure_directory

BUSY_TIMEOUT_SECONDS = 10.0
_BATCH = 500
# Searches read the index through memory maps rather than read() calls: the rows a page
# needs are scattered over the file, and copying each page in costs more than bm25 itself.
READ_MMAP_BYTES = 1 << 30


class SqliteFtsIndex:
    """The SearchIndex protocol over one SQLite file; safe for one writer and many readers."""

    name = "sqlite"

    def __init__(self, path: Path | str, *, max_text_chars: int = 200_000) -> None:
        if max_text_chars < 1:
            raise ValueError("max_text_chars must be positive")
        self.path = Path(path)
        self.max_text_chars = max_text_chars
        self._ready = False
        self._readers = threading.local()

    # -- lifecycle -------------------------------------------------------------------

    def ensure_ready(self) -> None:
        ensure_directory(self.path.parent)
        with translate_errors(self.path):
            conn = self._connect()
            try:
                conn.execute("PRAGMA journal_mode=WAL")  # persistent: readers never block writers
                conn.execute("BEGIN")
                version = active_version(conn)
                ready = version is not None and has_current_layout(conn, Tables(version))
                conn.execute("COMMIT")
                if not ready:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute(
                        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER)"
                    )
                    version = active_version(conn)
                    if version is None:
                        create_tables(conn, Tables(1))
                        set_meta(conn, "active", 1)
                    else:  # an index built by an earlier version
                        for tables in write_targets(conn):
                            upgrade_layout(conn, tables)
                    conn.execute("COMMIT")
            finally:
                conn.close()
        self._ready = True

    def health(self) -> dict[str, object]:
        if not self.path.is_file():
            raise BackendUnavailable(f"search index {self.path} does not exist")
        with translate_errors(self.path):
            conn = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=rw",
                uri=True,
                timeout=BUSY_TIMEOUT_SECONDS,
                isolation_level=None,
            )
            try:
                conn.execute("BEGIN")
                version = active_version(conn)
                if version is None:
                    raise BackendUnavailable(f"search index {self.path} is not initialised")
                documents = count_docs(conn, Tables(version))
                building = meta(conn, "building")
                conn.execute("COMMIT")
            finally:
                conn.close()
        wal = self.path.with_name(self.path.name + "-wal")
        size = self.path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
        return {
            "backend": self.name,
            "path": str(self.path),
            "documents": documents,
            "file_bytes": size,
            "generation": version,
            "rebuilding": building is not None,
            "sqlite_version": sqlite3.sqlite_version,
        }

    # -- writing -----------------------------------------------------------------------

    def index(self, docs: Sequence[IndexDocument]) -> list[IndexOutcome]:
        if not docs:
            return []
        with translate_errors(self.path), self._transaction(write=True) as conn:
            return upsert(conn, write_targets(conn), docs, self.max_text_chars)

    def delete(self, article_ids: Sequence[str]) -> None:
        ids = list(dict.fromkeys(article_ids))
        if not ids:
            return
        with translate_errors(self.path), self._transaction(write=True) as conn:
            for tables in write_targets(conn):
                for start in range(0, len(ids), _BATCH):
                    chunk = ids[start : start + _BATCH]
                    conn.execute(
                        f"DELETE FROM {tables.docs} WHERE article_id IN ({marks(chunk)})", chunk
                    )

    def rebuild(self, docs: Iterable[IndexDocument]) -> int:
        """A fresh generation from `docs`; a damaged file is first moved aside (kept, not
        deleted), because the index can always be rebuilt from the store."""
        with translate_errors(self.path):
            if set_aside_if_damaged(self.path) is not None:
                self._ready = False  # the next transaction creates a fresh file
            with self._transaction(write=True) as conn:
                active = require_active(conn)
                stale = meta(conn, "building")
                if stale is not None:  # left by a rebuild that did not finish
                    drop_tables(conn, Tables(stale))
                fresh = Tables(max(active, stale or 0) + 1)
                create_tables(conn, fresh)
                set_meta(conn, "building", fresh.version)
            indexed = 0
            source = iter(docs)
            while batch := list(islice(source, _BATCH)):
                with self._transaction(write=True) as conn:
                    check_still_building(conn, fresh)
                    outcomes = upsert(conn, [fresh], batch, self.max_text_chars)
                indexed += sum(outcome.ok for outcome in outcomes)
            with self._transaction(write=True) as conn:
                check_still_building(conn, fresh)
                # Merge the index's segments before searchers arrive; kept out of the swap.
                conn.execute(f"INSERT INTO {fresh.fts} ({fresh.fts}) VALUES ('optimize')")
            with self._transaction(write=True) as conn:
                check_still_building(conn, fresh)
                old = Tables(require_active(conn))
                set_meta(conn, "active", fresh.version)
                conn.execute("DELETE FROM meta WHERE key = 'building'")
                drop_tables(conn, old)
        return indexed

    def load(self, docs: Iterable[IndexDocument]) -> None:
        """New documents into the live generation in one transaction, indexed by one FTS5
        build and merged: a bulk load (benchmark corpora); one refused document fails all."""
        with translate_errors(self.path), self._transaction(write=True) as conn:
            tables = Tables(require_active(conn))
            with indexed_afterwards(conn, tables):
                insert_new(conn, tables, docs, self.max_text_chars)
            conn.execute(f"INSERT INTO {tables.fts} ({tables.fts}) VALUES ('optimize')")

    # -- reading -----------------------------------------------------------------------

    def count(self) -> int:
        with translate_errors(self.path), self._transaction(write=False) as conn:
            return count_docs(conn, Tables(require_active(conn)))

    def search(self, query: SearchQuery) -> SearchPage:
        check_limit(query.limit)
        plan = make_plan(query, parse_query(query.text))
        query_fingerprint = fingerprint(query, plan.sort)
        after = None
        if query.cursor:
            # the key is the score (relevance) or the published_at text (date)
            key_types: tuple[type, ...] = (float, int) if plan.sort == "relevance" else (str,)
            after = decode_cursor(query.cursor, query_fingerprint, key_types)
        with translate_errors(self.path), self._transaction(write=False) as conn:
            tables = Tables(require_active(conn))
            hits, keys, more, total = search_page(conn, tables, plan, query.limit, after)
        next_cursor = None
        if more and keys:
            next_cursor = encode_cursor(query_fingerprint, *keys[-1])
        return SearchPage(hits=hits, total=total, next_cursor=next_cursor)

    def timeline(
        self, query: SearchQuery, interval: Literal["day", "week"] = "day"
    ) -> list[TimelineBucket]:
        step_days(interval)  # refuses an unknown interval before SQL is written
        plan = make_plan(query, parse_query(query.text))
        # A week bucket is the Monday on or before the day; never past 9999-12-31 on the way.
        day_sql = "substr(pk, 1, 10)"
        bucket = day_sql if interval == "day" else f"date({day_sql}, '-6 days', 'weekday 1')"
        with translate_errors(self.path), self._transaction(write=False) as conn:
            tables = Tables(require_active(conn))
            sql, params = matched_sql(tables, plan, with_score=False, collapse=True)
            rows = conn.execute(
                f"WITH m AS ({sql}) SELECT {bucket} AS b, count(*), count(DISTINCT grp) "
                "FROM m WHERE pk <> '' GROUP BY b ORDER BY b",
                params,
            ).fetchall()
        found = {date.fromisoformat(b): (articles, stories) for b, articles, stories in rows}
        return with_gaps(found, interval)

    def more_like_this(self, article_id: str, limit: int = 10) -> list[SearchHit]:
        check_limit(limit)
        with translate_errors(self.path), self._transaction(write=False) as conn:
            tables = Tables(require_active(conn))
            row = conn.execute(
                # the index form: jieba words for Chinese, so its words are what is compared
                "SELECT coalesce(title_terms, title), coalesce(text_terms, text), cluster_id "
                f"FROM {tables.docs} WHERE article_id = ?",
                (article_id,),
            ).fetchone()
            if row is None:
                return []
            title, text, cluster_id = row
            terms = distinctive_terms(conn, tables, title, text)
            if not terms:
                return []
            filters = Filters()
            filters.add("d.article_id <> ?", article_id)
            if cluster_id is not None:
                filters.add("(d.cluster_id IS NULL OR d.cluster_id <> ?)", cluster_id)
            node: Node = Or(tuple(Term(t) for t in terms)) if len(terms) > 1 else Term(terms[0])
            plan = Plan(render(node), filters, "relevance", collapse=True)
            hits, _, _ = fetch_page(conn, tables, plan, limit, None)
        return hits

    # -- connections ---------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # A writer's connection lives for one operation: a rebuild may replace the file.
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        conn.execute("PRAGMA synchronous=NORMAL")  # durable enough in WAL mode, much faster
        return conn

    def _reader(self) -> sqlite3.Connection:
        """This thread's read-only connection, kept between searches.

        Opening one per search cost more than a typical search (the schema is parsed again,
        the page cache starts cold). Kept per thread and per process (so it never crosses a
        fork), and opened again when the file was replaced (a damaged index set aside).
        """
        identity = (os.getpid(), os.stat(self.path).st_ino)
        held = getattr(self._readers, "held", None)
        if held is not None and held[0] == identity:
            conn: sqlite3.Connection = held[1]
            return conn
        if held is not None:
            held[1].close()
        conn = sqlite3.connect(
            f"{self.path.resolve().as_uri()}?mode=ro",
            uri=True,
            timeout=BUSY_TIMEOUT_SECONDS,
            isolation_level=None,
        )
        conn.execute(f"PRAGMA mmap_size={READ_MMAP_BYTES}")
        self._readers.held = (identity, conn)
        return conn

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            self.ensure_ready()
        conn = self._connect() if write else self._reader()
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            if write:
                conn.close()


# -- errors ------------------------------------------------------------------------------


@contextmanager
def translate_errors(path: Path) -> Iterator[None]:
    """SQLite errors become the interface's errors: the query's fault or the backend's."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        message = str(exc)
        if message.startswith("fts5:") or "syntax error" in message:
            raise SearchError(f"the search engine could not run this query: {message}") from exc
        raise BackendUnavailable(f"search index {path}: {message}") from exc
    except (sqlite3.DatabaseError, OSError) as exc:
        raise BackendUnavailable(f"search index {path}: {exc}") from exc
