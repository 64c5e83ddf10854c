"""Embedded search index: SQLite FTS5 in a file of its own (e.g. ``DATA_DIR/search.db``).

Behaviour, stated so that the Elasticsearch backend can match it:

- Analysis: ``porter unicode61 remove_diacritics 2``: case-folded, diacritics folded
  ("Zürich" = "zurich"), Porter-stemmed ("sanction" finds "sanctions"). Unlike an
  Elasticsearch English analyzer there are no stop words: "the" is a searchable term.
- Query text: the syntax of ``pipeline.index.query``. Every term is quoted before it
  reaches FTS5, so user input can never be FTS5 syntax. A prefix (``extradit*``) is
  stemmed like a word and then matched as a prefix of the indexed stems. A term without
  a field searches title and text; ``title:``/``text:`` restrict it to one column.
- Score: ``-bm25`` with title weighted ``TITLE_WEIGHT`` times text (higher is better);
  0.0 when there is no query text.
- Filters: since (``published_at >= since``), until (``published_at < until``);
  documents without a date never pass a date filter. ``sources``: outlet or domain equal
  to any value, case-insensitively (a leading "www." is ignored for domains). ``threads``:
  any of. ``relation`` and ``language``: exact. Blank source/thread values are ignored.
- Sort: ``relevance`` = score desc, article_id asc; ``date`` = published_at desc
  (undated last), article_id asc. No query text means date order whatever was asked.
- Collapse: one hit per cluster (documents without cluster_id are their own cluster), the
  first member in sort order. ``also_published_by``: the other outlets among the matching
  members, sorted case-insensitively; empty without collapse. ``total`` counts matching
  articles before collapsing.
- Paging: the cursor is the sort key of the last hit (keyset), so date paging never
  repeats or skips a document when others are written between pages. Relevance paging is
  exact while the index is unchanged (new documents shift the bm25 statistics). A cursor
  only works with the query it came from.
- Snippet: up to ``SNIPPET_TOKENS`` tokens of the text around the matches, HTML-escaped,
  matches in ``<mark>``; with no query text, the start of the text.
- Timeline: buckets of published_at (UTC days, or weeks starting on Monday) from the first
  to the last non-empty bucket, gaps included as zeros; undated documents are left out.
- More like this: the document's ``MLT_TERMS`` most distinctive stems (tf x idf, title
  counted ``TITLE_WEIGHT`` times; a stem must occur in at least one other document and in
  at most half of all documents) ORed, excluding the document and its cluster; collapsed,
  relevance order. Unknown id: ``[]``.
- Rebuild: writes a new generation of the tables and switches searchers to it in one small
  transaction; documents indexed or deleted while it runs go to both generations. One
  rebuild at a time: a second one takes over and the first stops with BackendUnavailable.
- Concurrency: WAL mode and a busy timeout; one connection per call, so instances can be
  shared by threads and used from several processes (one writer at a time, many readers).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
import logging
import math
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any, Literal

from pipeline.index.base import (
    BackendUnavailable,
    IndexOutcome,
    SearchError,
    SearchHit,
    SearchPage,
    SearchQuery,
    TimelineBucket,
)
from pipeline.index.query import And, Node, Not, Or, Phrase, Term, parse_query
from pipeline.records import IndexDocument, as_utc, utcnow
from pipeline.store.errors import ensure_directory

log = logging.getLogger(__name__)

TOKENIZER = "porter unicode61 remove_diacritics 2"
TITLE_WEIGHT = 3.0
TEXT_WEIGHT = 1.0
MAX_LIMIT = 1000
SNIPPET_TOKENS = 32
MLT_TERMS = 12
BUSY_TIMEOUT_SECONDS = 10.0
_BATCH = 500

# Snippet markers: control characters are stripped from indexed text, so these can only
# come from snippet() and are swapped for <mark> after HTML-escaping.
_MARK_OPEN, _MARK_CLOSE = "\x02", "\x03"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LAST_SPACE = re.compile(r"\s+\S*\Z")
_SPACES = re.compile(r"\s+")

_COLUMNS = (
    "article_id",
    "canonical_url",
    "title",
    "text",
    "published_at",
    "date_source",
    "indexed_at",
    "outlet",
    "outlet_key",
    "domain",
    "domain_key",
    "language",
    "threads",
    "relation",
    "seed_similarity",
    "cluster_id",
    "author",
)

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

_UPSERT = (
    "INSERT INTO {docs} ({cols}) VALUES ({marks}) ON CONFLICT (article_id) DO UPDATE SET {sets}"
)


@dataclass(frozen=True)
class _Tables:
    """One generation of the index: a documents table and its FTS5 index."""

    version: int

    @property
    def docs(self) -> str:
        return f"docs_v{self.version}"

    @property
    def fts(self) -> str:
        return f"fts_v{self.version}"


@dataclass
class _Filters:
    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, clause: str, *params: Any) -> None:
        self.clauses.append(clause)
        self.params.extend(params)


@dataclass(frozen=True)
class _Plan:
    """Everything a search needs besides the tables: match expression, filters, order."""

    match: str | None
    filters: _Filters
    sort: Literal["relevance", "date"]
    collapse: bool


class SqliteFtsIndex:
    """The SearchIndex protocol over one SQLite file; safe for one writer and many readers."""

    name = "sqlite"

    def __init__(self, path: Path | str, *, max_text_chars: int = 200_000) -> None:
        if max_text_chars < 1:
            raise ValueError("max_text_chars must be positive")
        self.path = Path(path)
        self.max_text_chars = max_text_chars
        self._ready = False

    # -- lifecycle -------------------------------------------------------------------

    def ensure_ready(self) -> None:
        ensure_directory(self.path.parent)
        with _translate_errors(self.path):
            conn = self._connect()
            try:
                conn.execute("PRAGMA journal_mode=WAL")  # persistent: readers never block writers
                conn.execute("BEGIN")
                ready = _active_version(conn) is not None
                conn.execute("COMMIT")
                if not ready:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute(
                        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER)"
                    )
                    if _active_version(conn) is None:
                        _create_tables(conn, _Tables(1))
                        _set_meta(conn, "active", 1)
                    conn.execute("COMMIT")
            finally:
                conn.close()
        self._ready = True

    def health(self) -> dict[str, object]:
        if not self.path.is_file():
            raise BackendUnavailable(f"search index {self.path} does not exist")
        with _translate_errors(self.path):
            conn = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=rw",
                uri=True,
                timeout=BUSY_TIMEOUT_SECONDS,
                isolation_level=None,
            )
            try:
                conn.execute("BEGIN")
                version = _active_version(conn)
                if version is None:
                    raise BackendUnavailable(f"search index {self.path} is not initialised")
                documents = _count(conn, _Tables(version))
                building = _meta(conn, "building")
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
        with _translate_errors(self.path), self._transaction(write=True) as conn:
            return _upsert(conn, _write_targets(conn), docs, self.max_text_chars)

    def delete(self, article_ids: Sequence[str]) -> None:
        ids = list(dict.fromkeys(article_ids))
        if not ids:
            return
        with _translate_errors(self.path), self._transaction(write=True) as conn:
            for tables in _write_targets(conn):
                for start in range(0, len(ids), _BATCH):
                    chunk = ids[start : start + _BATCH]
                    conn.execute(
                        f"DELETE FROM {tables.docs} WHERE article_id IN ({_marks(chunk)})", chunk
                    )

    def rebuild(self, docs: Iterable[IndexDocument]) -> int:
        """A fresh generation from `docs`; a damaged file is first moved aside (kept, not
        deleted), because the index can always be rebuilt from the store."""
        with _translate_errors(self.path):
            self._set_aside_if_damaged()
            with self._transaction(write=True) as conn:
                active = _require_active(conn)
                stale = _meta(conn, "building")
                if stale is not None:  # left by a rebuild that did not finish
                    _drop_tables(conn, _Tables(stale))
                fresh = _Tables(max(active, stale or 0) + 1)
                _create_tables(conn, fresh)
                _set_meta(conn, "building", fresh.version)
            indexed = 0
            source = iter(docs)
            while batch := list(islice(source, _BATCH)):
                with self._transaction(write=True) as conn:
                    _check_still_building(conn, fresh)
                    outcomes = _upsert(conn, [fresh], batch, self.max_text_chars)
                indexed += sum(outcome.ok for outcome in outcomes)
            with self._transaction(write=True) as conn:
                _check_still_building(conn, fresh)
                # Merge the index's segments before searchers arrive; kept out of the swap.
                conn.execute(f"INSERT INTO {fresh.fts} ({fresh.fts}) VALUES ('optimize')")
            with self._transaction(write=True) as conn:
                _check_still_building(conn, fresh)
                old = _Tables(_require_active(conn))
                _set_meta(conn, "active", fresh.version)
                conn.execute("DELETE FROM meta WHERE key = 'building'")
                _drop_tables(conn, old)
        return indexed

    # -- reading -----------------------------------------------------------------------

    def count(self) -> int:
        with _translate_errors(self.path), self._transaction(write=False) as conn:
            return _count(conn, _Tables(_require_active(conn)))

    def search(self, query: SearchQuery) -> SearchPage:
        _check_limit(query.limit)
        node = parse_query(query.text)
        plan = _plan(query, node)
        fingerprint = _fingerprint(query, plan)
        after = _decode_cursor(query.cursor, fingerprint) if query.cursor else None
        with _translate_errors(self.path), self._transaction(write=False) as conn:
            tables = _Tables(_require_active(conn))
            total = _total(conn, tables, plan)
            hits, keys, more = _page(conn, tables, plan, query.limit, after)
        next_cursor = _encode_cursor(fingerprint, keys[-1]) if more and keys else None
        return SearchPage(hits=hits, total=total, next_cursor=next_cursor)

    def timeline(
        self, query: SearchQuery, interval: Literal["day", "week"] = "day"
    ) -> list[TimelineBucket]:
        if interval not in ("day", "week"):
            raise SearchError(f"unknown timeline interval {interval!r}; use 'day' or 'week'")
        plan = _plan(query, parse_query(query.text))
        # A week bucket is the Monday on or before the day.
        day_sql = "substr(pk, 1, 10)"
        bucket = day_sql if interval == "day" else f"date({day_sql}, 'weekday 0', '-6 days')"
        with _translate_errors(self.path), self._transaction(write=False) as conn:
            tables = _Tables(_require_active(conn))
            sql, params = _matched_sql(tables, plan, with_score=False, collapse=True)
            rows = conn.execute(
                f"WITH m AS ({sql}) SELECT {bucket} AS b, count(*), count(DISTINCT grp) "
                "FROM m WHERE pk <> '' GROUP BY b ORDER BY b",
                params,
            ).fetchall()
        found = {date.fromisoformat(b): (articles, stories) for b, articles, stories in rows}
        if not found:
            return []
        step = timedelta(days=1 if interval == "day" else 7)
        buckets = []
        start, last = min(found), max(found)
        while start <= last:
            articles, stories = found.get(start, (0, 0))
            buckets.append(TimelineBucket(start=start, articles=articles, stories=stories))
            start += step
        return buckets

    def more_like_this(self, article_id: str, limit: int = 10) -> list[SearchHit]:
        _check_limit(limit)
        with _translate_errors(self.path), self._transaction(write=False) as conn:
            tables = _Tables(_require_active(conn))
            row = conn.execute(
                f"SELECT title, text, cluster_id FROM {tables.docs} WHERE article_id = ?",
                (article_id,),
            ).fetchone()
            if row is None:
                return []
            title, text, cluster_id = row
            terms = _distinctive_terms(conn, tables, title, text)
            if not terms:
                return []
            filters = _Filters()
            filters.add("d.article_id <> ?", article_id)
            if cluster_id is not None:
                filters.add("(d.cluster_id IS NULL OR d.cluster_id <> ?)", cluster_id)
            node: Node = Or(tuple(Term(t) for t in terms)) if len(terms) > 1 else Term(terms[0])
            plan = _Plan(_render(node), filters, "relevance", collapse=True)
            hits, _, _ = _page(conn, tables, plan, limit, None)
        return hits

    def _set_aside_if_damaged(self) -> None:
        if not self.path.is_file():
            return
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
            try:
                healthy = conn.execute("PRAGMA quick_check").fetchone() == ("ok",)
            finally:
                conn.close()
        except sqlite3.OperationalError:
            raise  # locked or unreadable: not evidence of damage
        except sqlite3.DatabaseError:
            healthy = False  # "file is not a database", "database disk image is malformed"
        if healthy:
            return
        stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
        for suffix in ("", "-wal", "-shm"):
            part = self.path.with_name(self.path.name + suffix)
            if part.exists():
                part.rename(part.with_name(f"{part.name}.damaged-{stamp}"))
        log.warning("search index %s was damaged; moved aside as *.damaged-%s", self.path, stamp)
        self._ready = False

    # -- connections ---------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # One connection per operation: nothing is shared between threads or forked workers.
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        conn.execute("PRAGMA synchronous=NORMAL")  # durable enough in WAL mode, much faster
        return conn

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            self.ensure_ready()
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()


# -- errors ------------------------------------------------------------------------------


@contextmanager
def _translate_errors(path: Path) -> Iterator[None]:
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


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise SearchError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")


# -- schema and generations ----------------------------------------------------------------


def _meta(conn: sqlite3.Connection, key: str) -> int | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else int(row[0])


def _set_meta(conn: sqlite3.Connection, key: str, value: int) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def _active_version(conn: sqlite3.Connection) -> int | None:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    return _meta(conn, "active") if exists else None


def _require_active(conn: sqlite3.Connection) -> int:
    version = _active_version(conn)
    if version is None:
        raise BackendUnavailable("search index is not initialised (meta table missing)")
    return version


def _write_targets(conn: sqlite3.Connection) -> list[_Tables]:
    """The active generation, plus the one a running rebuild is filling."""
    targets = [_Tables(_require_active(conn))]
    building = _meta(conn, "building")
    if building is not None:
        targets.append(_Tables(building))
    return targets


def _check_still_building(conn: sqlite3.Connection, tables: _Tables) -> None:
    if _meta(conn, "building") != tables.version:
        raise BackendUnavailable("another rebuild took over; this one stopped")


def _create_tables(conn: sqlite3.Connection, tables: _Tables) -> None:
    for statement in _SCHEMA:
        conn.execute(statement.format(docs=tables.docs, fts=tables.fts, tokenizer=TOKENIZER))


def _drop_tables(conn: sqlite3.Connection, tables: _Tables) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {tables.fts}")
    conn.execute(f"DROP TABLE IF EXISTS {tables.docs}")  # drops its indexes and triggers


def _count(conn: sqlite3.Connection, tables: _Tables) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {tables.docs}").fetchone()[0])


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))


# -- documents -----------------------------------------------------------------------------


def truncate_text(text: str, limit: int) -> str:
    """Cut text to at most `limit` characters, at the last word boundary before the cut."""
    if len(text) <= limit:
        return text
    head = text[: limit + 1]
    space = _LAST_SPACE.search(head)
    cut = head[: space.start()] if space and space.start() > 0 else text[:limit]
    return cut.rstrip()


def _timestamp(value: datetime) -> str:
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _parse_timestamp(value: str | None) -> datetime | None:
    return None if not value else datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)


def _clean(text: str) -> str:
    return _CONTROL.sub(" ", text)


def _domain_key(value: str) -> str:
    key = value.strip().casefold()
    return key[4:] if key.startswith("www.") else key


def _row(doc: IndexDocument, max_text_chars: int) -> tuple[object, ...]:
    if not isinstance(doc.article_id, str) or not doc.article_id:
        raise ValueError("article_id must be a non-empty string")
    published = _timestamp(doc.published_at) if doc.published_at is not None else None
    return (
        doc.article_id,
        doc.canonical_url,
        _clean(doc.title),
        truncate_text(_clean(doc.text), max_text_chars),
        published,
        doc.date_source,
        _timestamp(doc.indexed_at),
        doc.outlet,
        doc.outlet.strip().casefold(),
        doc.domain,
        _domain_key(doc.domain),
        doc.language,
        json.dumps(list(doc.threads)),
        doc.relation,
        doc.seed_similarity,
        doc.cluster_id,
        doc.author,
    )


def _upsert(
    conn: sqlite3.Connection,
    targets: Sequence[_Tables],
    docs: Sequence[IndexDocument],
    max_text_chars: int,
) -> list[IndexOutcome]:
    """Write each document to every target; a bad document fails alone (savepoint)."""
    sets = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "article_id")
    statements = [
        _UPSERT.format(docs=t.docs, cols=", ".join(_COLUMNS), marks=_marks(_COLUMNS), sets=sets)
        for t in targets
    ]
    outcomes = []
    for doc in docs:
        article_id = str(getattr(doc, "article_id", ""))
        try:
            row = _row(doc, max_text_chars)
        except (AttributeError, TypeError, ValueError) as exc:
            outcomes.append(IndexOutcome(article_id, ok=False, error=f"invalid document: {exc}"))
            continue
        conn.execute("SAVEPOINT doc")
        try:
            for statement in statements:
                conn.execute(statement, row)
        except (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.ProgrammingError) as exc:
            conn.execute("ROLLBACK TO doc")
            outcomes.append(IndexOutcome(article_id, ok=False, error=f"rejected: {exc}"))
        else:
            outcomes.append(IndexOutcome(article_id, ok=True))
        finally:
            conn.execute("RELEASE doc")
    return outcomes


# -- query rendering -------------------------------------------------------------------------


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _render(node: Node) -> str:
    """The FTS5 MATCH expression for a parsed query; every term is a quoted string."""
    if isinstance(node, Term | Phrase):
        words = node.text if isinstance(node, Term) else " ".join(node.words)
        expr = _quote(words) + ("*" if isinstance(node, Term) and node.prefix else "")
        return f"{node.field} : {expr}" if node.field else expr
    if isinstance(node, Or):
        return "(" + " OR ".join(_render(item) for item in node.items) + ")"
    if isinstance(node, And):
        positive = [_render(i) for i in node.items if not isinstance(i, Not)]
        expr = "(" + " AND ".join(positive) + ")"
        for item in node.items:
            if isinstance(item, Not):  # FTS5 NOT is binary: subtract from what we have so far
                expr = f"({expr} NOT {_render(item.item)})"
        return expr
    raise SearchError("NOT needs something to subtract from")  # parse_query rejects this


def _plan(query: SearchQuery, node: Node | None) -> _Plan:
    if query.sort not in ("relevance", "date"):
        raise SearchError(f"unknown sort {query.sort!r}; use 'relevance' or 'date'")
    filters = _Filters()
    since, until = as_utc(query.since), as_utc(query.until)
    if since is not None and until is not None and since > until:
        raise SearchError("'since' is after 'until'")
    if since is not None:
        filters.add("d.published_at >= ?", _timestamp(since))
    if until is not None:
        filters.add("d.published_at < ?", _timestamp(until))
    sources = [s.strip().casefold() for s in query.sources if s.strip()]
    if sources:
        domains = [_domain_key(s) for s in sources]
        filters.add(
            f"(d.outlet_key IN ({_marks(sources)}) OR d.domain_key IN ({_marks(domains)}))",
            *sources,
            *domains,
        )
    threads = [t for t in query.threads if t.strip()]
    if threads:
        filters.add(
            "EXISTS (SELECT 1 FROM json_each(d.threads) AS j "
            f"WHERE j.value IN ({_marks(threads)}))",
            *threads,
        )
    if query.relation is not None:
        filters.add("d.relation = ?", query.relation)
    if query.language is not None:
        filters.add("d.language = ?", query.language)
    match = _render(node) if node is not None else None
    sort = query.sort if match is not None else "date"
    return _Plan(match, filters, sort, query.collapse)


def _matched_sql(
    tables: _Tables, plan: _Plan, *, with_score: bool, collapse: bool
) -> tuple[str, list[Any]]:
    """SELECT of the matching documents: rid, article_id, pk (date key), score, grp."""
    params: list[Any] = []
    if plan.match is None:
        source, where, score = f"{tables.docs} AS d", [], "0.0"
    else:
        source = f"{tables.fts} JOIN {tables.docs} AS d ON d.rid = {tables.fts}.rowid"
        where = [f"{tables.fts} MATCH ?"]
        params.append(plan.match)
        score = f"-bm25({tables.fts}, {TITLE_WEIGHT}, {TEXT_WEIGHT})" if with_score else "0.0"
    where += plan.filters.clauses
    params += plan.filters.params
    group = "coalesce('c:' || d.cluster_id, 'a:' || d.article_id)" if collapse else "d.article_id"
    sql = (
        f"SELECT d.rid AS rid, d.article_id AS article_id, coalesce(d.published_at, '') AS pk, "
        f"{score} AS score, {group} AS grp FROM {source} WHERE {' AND '.join(where) or '1'}"
    )
    return sql, params


def _total(conn: sqlite3.Connection, tables: _Tables, plan: _Plan) -> int:
    sql, params = _matched_sql(tables, plan, with_score=False, collapse=False)
    return int(conn.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0])


def _page(
    conn: sqlite3.Connection,
    tables: _Tables,
    plan: _Plan,
    limit: int,
    after: tuple[Any, str] | None,
) -> tuple[list[SearchHit], list[tuple[Any, str]], bool]:
    """One page of hits, their sort keys, and whether more follow."""
    sql, params = _matched_sql(tables, plan, with_score=True, collapse=plan.collapse)
    key = "score" if plan.sort == "relevance" else "pk"
    keyset, keyset_params = "1", []
    if after is not None:
        keyset = f"(r.{key} < ? OR (r.{key} = ? AND r.article_id > ?))"
        keyset_params = [after[0], after[0], after[1]]
    # rn = 1 marks the first member of each group in sort order: the collapsed hit.
    cursor = conn.execute(
        f"WITH m AS ({sql}), r AS (SELECT m.*, row_number() OVER "
        f"(PARTITION BY grp ORDER BY {key} DESC, article_id ASC) AS rn FROM m) "
        f"SELECT r.score, r.pk, d.* FROM r JOIN {tables.docs} AS d ON d.rid = r.rid "
        f"WHERE r.rn = 1 AND {keyset} ORDER BY r.{key} DESC, r.article_id ASC LIMIT ?",
        [*params, *keyset_params, limit + 1],
    )
    names = [column[0] for column in cursor.description]
    records = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    more = len(records) > limit
    records = records[:limit]
    snippets = _snippets(conn, tables, plan, records)
    others = _other_outlets(conn, tables, plan, records) if plan.collapse else {}
    hits = [_hit(r, snippets.get(r["rid"], ""), others) for r in records]
    keys = [(r[key], r["article_id"]) for r in records]
    return hits, keys, more


def _snippets(
    conn: sqlite3.Connection, tables: _Tables, plan: _Plan, records: list[dict[str, Any]]
) -> dict[int, str]:
    if not records:
        return {}
    if plan.match is None:
        return {r["rid"]: _lead(r["text"]) for r in records}
    rids = [r["rid"] for r in records]
    rows = conn.execute(
        f"SELECT rowid, snippet({tables.fts}, 1, ?, ?, '…', {SNIPPET_TOKENS}) FROM {tables.fts} "
        f"WHERE {tables.fts} MATCH ? AND rowid IN ({_marks(rids)})",
        [_MARK_OPEN, _MARK_CLOSE, plan.match, *rids],
    ).fetchall()
    return {rid: _safe_snippet(raw or "") for rid, raw in rows}


def _safe_snippet(raw: str) -> str:
    escaped = html.escape(_SPACES.sub(" ", raw).strip())
    return escaped.replace(_MARK_OPEN, "<mark>").replace(_MARK_CLOSE, "</mark>")


def _lead(text: str) -> str:
    words = text.split()
    lead = " ".join(words[:SNIPPET_TOKENS]) + ("…" if len(words) > SNIPPET_TOKENS else "")
    return html.escape(lead)


def _other_outlets(
    conn: sqlite3.Connection, tables: _Tables, plan: _Plan, records: list[dict[str, Any]]
) -> dict[str, list[str]]:
    clusters = sorted({r["cluster_id"] for r in records if r["cluster_id"] is not None})
    if not clusters:
        return {}
    sql, params = _matched_sql(tables, plan, with_score=False, collapse=True)
    rows = conn.execute(
        f"SELECT DISTINCT d.cluster_id, d.outlet FROM ({sql}) AS m "
        f"JOIN {tables.docs} AS d ON d.rid = m.rid WHERE d.cluster_id IN ({_marks(clusters)})",
        [*params, *clusters],
    ).fetchall()
    outlets: dict[str, list[str]] = {}
    for cluster_id, outlet in rows:
        outlets.setdefault(cluster_id, []).append(outlet)
    return outlets


def _hit(record: dict[str, Any], snippet: str, others: dict[str, list[str]]) -> SearchHit:
    own = record["outlet"].casefold()
    also = sorted(
        {o for o in others.get(record["cluster_id"], []) if o.casefold() != own}, key=str.casefold
    )
    return SearchHit(
        article_id=record["article_id"],
        title=record["title"],
        url=record["canonical_url"],
        outlet=record["outlet"],
        domain=record["domain"],
        published_at=_parse_timestamp(record["published_at"]),
        snippet=snippet,
        score=float(record["score"]),
        cluster_id=record["cluster_id"],
        also_published_by=also,
        threads=list(json.loads(record["threads"])),
        relation=record["relation"],
        language=record["language"],
    )


# -- cursors -----------------------------------------------------------------------------------


def _fingerprint(query: SearchQuery, plan: _Plan) -> str:
    """What a cursor is tied to: everything that decides the result order except limit."""
    parts = [
        query.text,
        _timestamp(query.since) if query.since else "",
        _timestamp(query.until) if query.until else "",
        sorted(s.strip().casefold() for s in query.sources),
        sorted(query.threads),
        query.relation,
        query.language,
        plan.sort,
        plan.collapse,
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def _encode_cursor(fingerprint: str, key: tuple[Any, str]) -> str:
    payload = json.dumps({"q": fingerprint, "k": key[0], "id": key[1]})
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, fingerprint: str) -> tuple[Any, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        key, article_id = payload["k"], payload["id"]
        if payload["q"] != fingerprint:
            raise SearchError("this cursor belongs to a different query; start from page 1")
        if not isinstance(key, str | float | int) or not isinstance(article_id, str):
            raise ValueError("bad cursor fields")
    except SearchError:
        raise
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise SearchError("invalid cursor; start from page 1") from exc
    return key, article_id


# -- more like this ------------------------------------------------------------------------------


def _distinctive_terms(
    conn: sqlite3.Connection, tables: _Tables, title: str, text: str
) -> list[str]:
    """The document's top stems by tf x idf, using a one-row probe table for its tf."""
    conn.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.mlt_probe "
        f"USING fts5(title, text, tokenize='{TOKENIZER}')"
    )
    conn.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.mlt_probe_terms "
        "USING fts5vocab(temp, mlt_probe, col)"
    )
    conn.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{tables.fts}_terms "
        f"USING fts5vocab(main, {tables.fts}, row)"
    )
    conn.execute("DELETE FROM temp.mlt_probe")
    conn.execute("INSERT INTO temp.mlt_probe (rowid, title, text) VALUES (1, ?, ?)", (title, text))
    frequency: dict[str, float] = {}
    for term, column, count in conn.execute("SELECT term, col, cnt FROM temp.mlt_probe_terms"):
        weight = TITLE_WEIGHT if column == "title" else TEXT_WEIGHT
        frequency[term] = frequency.get(term, 0.0) + weight * count
    documents = _count(conn, tables)
    scored = []
    for term, tf in frequency.items():
        if len(term) < 3 or term.isdigit():
            continue
        row = conn.execute(
            f"SELECT doc FROM temp.{tables.fts}_terms WHERE term = ?", (term,)
        ).fetchone()
        df = int(row[0]) if row else 0
        # In another document, but not in half of them (bm25 gives those no weight anyway).
        if 2 <= df <= documents / 2:
            scored.append((tf * math.log(documents / df), term))
    scored.sort(key=lambda item: (-item[0], item[1]))
    chosen: list[str] = []
    for weight, term in scored:
        if weight <= 0 or len(chosen) == MLT_TERMS:
            break
        # Porter is not idempotent ("agre" -> "agr"): keep a stem only if, as a query, it
        # finds the document it came from.
        if conn.execute(
            "SELECT 1 FROM temp.mlt_probe WHERE mlt_probe MATCH ?", (_quote(term),)
        ).fetchone():
            chosen.append(term)
    return chosen
