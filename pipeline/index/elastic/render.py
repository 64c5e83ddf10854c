"""The parsed query and filters as Elasticsearch query DSL (user text never reaches
``query_string``), with the sort, collapse and highlight clauses of a search."""

from __future__ import annotations

from typing import Any

from pipeline.cjk import has_cjk
from pipeline.index.base import SearchError, SearchQuery
from pipeline.index.paging import Sort, date_bounds
from pipeline.index.query import And, Node, Not, Or, Phrase, Term, positive_terms

TEXT_FIELDS = ("title", "text")
CJK_SUBFIELD = "cjk"  # schemas/elasticsearch/index-template.json: the built-in cjk analyzer
TITLE_BOOST = 3.0  # as FTS5's TITLE_WEIGHT: a headline word says more than a body word
SNIPPET_CHARS = 200
MAX_ALSO_PUBLISHED = 100  # Elasticsearch's default index.max_inner_result_window
HIT_FIELDS = [
    "article_id",
    "story_id",
    "cluster_id",
    "canonical_url",
    "title",
    "outlet",
    "domain",
    "published_at",
    "threads",
    "relation",
    "language",
    "perspective",
]


def bool_query(node: Node | None, query: SearchQuery) -> dict[str, Any]:
    clauses: dict[str, Any] = {"filter": filters(query)}
    if node is not None:
        clauses["must"] = [render(node)]
    return {"bool": clauses}


def render(node: Node) -> dict[str, Any]:
    if isinstance(node, Term | Phrase):
        fields = (node.field,) if node.field else TEXT_FIELDS
        clauses = [leaf(node, f) for f in fields]
        return clauses[0] if len(clauses) == 1 else any_of(clauses)
    if isinstance(node, Or):
        return any_of([render(item) for item in node.items])
    if isinstance(node, And):
        must = [render(i) for i in node.items if not isinstance(i, Not)]
        must_not = [render(i.item) for i in node.items if isinstance(i, Not)]
        return {"bool": {"must": must, "must_not": must_not}}
    raise SearchError("NOT needs something to subtract from")  # parse_query rejects this


def any_of(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def leaf(node: Term | Phrase, field: str) -> dict[str, Any]:
    boost = TITLE_BOOST if field == "title" else 1.0
    if isinstance(node, Term) and node.prefix:
        # analysed (folded, stemmed) like a word, then the last stem is a prefix
        query = {"query": node.text, "operator": "and", "boost": boost}
        return {"match_bool_prefix": {analysed_field(field, node.text): query}}
    # a word that analyses into several tokens ("u.k") is a phrase, as in FTS5
    words = node.text if isinstance(node, Term) else " ".join(node.words)
    return {"match_phrase": {analysed_field(field, words): {"query": words, "boost": boost}}}


def analysed_field(field: str, words: str) -> str:
    """Chinese is looked up in the `cjk` subfield (overlapping bigrams), the rest as before."""
    return f"{field}.{CJK_SUBFIELD}" if has_cjk(words) else field


def filters(query: SearchQuery) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = []
    since, until = date_bounds(query)
    if since is not None or until is not None:
        bounds = {"gte": since, "lt": until}
        dates = {k: v.isoformat() for k, v in bounds.items() if v is not None}
        clauses.append({"range": {"published_at": dates}})  # undated articles never pass
    sources = [s.strip() for s in query.sources if s.strip()]
    if sources:
        # both fields have a lower-casing normalizer, which applies to these values too
        domains = [s[4:] if s.lower().startswith("www.") else s for s in sources]
        outlet = {"terms": {"outlet.caseless": sources}}
        clauses.append(any_of([outlet, {"terms": {"domain": domains}}]))
    threads = [t for t in query.threads if t.strip()]
    if threads:
        clauses.append({"terms": {"threads": threads}})
    if query.relation is not None:
        clauses.append({"term": {"relation": query.relation}})
    if query.language is not None:
        clauses.append({"term": {"language": query.language}})
    if query.perspective is not None:
        clauses.append({"term": {"perspective": query.perspective}})
    return clauses


def sort_clause(order: Sort) -> list[dict[str, Any]]:
    # article_id (a keyword copy of the id) breaks ties, so cursors never skip or repeat
    tie_break = {"article_id": {"order": "asc"}}
    if order == "date":
        return [{"published_at": {"order": "desc", "missing": "_last"}}, tie_break]
    return [{"_score": {"order": "desc"}}, tie_break]


def collapse(es_sort: list[dict[str, Any]]) -> dict[str, Any]:
    copies = {"name": "copies", "size": MAX_ALSO_PUBLISHED, "_source": ["outlet"], "sort": es_sort}
    return {"field": "story_id", "inner_hits": copies}


def highlight(node: Node | None) -> dict[str, Any]:
    """<mark> around the matched words of the text, HTML-escaped; else the text's start."""
    field: dict[str, Any] = {
        "number_of_fragments": 1,
        "fragment_size": SNIPPET_CHARS,
        "no_match_size": SNIPPET_CHARS,
    }
    # only the words looked for (never the NOT ones), and only those that may be in the text
    terms = [t for t in positive_terms(node) if t.field in (None, "text")]
    if terms:
        field["highlight_query"] = any_of([leaf(t, "text") for t in terms])
    # a subfield highlights the same stored text, with the analysis its query matched
    chinese = any(has_cjk(t.text if isinstance(t, Term) else " ".join(t.words)) for t in terms)
    return {
        "pre_tags": ["<mark>"],
        "post_tags": ["</mark>"],
        "encoder": "html",
        "fields": {f"text.{CJK_SUBFIELD}" if chinese else "text": field},
    }
