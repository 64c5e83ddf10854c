"""One page of hits in keyset order, collapsed per cluster, with snippets and other outlets."""

from __future__ import annotations

import html
import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from pipeline.cjk import has_cjk
from pipeline.index.base import SearchHit
from pipeline.index.paging import also_published_by, search_hit
from pipeline.index.sqlite_fts.documents import parse_timestamp
from pipeline.index.sqlite_fts.render import Plan, group_sql, matched_sql, score_sql
from pipeline.index.sqlite_fts.schema import Tables, marks

SNIPPET_TOKENS = 32
SNIPPET_CHARS = 90  # for Chinese text, where a token is a word of about two characters
# Relevance search looks documents up in batches that grow by 4x from the first to the
# largest: a page usually needs only the first; a narrow filter may need many.
_FIRST_BATCH = 64
_LARGEST_BATCH = 4096


# Snippet markers: control characters are stripped from indexed text, so these can only
# come from snippet() and are swapped for <mark> after HTML-escaping.
_MARK_OPEN, _MARK_CLOSE = "\x02", "\x03"

_SPACES = re.compile(r"\s+")


def total_matches(conn: sqlite3.Connection, tables: Tables, plan: Plan) -> int:
    if plan.match is not None and not plan.filters.clauses:
        # Every FTS row has its document, so the index alone counts (no row lookups).
        sql, params = f"SELECT rowid FROM {tables.fts} WHERE {tables.fts} MATCH ?", [plan.match]
    else:
        sql, params = matched_sql(tables, plan, with_score=False, collapse=False)
    return int(conn.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0])


def search_page(
    conn: sqlite3.Connection,
    tables: Tables,
    plan: Plan,
    limit: int,
    after: tuple[Any, str] | None,
) -> tuple[list[SearchHit], list[tuple[Any, str]], bool, int]:
    """`fetch_page`, and the number of matches (before collapsing)."""
    if plan.match is not None and plan.filters.clauses:
        # Filtered text search: the pass that filters every match counts them too, and
        # scores only those that pass (a second pass just to count cost as much as this).
        matches = _filtered(conn, tables, plan)
        return (*_page(conn, tables, plan, iter(matches), limit, after), len(matches))
    total = total_matches(conn, tables, plan)
    return (*fetch_page(conn, tables, plan, limit, after), total)


def fetch_page(
    conn: sqlite3.Connection,
    tables: Tables,
    plan: Plan,
    limit: int,
    after: tuple[Any, str] | None,
) -> tuple[list[SearchHit], list[tuple[Any, str]], bool]:
    """One page of hits, their sort keys, and whether more follow."""
    return _page(conn, tables, plan, _in_order(conn, tables, plan), limit, after)


def _page(
    conn: sqlite3.Connection,
    tables: Tables,
    plan: Plan,
    matches: Iterator[Match],
    limit: int,
    after: tuple[Any, str] | None,
) -> tuple[list[SearchHit], list[tuple[Any, str]], bool]:
    key = "score" if plan.sort == "relevance" else "pk"
    # Matches in sort order; the first member of each group is its collapsed hit. Reading
    # stops once the page is full, so only its rows leave SQLite (not every match).
    seen: set[str] = set()
    chosen: dict[int, tuple[float, Any, str]] = {}  # rid -> (score, sort key, article_id)
    for rid, article_id, pk, score, group in matches:
        if group in seen:
            continue
        seen.add(group)
        sort_key = score if key == "score" else pk
        if after is not None and not _after(sort_key, article_id, after):
            continue
        chosen[rid] = (score, sort_key, article_id)
        if len(chosen) > limit:
            break
    more = len(chosen) > limit
    rids = list(chosen)[:limit]
    records = _records(conn, tables, rids)
    # In date order the matches came unscored (see _scored): the page's hits get theirs here.
    scores = _scores(conn, tables, plan, rids) if plan.sort == "date" else {}
    for record in records:
        record["score"] = scores.get(record["rid"], chosen[record["rid"]][0])
    snippets = _snippets(conn, tables, plan, records)
    others = _other_outlets(conn, tables, plan, records) if plan.collapse else {}
    hits = [_hit(r, snippets.get(r["rid"], ""), others) for r in records]
    keys = [chosen[rid][1:] for rid in rids]
    return hits, keys, more


Match = tuple[int, str, str, float, str]  # rid, article_id, pk (date key), score, group


