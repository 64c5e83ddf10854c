"""IndexDocuments as rows of the documents table, written with one savepoint each."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from pipeline.index.base import IndexOutcome
from pipeline.index.sqlite_fts.schema import Tables, marks, segmented_or_none
from pipeline.records import IndexDocument

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LAST_SPACE = re.compile(r"\s+\S*\Z")

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
    "perspective",
    "title_terms",
    "text_terms",
)

# One generation of the index. The FTS5 table is external-content over the documents
# table, kept in step by triggers inside the writer's transaction.

_UPSERT = (
    "INSERT INTO {docs} ({cols}) VALUES ({marks}) ON CONFLICT (article_id) DO UPDATE SET {sets}"
)


def truncate_text(text: str, limit: int) -> str:
    """Cut text to at most `limit` characters, at the last word boundary before the cut."""
    if len(text) <= limit:
        return text
    head = text[: limit + 1]
    space = _LAST_SPACE.search(head)
    cut = head[: space.start()] if space and space.start() > 0 else text[:limit]
    return cut.rstrip()


def timestamp(value: datetime) -> str:
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_timestamp(value: str | None) -> datetime | None:
    return None if not value else datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)


def _clean(text: str) -> str:
    return _CONTROL.sub(" ", text)


def domain_key(value: str) -> str:
    key = value.strip().casefold()
    return key[4:] if key.startswith("www.") else key


def _row(doc: IndexDocument, max_text_chars: int) -> tuple[object, ...]:
    if not isinstance(doc.article_id, str) or not doc.article_id:
        raise ValueError("article_id must be a non-empty string")
    published = timestamp(doc.published_at) if doc.published_at is not None else None
    title = _clean(doc.title)
    text = truncate_text(_clean(doc.text), max_text_chars)
    return (
        doc.article_id,
        doc.canonical_url,
        title,
        text,
        published,
        doc.date_source,
        timestamp(doc.indexed_at),
        doc.outlet,
        doc.outlet.strip().casefold(),
        doc.domain,
        domain_key(doc.domain),
        doc.language,
        json.dumps(list(doc.threads)),
        doc.relation,
        doc.seed_similarity,
        doc.cluster_id,
        doc.author,
        doc.perspective,
        segmented_or_none(title),
        segmented_or_none(text),
    )


def upsert(
    conn: sqlite3.Connection,
    targets: Sequence[Tables],
    docs: Sequence[IndexDocument],
    max_text_chars: int,
) -> list[IndexOutcome]:
    """Write each document to every target; a bad document fails alone.

    The batch goes in with one executemany per target inside a savepoint (the fast path);
    if SQLite refuses any row, the savepoint is rolled back and the rows are written one
    savepoint each, so only the bad document fails.
    """
    sets = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "article_id")
    statements = [
        _UPSERT.format(docs=t.docs, cols=", ".join(_COLUMNS), marks=marks(_COLUMNS), sets=sets)
        for t in targets
    ]
    outcomes: list[IndexOutcome | None] = []
    rows: list[tuple[int, tuple[object, ...]]] = []
    for doc in docs:
        article_id = str(getattr(doc, "article_id", ""))
        try:
            rows.append((len(outcomes), _row(doc, max_text_chars)))
        except (AttributeError, TypeError, ValueError) as exc:
            outcomes.append(IndexOutcome(article_id, ok=False, error=f"invalid document: {exc}"))
            continue
        outcomes.append(None)
    if rows and _write(conn, statements, [row for _, row in rows]) is not None:
        for position, row in rows:
            refused = _write(conn, statements, [row])
            if refused is not None:
                outcomes[position] = IndexOutcome(
                    str(row[0]), ok=False, error=f"rejected: {refused}"
                )
    return [
        outcome if outcome is not None else IndexOutcome(str(docs[i].article_id), ok=True)
        for i, outcome in enumerate(outcomes)
    ]


def insert_new(
    conn: sqlite3.Connection, tables: Tables, docs: Iterable[IndexDocument], max_text_chars: int
) -> None:
    """Documents not in the table yet, in one executemany (a bulk load: any refusal fails
    the whole load, unlike `upsert`)."""
    conn.executemany(
        f"INSERT INTO {tables.docs} ({', '.join(_COLUMNS)}) VALUES ({marks(_COLUMNS)})",
        (_row(doc, max_text_chars) for doc in docs),
    )


_REFUSALS = (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.ProgrammingError)


def _write(
    conn: sqlite3.Connection, statements: list[str], rows: list[tuple[object, ...]]
) -> Exception | None:
    """All rows to every target in one savepoint; on refusal nothing is written and the
    error is returned."""
    conn.execute("SAVEPOINT docs")
    try:
        for statement in statements:
            conn.executemany(statement, rows)
    except _REFUSALS as exc:
        conn.execute("ROLLBACK TO docs")
        return exc
    finally:
        conn.execute("RELEASE docs")
    return None
