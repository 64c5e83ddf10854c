"""The parsed query as an FTS5 MATCH expression, and the filters as SQL: a search plan."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pipeline.cjk import CJK_RUN, has_cjk, words
from pipeline.index.base import SearchError, SearchQuery
from pipeline.index.paging import Sort, date_bounds, effective_sort
from pipeline.index.query import And, Node, Not, Or, Phrase, Term, positive_terms
from pipeline.index.sqlite_fts.documents import domain_key, timestamp
from pipeline.index.sqlite_fts.schema import Tables, marks

TITLE_WEIGHT = 3.0
# Tokens allowed between the words of a Chinese term, per word (search mode's inner words).
NEAR_PER_WORD = 3
TEXT_WEIGHT = 1.0


@dataclass
class Filters:
    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, clause: str, *params: Any) -> None:
        self.clauses.append(clause)
        self.params.extend(params)


@dataclass(frozen=True)
class Plan:
    """Everything a search needs besides the tables: match expression, filters, order."""

    match: str | None
    filters: Filters
    sort: Sort
    collapse: bool
    terms: tuple[str, ...] = ()  # the words searched for, for snippets of Chinese text


def quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def cjk_match(text: str, *, prefix: bool = False) -> str:
    """A term with Chinese in it, as the index stores it: its jieba words, near each other.

    The index holds jieba's search-mode words (pipeline.cjk.segmented); a query word is cut
    the same way. One word is a plain string; several must occur within a few tokens of
    each other, because search mode puts the inner words of a long word between them
    (香港国安法 is indexed as 香港 国安 国安法, queried as 香港 + 国安法).
    """
    tokens: list[str] = []
    for piece in text.split():
        start = 0
        for run in CJK_RUN.finditer(piece):
            tokens += [t for t in re.split(r"[^\w]+", piece[start : run.start()]) if t]
            tokens += words(run.group())
            start = run.end()
        tokens += [t for t in re.split(r"[^\w]+", piece[start:]) if t]
    quoted = [quote(t) for t in tokens] or [quote(text)]
    if prefix:
        quoted[-1] += "*"
    if len(quoted) == 1:
        return quoted[0]
    return f"NEAR({' '.join(quoted)}, {NEAR_PER_WORD * len(quoted)})"


def render(node: Node) -> str:
    """The FTS5 MATCH expression for a parsed query; every term is a quoted string."""
    if isinstance(node, Term | Phrase):
        words = node.text if isinstance(node, Term) else " ".join(node.words)
        prefix = isinstance(node, Term) and node.prefix
        expr = cjk_match(words, prefix=prefix) if has_cjk(words) else quote(words)
        if prefix and not has_cjk(words):
            expr += "*"
        return f"{node.field} : {expr}" if node.field else expr
    if isinstance(node, Or):
        return "(" + " OR ".join(render(item) for item in node.items) + ")"
    if isinstance(node, And):
        positive = [render(i) for i in node.items if not isinstance(i, Not)]
        expr = "(" + " AND ".join(positive) + ")"
        for item in node.items:
            if isinstance(item, Not):  # FTS5 NOT is binary: subtract from what we have so far
                expr = f"({expr} NOT {render(item.item)})"
        return expr
    raise SearchError("NOT needs something to subtract from")  # parse_query rejects this


def make_plan(query: SearchQuery, node: Node | None) -> Plan:
    sort = effective_sort(query, node is not None)
    filters = Filters()
    since, until = date_bounds(query)
    if since is not None:
        filters.add("d.published_at >= ?", timestamp(since))
    if until is not None:
        filters.add("d.published_at < ?", timestamp(until))
    sources = [s.strip().casefold() for s in query.sources if s.strip()]
    if sources:
        domains = [domain_key(s) for s in sources]
        filters.add(
            f"(d.outlet_key IN ({marks(sources)}) OR d.domain_key IN ({marks(domains)}))",
            *sources,
            *domains,
        )
    threads = [t for t in query.threads if t.strip()]
    if threads:
        # A thread in the array has its JSON form (json.dumps, as documents are written) in
        # the column's text: instr() passes over most others before json_each decides.
        quoted = [json.dumps(t) for t in threads]
        filters.add(
            f"({' OR '.join(['instr(d.threads, ?) > 0'] * len(quoted))}) AND EXISTS "
            f"(SELECT 1 FROM json_each(d.threads) AS j WHERE j.value IN ({marks(threads)}))",
            *quoted,
            *threads,
        )
    if query.relation is not None:
        filters.add("d.relation = ?", query.relation)
    if query.language is not None:
        filters.add("d.language = ?", query.language)
    if query.perspective is not None:
        filters.add("d.perspective = ?", query.perspective)
    match = render(node) if node is not None else None
    terms = tuple(
        t.text if isinstance(t, Term) else " ".join(t.words) for t in positive_terms(node)
    )
    return Plan(match, filters, sort, query.collapse, terms)


def score_sql(tables: Tables) -> str:
    """A match's score: higher is better."""
    return f"-bm25({tables.fts}, {TITLE_WEIGHT}, {TEXT_WEIGHT})"


def group_sql(collapse: bool) -> str:
    """The key hits are collapsed by: the story cluster (an article without one is its own)."""
    return "coalesce('c:' || d.cluster_id, 'a:' || d.article_id)" if collapse else "d.article_id"


def matched_sql(
    tables: Tables, plan: Plan, *, with_score: bool, collapse: bool
) -> tuple[str, list[Any]]:
    """SELECT of the matching documents: rid, article_id, pk (date key), score, grp."""
    params: list[Any] = []
    if plan.match is None:
        source, where, score = f"{tables.docs} AS d", [], "0.0"
    else:
        # By rid the planner would read the documents' rows; the filters index has all a
        # match is filtered, sorted and collapsed by (see schema._FILTERS_INDEX).
        source = (
            f"{tables.fts} JOIN {tables.docs} AS d INDEXED BY {tables.filters_index} "
            f"ON d.rid = {tables.fts}.rowid"
        )
        where = [f"{tables.fts} MATCH ?"]
        params.append(plan.match)
        score = score_sql(tables) if with_score else "0.0"
    where += plan.filters.clauses
    params += plan.filters.params
    sql = (
        f"SELECT d.rid AS rid, d.article_id AS article_id, coalesce(d.published_at, '') AS pk, "
        f"{score} AS score, {group_sql(collapse)} AS grp FROM {source} "
        f"WHERE {' AND '.join(where) or '1'}"
    )
    return sql, params