def _in_order(conn: sqlite3.Connection, tables: Tables, plan: Plan) -> Iterator[Match]:
    """The matches in sort order (key desc, article_id asc), read as far as asked."""
    if plan.match is not None and plan.sort == "relevance":
        yield from _by_relevance(conn, tables, plan)
        return
    sql, params = matched_sql(tables, plan, with_score=_scored(plan), collapse=plan.collapse)
    # Without query text the date index gives the order, so reading can stop early; the
    # raw column sorts like pk (undated documents, NULL, last).
    order = "d.published_at DESC, d.article_id" if plan.match is None else "pk DESC, article_id"
    cursor = conn.execute(f"{sql} ORDER BY {order}", params)
    try:
        yield from cursor
    finally:
        cursor.close()


def _filtered(conn: sqlite3.Connection, tables: Tables, plan: Plan) -> list[Match]:
    """Every match that passes the filters, in sort order. bm25 is computed for these rows
    only (SQLite evaluates result columns after WHERE), not for every match of the text."""
    sql, params = matched_sql(tables, plan, with_score=_scored(plan), collapse=plan.collapse)
    order = "score DESC, article_id" if plan.sort == "relevance" else "pk DESC, article_id"
    return conn.execute(f"{sql} ORDER BY {order}", params).fetchall()


def _scored(plan: Plan) -> bool:
    """Whether matches are read with their score: in date order only a page's hits need one,
    and bm25 for every match was most of such a search."""
    return plan.sort == "relevance"


def _scores(
    conn: sqlite3.Connection, tables: Tables, plan: Plan, rids: list[int]
) -> dict[int, float]:
    """The scores of these matches (bm25 over the whole index, as when read with them)."""
    if plan.match is None or not rids:
        return {}
    # +rowid keeps the list out of FTS5: given it, FTS5 runs the query once per rowid, and
    # bm25 counts each phrase's documents over the whole index again every time (9-67 ms
    # for a page's 21 rowids against 2-8 ms for one pass over the matches).
    rows = conn.execute(
        f"SELECT rowid, {score_sql(tables)} FROM {tables.fts} "
        f"WHERE {tables.fts} MATCH ? AND +rowid IN ({marks(rids)})",
        [plan.match, *rids],
    ).fetchall()
    return dict(rows)


def _by_relevance(conn: sqlite3.Connection, tables: Tables, plan: Plan) -> Iterator[Match]:
    """Matches best first: scored and sorted inside the FTS index alone, then each batch's
    documents looked up (and filtered) by rowid. A page needs the first few dozen, so most
    of the matches are never looked up: those lookups, not bm25, were most of a search."""
    cursor = conn.execute(
        f"SELECT rowid, {score_sql(tables)} AS score FROM {tables.fts} "
        f"WHERE {tables.fts} MATCH ? ORDER BY score DESC",
        [plan.match],
    )
    size = _FIRST_BATCH
    try:
        batch = cursor.fetchmany(size)
        while batch:
            size = min(size * 4, _LARGEST_BATCH)
            following = cursor.fetchmany(size)
            # A run of equal scores goes in one batch, to be ordered by article_id there.
            while following and following[0][1] == batch[-1][1]:
                batch.append(following.pop(0))
                following = following or cursor.fetchmany(size)
            yield from _documents_of(conn, tables, plan, dict(batch))
            batch = following
    finally:
        cursor.close()


def _documents_of(
    conn: sqlite3.Connection, tables: Tables, plan: Plan, scores: dict[int, float]
) -> list[Match]:
    """The scored matches that pass the filters, best first (ties by article_id)."""
    rids = list(scores)
    where = " AND ".join([f"d.rid IN ({marks(rids)})", *plan.filters.clauses])
    rows = conn.execute(
        f"SELECT d.rid, d.article_id, coalesce(d.published_at, ''), {group_sql(plan.collapse)} "
        f"FROM {tables.docs} AS d WHERE {where}",
        [*rids, *plan.filters.params],
    ).fetchall()
    found = [(rid, article_id, pk, scores[rid], group) for rid, article_id, pk, group in rows]
    return sorted(found, key=lambda m: (-m[3], m[1]))


def _after(sort_key: Any, article_id: str, after: tuple[Any, str]) -> bool:
    """Whether a hit comes after the cursor's (keyset order: key desc, article_id asc)."""
    return bool(sort_key < after[0] or (sort_key == after[0] and article_id > after[1]))


def _records(conn: sqlite3.Connection, tables: Tables, rids: list[int]) -> list[dict[str, Any]]:
    """The documents' rows, in the order of `rids`."""
    if not rids:
        return []
    cursor = conn.execute(f"SELECT * FROM {tables.docs} WHERE rid IN ({marks(rids)})", rids)
    names = [column[0] for column in cursor.description]
    by_rid = {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    return [by_rid[rid] for rid in rids]


def _snippets(
    conn: sqlite3.Connection, tables: Tables, plan: Plan, records: list[dict[str, Any]]
) -> dict[int, str]:
    if not records:
        return {}
    if plan.match is None:
        return {r["rid"]: _lead(r["text"]) for r in records}
    rids = [r["rid"] for r in records]
    # Given the rowids, FTS5 runs the query once per rowid: a seek for words and phrases,
    # but a prefix term ("sanction"*) is expanded over the whole vocabulary each time, and
    # one pass over its matches costs less (17.7 against 2.5 ms for a page at 100k).
    rowid = "+rowid" if '"*' in plan.match else "rowid"
    rows = conn.execute(
        f"SELECT rowid, snippet({tables.fts}, 1, ?, ?, '…', {SNIPPET_TOKENS}) FROM {tables.fts} "
        f"WHERE {tables.fts} MATCH ? AND {rowid} IN ({marks(rids)})",
        [_MARK_OPEN, _MARK_CLOSE, plan.match, *rids],
    ).fetchall()
    snippets = {rid: _safe_snippet(raw or "") for rid, raw in rows}
    for record in records:
        # snippet() would show the jieba words, inner words and all: cut from the original
        if record.get("text_terms") is not None and record["rid"] in snippets:
            snippets[record["rid"]] = cjk_snippet(record["text"], plan.terms)
    return snippets


def cjk_snippet(text: str, terms: Sequence[str]) -> str:
    """About SNIPPET_CHARS characters of text around the first mention, mentions marked."""
    pattern = _mentions(terms)
    first = pattern.search(text) if pattern else None
    if pattern is None or first is None:
        return _lead(text)
    start = max(0, first.start() - SNIPPET_CHARS // 3)
    end = min(len(text), start + SNIPPET_CHARS)
    window = _SPACES.sub(" ", text[start:end])
    marked = pattern.sub(lambda m: _MARK_OPEN + m.group() + _MARK_CLOSE, window)
    raw = ("…" if start > 0 else "") + marked + ("…" if end < len(text) else "")
    return _safe_snippet(raw)


def _mentions(terms: Sequence[str]) -> re.Pattern[str] | None:
    """Chinese terms as plain substrings, others as whole words (any case)."""
    parts = []
    for term in sorted({t for t in terms if t.strip()}, key=len, reverse=True):
        words = r"\s+".join(re.escape(w) for w in term.split())
        parts.append(words if has_cjk(term) else rf"(?<!\w){words}(?!\w)")
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def _safe_snippet(raw: str) -> str:
    escaped = html.escape(_SPACES.sub(" ", raw).strip())
    return escaped.replace(_MARK_OPEN, "<mark>").replace(_MARK_CLOSE, "</mark>")


def _lead(text: str) -> str:
    if has_cjk(text):  # no spaces to count words by
        flat = _SPACES.sub(" ", text).strip()
        return html.escape(flat[:SNIPPET_CHARS] + ("…" if len(flat) > SNIPPET_CHARS else ""))
    words = text.split()
    lead = " ".join(words[:SNIPPET_TOKENS]) + ("…" if len(words) > SNIPPET_TOKENS else "")
    return html.escape(lead)


def _other_outlets(
    conn: sqlite3.Connection, tables: Tables, plan: Plan, records: list[dict[str, Any]]
) -> dict[str, list[str]]:
    clusters = sorted({r["cluster_id"] for r in records if r["cluster_id"] is not None})
    if not clusters:
        return {}
    # The page's clusters through the cluster index, each member tested against the query
    # by rowid (CROSS JOIN keeps that order): not a second pass over every match.
    source, where, params = (
        f"{tables.docs} AS d",
        [f"d.cluster_id IN ({marks(clusters)})"],
        [*clusters],
    )
    if plan.match is not None:
        source += f" CROSS JOIN {tables.fts} ON {tables.fts}.rowid = d.rid"
        where.append(f"{tables.fts} MATCH ?")
        params.append(plan.match)
    rows = conn.execute(
        f"SELECT DISTINCT d.cluster_id, d.outlet FROM {source} "
        f"WHERE {' AND '.join(where + plan.filters.clauses)}",
        [*params, *plan.filters.params],
    ).fetchall()
    outlets: dict[str, list[str]] = {}
    for cluster_id, outlet in rows:
        outlets.setdefault(cluster_id, []).append(outlet)
    return outlets


def _hit(record: dict[str, Any], snippet: str, others: dict[str, list[str]]) -> SearchHit:
    return search_hit(
        record,
        published_at=parse_timestamp(record["published_at"]),
        snippet=snippet,
        score=float(record["score"]),
        threads=list(json.loads(record["threads"])),
        also=also_published_by(record["outlet"], others.get(record["cluster_id"], [])),
    )
