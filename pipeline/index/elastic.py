"""The Elasticsearch backend of the search index.

Layout (the mapping lives in ``pipeline/schemas/elasticsearch/index-template.json``):

- versioned indices ``PREFIX-v1``, ``PREFIX-v2``, … created through an index template;
- searchers read through the alias ``PREFIX``, writers write through ``PREFIX-write``;
- a rebuild points the write alias at a new ``PREFIX-v(N+1)``, fills it, then moves the
  read alias there and deletes the old index in one atomic ``_aliases`` call. While it
  runs, new writes go to both indices, so nothing is lost whether it succeeds or fails.

Search behaves as the SQLite FTS5 backend documents (``pipeline.index.sqlite_fts``; the
contract tests run both): Porter-stemmed, accent-folded English without stop words; the
query tree from ``pipeline.index.query`` is rendered into a bool query (user text never
reaches ``query_string``); a prefix is analysed like a word, then matched as a prefix;
the same filters, sorts, collapsing, timeline buckets and cursor rules.

Collapsing with stable paging: Elasticsearch refuses ``collapse`` with ``search_after``
unless the sort is the collapse field, so pages are cut over the uncollapsed hits (sort
values + article-id tie-break) and each story is shown where its best-ranked member is.
A second, collapsed query over the stories in a batch finds those best members, with
their highlights and the other outlets of the story ("also published by").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import struct
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import islice
from typing import Any, Literal

from elastic_transport import BaseNode
from elasticsearch import ApiError, BadRequestError, Elasticsearch, NotFoundError, TransportError
from elasticsearch.helpers import streaming_bulk

from pipeline import schemas
from pipeline.config import ElasticsearchSettings
from pipeline.index.base import (
    BackendUnavailable,
    IndexOutcome,
    SearchError,
    SearchHit,
    SearchPage,
    SearchQuery,
    TimelineBucket,
)
from pipeline.index.query import And, Node, Not, Or, Phrase, Term, parse_query, positive_terms
from pipeline.records import IndexDocument, as_utc

log = logging.getLogger(__name__)

TEMPLATE = "elasticsearch/index-template.json"  # in pipeline/schemas/
TEXT_FIELDS = ("title", "text")
TITLE_BOOST = 3.0  # as FTS5's TITLE_WEIGHT: a headline word says more than a body word
MAX_LIMIT = 1000
MAX_WINDOW = 10_000  # Elasticsearch's default index.max_result_window: the largest size
SNIPPET_CHARS = 200
MLT_TERMS = 12
MAX_ALSO_PUBLISHED = 100  # Elasticsearch's default index.max_inner_result_window
BULK_RETRIES = 3  # for items a busy cluster rejects with 429, with backoff
_HIT_FIELDS = [
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
]

Sort = Literal["relevance", "date"]


def make_es_client(
    settings: ElasticsearchSettings, node_class: type[BaseNode] | None = None
) -> Elasticsearch:
    """The official client, configured from settings. `node_class` is for tests only."""
    options: dict[str, Any] = {
        "request_timeout": settings.request_timeout_seconds,
        "verify_certs": settings.verify_certs,
    }
    if settings.ca_certs is not None:
        options["ca_certs"] = str(settings.ca_certs)
    if settings.api_key is not None:
        options["api_key"] = settings.api_key.get_secret_value()
    elif settings.username:
        password = settings.password.get_secret_value() if settings.password else ""
        options["basic_auth"] = (settings.username, password)
    if node_class is not None:
        options["node_class"] = node_class
    return Elasticsearch(settings.url, **options)


@lru_cache(maxsize=1)
def _template_file() -> dict[str, Any]:
    return schemas.load(TEMPLATE)


def index_template(prefix: str) -> dict[str, Any]:
    """The index template body for the indices PREFIX-vN."""
    template = json.loads(json.dumps(_template_file()))  # a deep copy to fill in
    template["index_patterns"] = [p.replace("{prefix}", prefix) for p in template["index_patterns"]]
    return template


def schema_version() -> int:
    return int(_template_file()["template"]["mappings"]["_meta"]["schema_version"])


def max_indexed_chars() -> int:
    """Highlighting refuses longer texts (index.highlight.max_analyzed_offset)."""
    settings = _template_file()["template"]["settings"]["index"]
    return int(settings["highlight"]["max_analyzed_offset"])


def clip_text(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` UTF-16 units (Lucene's characters), at a word boundary.

    An emoji is two units for Lucene, so the length is measured in UTF-16.
    """
    if len(text.encode("utf-16-le")) // 2 <= limit:
        return text
    cut = text[:limit]
    while (excess := len(cut.encode("utf-16-le")) // 2 - limit) > 0:
        cut = cut[: len(cut) - max(1, excess // 2)]  # a character is at most 2 units
    space = cut.rfind(" ", max(0, len(cut) - 200))  # do not end on half a word
    return (cut[:space] if space > 0 else cut).rstrip()


class ElasticIndex:
    """SearchIndex over an Elasticsearch 9 cluster; see the module docstring."""

    name = "elasticsearch"

    def __init__(
        self,
        settings: ElasticsearchSettings,
        *,
        max_text_chars: int = 200_000,
        node_class: type[BaseNode] | None = None,
    ) -> None:
        self.settings = settings
        self.client = make_es_client(settings, node_class)
        self.read_alias = settings.index_prefix
        self.write_alias = f"{settings.index_prefix}-write"
        self.max_text_chars = min(max_text_chars, max_indexed_chars())
        self._version_re = re.compile(rf"^{re.escape(settings.index_prefix)}-v(\d+)$")

    def __repr__(self) -> str:  # never the client's: it holds the credentials
        return f"ElasticIndex(url={self.settings.url!r}, prefix={self.read_alias!r})"

    # -- index maintenance -------------------------------------------------------------

    def ensure_ready(self) -> None:
        """Install the template; create PREFIX-v1 behind both aliases if there is no index."""
        with self._backend_errors():
            self.client.indices.put_index_template(
                name=self.read_alias, body=index_template(self.read_alias)
            )
            live = self._alias_target(self.read_alias)
            if live is not None:
                if self._alias_target(self.write_alias) is None:
                    self._move_alias(self.write_alias, None, live)
                return
            first = self._version_name(self._max_version() + 1)
            try:
                self.client.indices.create(
                    index=first, aliases={self.read_alias: {}, self.write_alias: {}}
                )
            except BadRequestError as exc:
                if exc.error != "resource_already_exists_exception":
                    raise
                return  # another process created it first
        log.info("created search index %s behind %s and %s", first, *self._aliases)

    def rebuild(self, docs: Iterable[IndexDocument]) -> int:
        """Fill a new versioned index, then swap the read alias to it and drop the old one."""
        self.ensure_ready()
        with self._backend_errors():
            live = self._alias_target(self.read_alias)
            writer = self._alias_target(self.write_alias)
            self._drop_orphans()
            new = self._version_name(self._max_version() + 1)
            self.client.indices.create(index=new)
            self._move_alias(self.write_alias, writer, new)
        log.info("rebuilding search index into %s (searches use %s until it is done)", new, live)
        try:
            indexed = self._bulk_load(new, docs)
            with self._backend_errors():
                self.client.indices.refresh(index=new)
                actions: list[dict[str, Any]] = [{"add": {"index": new, "alias": self.read_alias}}]
                for old in sorted({i for i in (live, writer) if i is not None} - {new}):
                    actions.append({"remove_index": {"index": old}})
                self.client.indices.update_aliases(actions=actions)
        except BaseException:
            self._abandon(new, live)
            raise
        log.info("search index %s is live with %d documents", new, indexed)
        return indexed

    def refresh(self) -> None:
        """Make recent writes searchable now (Elasticsearch does it every second anyway)."""
        with self._backend_errors():
            self.client.indices.refresh(index=list(self._write_targets()))

    def count(self) -> int:
        with self._backend_errors():
            return int(self.client.count(index=self.read_alias)["count"])

    def health(self) -> dict[str, object]:
        with self._backend_errors():
            cluster = self.client.cluster.health()
            documents = self.count()
            index = self._alias_target(self.read_alias)
            writer = self._alias_target(self.write_alias)
            meta: dict[str, Any] = {}
            if index is not None:
                mapping = self.client.indices.get_mapping(index=index)
                meta = mapping[index]["mappings"].get("_meta", {})
        return {
            "backend": self.name,
            "url": self.settings.url,
            "status": cluster["status"],  # green/yellow serve searches; red may not
            "cluster": cluster["cluster_name"],
            "nodes": cluster["number_of_nodes"],
            "index": index,
            "write_index": writer,
            "rebuilding": writer != index,
            "documents": documents,
            "schema_version": meta.get("schema_version"),
            "template_schema_version": schema_version(),
        }

    # -- writes ------------------------------------------------------------------------

    def index(self, docs: Sequence[IndexDocument]) -> list[IndexOutcome]:
        if not docs:
            return []
        outcomes: dict[str, IndexOutcome] = {}
        whole_request_failed = 0
        try:
            with self._backend_errors():
                targets = self._write_targets()
            actions = (self._action(t, doc) for doc in docs for t in targets)
            for ok, item in self._bulk(actions):
                info = item["index"]
                article_id = str(info["_id"])
                earlier = outcomes.get(article_id)
                if earlier is None or earlier.ok:  # during a rebuild: ok only if ok in both
                    error = None if ok else _reason(info)
                    outcomes[article_id] = IndexOutcome(article_id, ok, error)
                whole_request_failed += "exception" in info
        except (TransportError, BackendUnavailable) as exc:
            if not outcomes:
                raise BackendUnavailable(f"Elasticsearch is unreachable: {exc}") from exc
            log.warning(
                "Elasticsearch went away after %d of %d documents", len(outcomes), len(docs)
            )
        if whole_request_failed and not any(o.ok for o in outcomes.values()):
            reason = next(o.error for o in outcomes.values())
            raise BackendUnavailable(f"Elasticsearch refused the request: {reason}")
        unsent = "not sent: Elasticsearch became unreachable"
        return [outcomes.get(d.article_id, IndexOutcome(d.article_id, False, unsent)) for d in docs]

    def delete(self, article_ids: Sequence[str]) -> None:
        with self._backend_errors():
            targets = self._write_targets()
            actions = (
                {"_op_type": "delete", "_index": target, "_id": article_id}
                for article_id in dict.fromkeys(article_ids)
                for target in targets
            )
            failed = [
                item["delete"]
                for ok, item in self._bulk(actions)
                if not ok and item["delete"].get("status") != 404  # already gone is fine
            ]
        if failed:
            raise BackendUnavailable(f"{len(failed)} deletions failed: {_reason(failed[0])}")

    # -- search ------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchPage:
        _check_limit(query.limit)
        node = parse_query(query.text)
        sort = _effective_sort(query, node)
        fingerprint = _fingerprint(query, sort)
        after = _decode_cursor(query.cursor, fingerprint) if query.cursor else None
        es_query, es_sort = _bool_query(node, query), _sort(sort)
        with self._backend_errors(), _rejections_as_search_errors():
            if query.collapse:
                shown, total, more = self._collapsed(node, es_query, es_sort, after, query.limit)
            else:
                shown, total, more = self._uncollapsed(node, es_query, es_sort, after, query.limit)
        return SearchPage(
            hits=[_hit(raw, also) for raw, also in shown],
            total=total,
            next_cursor=_encode_cursor(fingerprint, shown[-1][0]["sort"]) if more else None,
        )

    def timeline(
        self, query: SearchQuery, interval: Literal["day", "week"] = "day"
    ) -> list[TimelineBucket]:
        if interval not in ("day", "week"):
            raise SearchError(f"unknown timeline interval {interval!r}; use 'day' or 'week'")
        node = parse_query(query.text)
        aggs = {
            "timeline": {
                "date_histogram": {
                    "field": "published_at",
                    "calendar_interval": interval,  # weeks start on Monday
                    "time_zone": "UTC",
                    "min_doc_count": 1,
                },
                "aggs": {  # exact up to 40000 stories per bucket
                    "stories": {"cardinality": {"field": "story_id", "precision_threshold": 40000}}
                },
            }
        }
        with self._backend_errors(), _rejections_as_search_errors():
            response = self.client.search(
                index=self.read_alias, query=_bool_query(node, query), aggs=aggs, size=0
            )
        found = {
            _day(b["key"]): (int(b["doc_count"]), int(b["stories"]["value"]))
            for b in response["aggregations"]["timeline"]["buckets"]
        }
        return _with_gaps(found, timedelta(days=1 if interval == "day" else 7))

    def more_like_this(self, article_id: str, limit: int = 10) -> list[SearchHit]:
        """Other stories sharing the most distinctive stems with this article."""
        _check_limit(limit)
        with self._backend_errors():
            try:
                doc = self.client.get(
                    index=self.read_alias, id=article_id, source_includes=["story_id"]
                )
            except NotFoundError:
                return []
            like = {
                "more_like_this": {
                    "fields": list(TEXT_FIELDS),
                    "like": [{"_index": doc["_index"], "_id": article_id}],
                    "max_query_terms": MLT_TERMS,
                    "min_term_freq": 1,
                    "min_doc_freq": 2,  # the stem must occur in at least one other article
                    "min_word_length": 3,
                    "minimum_should_match": 1,
                }
            }
            # the article's own copies are already its "also published by"
            other_stories = {"term": {"story_id": doc["_source"]["story_id"]}}
            response = self.client.search(
                index=self.read_alias,
                query={"bool": {"must": [like], "must_not": [other_stories]}},
                sort=_sort("relevance"),
                size=limit,
                track_scores=True,
                source_includes=_HIT_FIELDS,
                collapse=_collapse(_sort("relevance")),
                highlight=_highlight(None),
            )
        return [_hit(h, _other_outlets(h)) for h in response["hits"]["hits"]]

    # -- search internals --------------------------------------------------------------

    def _uncollapsed(
        self,
        node: Node | None,
        es_query: dict[str, Any],
        es_sort: list[dict[str, Any]],
        after: list[Any] | None,
        limit: int,
    ) -> tuple[list[tuple[dict[str, Any], list[str]]], int, bool]:
        scan = _Scan(self.client, self.read_alias, es_query, es_sort, after, batch=limit + 1)
        fields = {"source_includes": _HIT_FIELDS, "highlight": _highlight(node)}
        hits = list(islice(scan.hits(track_scores=node is not None, **fields), limit + 1))
        return [(h, []) for h in hits[:limit]], scan.total, len(hits) > limit

    def _collapsed(
        self,
        node: Node | None,
        es_query: dict[str, Any],
        es_sort: list[dict[str, Any]],
        after: list[Any] | None,
        limit: int,
    ) -> tuple[list[tuple[dict[str, Any], list[str]]], int, bool]:
        """One hit per story, at the rank of the story's best member (see module docstring)."""
        batch = min(max(4 * (limit + 1), 100), MAX_LIMIT)
        scan = _Scan(self.client, self.read_alias, es_query, es_sort, after, batch=batch)
        shown: list[tuple[dict[str, Any], list[str]]] = []
        placed: set[str] = set()  # stories already decided on, in this page
        for raw in scan.batches(source_includes=["story_id"]):
            stories = [s for s in dict.fromkeys(_story(h) for h in raw) if s not in placed]
            leaders = self._leaders(node, es_query, es_sort, stories) if stories else {}
            for h in raw:
                if _story(h) in placed:
                    continue  # a lower-ranked copy of a story already placed
                placed.add(_story(h))
                leader = leaders.get(_story(h))
                # if the best member ranks before the cursor, the story was on an earlier page
                if leader is not None and leader["_id"] == h["_id"]:
                    leader["sort"] = h["sort"]
                    shown.append((leader, _other_outlets(leader)))
                    if len(shown) > limit:
                        return shown[:limit], scan.total, True
        return shown, scan.total, False

    def _leaders(
        self,
        node: Node | None,
        es_query: dict[str, Any],
        es_sort: list[dict[str, Any]],
        stories: list[str],
    ) -> dict[str, dict[str, Any]]:
        """The best-ranked matching member of each story, with highlight and other outlets."""
        bool_query = dict(es_query["bool"])
        bool_query["filter"] = [*bool_query["filter"], {"terms": {"story_id": stories}}]
        response = self.client.search(
            index=self.read_alias,
            query={"bool": bool_query},
            sort=es_sort,
            size=len(stories),
            track_scores=node is not None,  # without words every score is 0.0, as in FTS5
            source_includes=_HIT_FIELDS,
            collapse=_collapse(es_sort),
            highlight=_highlight(node),
        )
        return {_story(h): h for h in response["hits"]["hits"]}

    # -- maintenance internals ---------------------------------------------------------

    @property
    def _aliases(self) -> tuple[str, str]:
        return self.read_alias, self.write_alias

    def _version_name(self, version: int) -> str:
        return f"{self.read_alias}-v{version}"

    def _versions(self) -> dict[str, set[str]]:
        """Every versioned index of this prefix, with the aliases it carries."""
        indices = self.client.indices.get_alias(index=f"{self.read_alias}-v*")
        return {
            name: set(info.get("aliases", {}))
            for name, info in indices.items()
            if self._version_re.match(name)
        }

    def _max_version(self) -> int:
        matches = (self._version_re.match(name) for name in self._versions())
        return max((int(m.group(1)) for m in matches if m), default=0)

    def _drop_orphans(self) -> None:
        """Delete versioned indices no alias points at (left by a rebuild that crashed)."""
        for name, aliases in self._versions().items():
            if not aliases & set(self._aliases):
                log.warning("deleting orphaned search index %s", name)
                self.client.indices.delete(index=name)

    def _alias_target(self, alias: str) -> str | None:
        try:
            targets = list(self.client.indices.get_alias(name=alias))
        except NotFoundError:
            return None
        return targets[0] if targets else None

    def _write_targets(self) -> tuple[str, ...]:
        """The write alias; during a rebuild the read alias too, so both indices stay whole."""
        if self._alias_target(self.read_alias) == self._alias_target(self.write_alias):
            return (self.write_alias,)
        return (self.read_alias, self.write_alias)

    def _move_alias(self, alias: str, source: str | None, target: str) -> None:
        actions: list[dict[str, Any]] = [{"add": {"index": target, "alias": alias}}]
        if source is not None and source != target:
            actions.insert(0, {"remove": {"index": source, "alias": alias}})
        self.client.indices.update_aliases(actions=actions)

    def _abandon(self, new: str, live: str | None) -> None:
        """Undo a failed rebuild: writers go back to the live index, the new one goes."""
        try:
            if live is not None:
                self._move_alias(self.write_alias, new, live)
            self.client.indices.delete(index=new)
            log.warning("rebuild into %s failed; searches and writes stay on %s", new, live)
        except (ApiError, TransportError) as exc:
            log.error("could not undo the failed rebuild into %s: %s", new, exc)

    def _bulk_load(self, index: str, docs: Iterable[IndexDocument]) -> int:
        """Index `docs` into the new index; documents it rejects are logged and left out."""
        indexed = 0
        rejected: list[str] = []
        actions = (self._action(index, doc) for doc in docs)
        with self._backend_errors():
            for ok, item in self._bulk(actions, require_alias=False):  # `index` is the name
                info = item["index"]
                if "exception" in info:  # the whole request failed: do not go live
                    raise BackendUnavailable(f"rebuild stopped: {_reason(info)}")
                if ok:
                    indexed += 1
                else:
                    rejected.append(f"{info.get('_id')}: {_reason(info)}")
        if rejected:
            log.warning("rebuild: %d documents rejected, e.g. %s", len(rejected), rejected[:3])
        return indexed

    def _bulk(
        self, actions: Iterable[dict[str, Any]], *, require_alias: bool = True
    ) -> Iterable[tuple[bool, dict[str, Any]]]:
        return streaming_bulk(
            self.client,
            actions,
            chunk_size=self.settings.bulk_chunk_size,
            raise_on_error=False,
            raise_on_exception=False,  # a refused request becomes failed items, not an exception
            max_retries=BULK_RETRIES,
            initial_backoff=1,
            require_alias=require_alias,  # never auto-create an index from a stale name
        )

    def _action(self, target: str, doc: IndexDocument) -> dict[str, Any]:
        return {
            "_op_type": "index",
            "_index": target,
            "_id": doc.article_id,  # deterministic: indexing again overwrites
            "_source": self._source(doc),
        }

    def _source(self, doc: IndexDocument) -> dict[str, Any]:
        published, indexed = as_utc(doc.published_at), as_utc(doc.indexed_at)
        return {
            "article_id": doc.article_id,
            "story_id": doc.cluster_id or doc.article_id,  # unclustered: a story of its own
            "cluster_id": doc.cluster_id,
            "canonical_url": doc.canonical_url,
            "title": doc.title,
            "text": clip_text(doc.text, self.max_text_chars),
            "published_at": published.isoformat() if published else None,
            "date_source": doc.date_source,
            "indexed_at": indexed.isoformat() if indexed else None,
            "outlet": doc.outlet,
            "domain": doc.domain,
            "language": doc.language,
            "threads": list(doc.threads),
            "relation": doc.relation,
            "seed_similarity": doc.seed_similarity,
            "author": doc.author,
        }

    @contextmanager
    def _backend_errors(self) -> Iterator[None]:
        """Unreachable, refusing (401/403/429) or failing (5xx) clusters: retry later."""
        try:
            yield
        except TransportError as exc:
            raise BackendUnavailable(
                f"Elasticsearch at {self.settings.url} is unreachable: {exc}"
            ) from exc
        except ApiError as exc:
            if exc.status_code in (401, 403, 429) or exc.status_code >= 500:
                raise BackendUnavailable(f"Elasticsearch refused the request: {exc}") from exc
            raise


class _Scan:
    """The matching hits in sort order, strictly after a cursor, fetched batch by batch.

    Lucene scores are float32 and travel in JSON rounded to that precision; a server that
    keeps them wider (osmem does) would repeat or skip tied hits at a page boundary when
    given the rounded score back. So each request starts just above the boundary's float32
    score and the hits up to the boundary are dropped here; exact on Elasticsearch too.
    """

    def __init__(
        self,
        client: Elasticsearch,
        index: str,
        query: dict[str, Any],
        sort: list[dict[str, Any]],
        after: list[Any] | None,
        *,
        batch: int,
    ) -> None:
        self.client, self.index, self.query, self.sort = client, index, query, sort
        self.after, self.batch = after, batch
        self.total = 0

    def batches(self, **fields: Any) -> Iterator[list[dict[str, Any]]]:
        after, size, first = self.after, self.batch, True
        request = _widened(after)
        while True:
            response = self.client.search(
                index=self.index,
                query=self.query,
                sort=self.sort,
                search_after=request,
                size=size,
                track_total_hits=first,
                **fields,
            )
            if first:
                self.total, first = int(response["hits"]["total"]["value"]), False
            raw = response["hits"]["hits"]
            yield [h for h in raw if after is None or _sorts_after(h["sort"], after)]
            if len(raw) < size:
                return
            after = raw[-1]["sort"]
            if _widened(after) == request:  # a run of ties longer than the batch: take more
                if size >= MAX_WINDOW:
                    raise SearchError("too many equally ranked hits to page through; sort by date")
                size = min(2 * size, MAX_WINDOW)
            request = _widened(after)

    def hits(self, **fields: Any) -> Iterator[dict[str, Any]]:
        for batch in self.batches(**fields):
            yield from batch


def _f32(value: float) -> float:
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def _widened(after: list[Any] | None) -> list[Any] | None:
    """A search_after just before every hit that ties with `after` at float32 precision."""
    if after is None or not isinstance(after[0], float):
        return after  # dates are exact integers
    bits = struct.unpack("<i", struct.pack("<f", after[0]))[0]
    above = struct.unpack("<f", struct.pack("<i", bits + (1 if after[0] >= 0 else -1)))[0]
    return [above, ""]  # "" sorts before every article id


def _sorts_after(values: list[Any], after: list[Any]) -> bool:
    """Whether a hit's sort values come after the cursor's (descending key, ascending id)."""
    key, cursor_key = values[0], after[0]
    if isinstance(cursor_key, float):
        key, cursor_key = _f32(key), _f32(cursor_key)
    return bool(key < cursor_key or (key == cursor_key and values[1] > after[1]))


@contextmanager
def _rejections_as_search_errors() -> Iterator[None]:
    try:
        yield
    except BadRequestError as exc:
        raise SearchError(f"the search backend rejected the query: {exc.message}") from exc


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise SearchError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")


# -- query rendering -------------------------------------------------------------------


def _bool_query(node: Node | None, query: SearchQuery) -> dict[str, Any]:
    bool_query: dict[str, Any] = {"filter": _filters(query)}
    if node is not None:
        bool_query["must"] = [_render(node)]
    return {"bool": bool_query}


def _render(node: Node) -> dict[str, Any]:
    if isinstance(node, Term | Phrase):
        fields = (node.field,) if node.field else TEXT_FIELDS
        clauses = [_leaf(node, f) for f in fields]
        return clauses[0] if len(clauses) == 1 else _any_of(clauses)
    if isinstance(node, Or):
        return _any_of([_render(item) for item in node.items])
    if isinstance(node, And):
        must = [_render(i) for i in node.items if not isinstance(i, Not)]
        must_not = [_render(i.item) for i in node.items if isinstance(i, Not)]
        return {"bool": {"must": must, "must_not": must_not}}
    raise SearchError("NOT needs something to subtract from")  # parse_query rejects this


def _any_of(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def _leaf(node: Term | Phrase, field: str) -> dict[str, Any]:
    boost = TITLE_BOOST if field == "title" else 1.0
    if isinstance(node, Term) and node.prefix:
        # analysed (folded, stemmed) like a word, then the last stem is a prefix
        query = {"query": node.text, "operator": "and", "boost": boost}
        return {"match_bool_prefix": {field: query}}
    # a word that analyses into several tokens ("u.k") is a phrase, as in FTS5
    words = node.text if isinstance(node, Term) else " ".join(node.words)
    return {"match_phrase": {field: {"query": words, "boost": boost}}}


def _filters(query: SearchQuery) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    since, until = as_utc(query.since), as_utc(query.until)
    if since is not None and until is not None and since > until:
        raise SearchError("'since' is after 'until'")
    if since is not None or until is not None:
        bounds = {"gte": since, "lt": until}
        dates = {k: v.isoformat() for k, v in bounds.items() if v is not None}
        filters.append({"range": {"published_at": dates}})  # undated articles never pass
    sources = [s.strip() for s in query.sources if s.strip()]
    if sources:
        # both fields have a lower-casing normalizer, which applies to these values too
        domains = [s[4:] if s.lower().startswith("www.") else s for s in sources]
        outlet = {"terms": {"outlet.caseless": sources}}
        filters.append(_any_of([outlet, {"terms": {"domain": domains}}]))
    threads = [t for t in query.threads if t.strip()]
    if threads:
        filters.append({"terms": {"threads": threads}})
    if query.relation is not None:
        filters.append({"term": {"relation": query.relation}})
    if query.language is not None:
        filters.append({"term": {"language": query.language}})
    return filters


def _effective_sort(query: SearchQuery, node: Node | None) -> Sort:
    if query.sort not in ("relevance", "date"):
        raise SearchError(f"unknown sort {query.sort!r}; use 'relevance' or 'date'")
    return query.sort if node is not None else "date"  # without words, relevance means nothing


def _sort(order: Sort) -> list[dict[str, Any]]:
    # article_id (a keyword copy of the id) breaks ties, so cursors never skip or repeat
    tie_break = {"article_id": {"order": "asc"}}
    if order == "date":
        return [{"published_at": {"order": "desc", "missing": "_last"}}, tie_break]
    return [{"_score": {"order": "desc"}}, tie_break]


def _collapse(es_sort: list[dict[str, Any]]) -> dict[str, Any]:
    copies = {"name": "copies", "size": MAX_ALSO_PUBLISHED, "_source": ["outlet"], "sort": es_sort}
    return {"field": "story_id", "inner_hits": copies}


def _highlight(node: Node | None) -> dict[str, Any]:
    """<mark> around the matched words of the text, HTML-escaped; else the text's start."""
    field: dict[str, Any] = {
        "number_of_fragments": 1,
        "fragment_size": SNIPPET_CHARS,
        "no_match_size": SNIPPET_CHARS,
    }
    # only the words looked for (never the NOT ones), and only those that may be in the text
    terms = [t for t in positive_terms(node) if t.field in (None, "text")]
    if terms:
        field["highlight_query"] = _any_of([_leaf(t, "text") for t in terms])
    return {
        "pre_tags": ["<mark>"],
        "post_tags": ["</mark>"],
        "encoder": "html",
        "fields": {"text": field},
    }


# -- results ---------------------------------------------------------------------------


def _story(raw: dict[str, Any]) -> str:
    return str(raw["_source"]["story_id"])


def _hit(raw: dict[str, Any], also_published_by: list[str]) -> SearchHit:
    source = raw["_source"]
    snippets = raw.get("highlight", {}).get("text", [])
    published = source.get("published_at")
    return SearchHit(
        article_id=source["article_id"],
        title=source["title"],
        url=source["canonical_url"],
        outlet=source["outlet"],
        domain=source["domain"],
        published_at=as_utc(datetime.fromisoformat(published)) if published else None,
        snippet=snippets[0] if snippets else "",
        score=float(raw.get("_score") or 0.0),
        cluster_id=source.get("cluster_id"),
        also_published_by=also_published_by,
        threads=list(source.get("threads") or []),
        relation=source.get("relation"),
        language=source.get("language"),
    )


def _other_outlets(raw: dict[str, Any]) -> list[str]:
    """Outlets of the story's other matching members, sorted case-insensitively."""
    own = raw["_source"]["outlet"].casefold()
    copies = raw.get("inner_hits", {}).get("copies", {}).get("hits", {}).get("hits", [])
    outlets = {c["_source"]["outlet"] for c in copies}
    return sorted((o for o in outlets if o.casefold() != own), key=str.casefold)


def _reason(info: dict[str, Any]) -> str:
    error = info.get("error")
    if isinstance(error, dict):
        return f"{error.get('type')}: {error.get('reason')}"
    return str(error or f"status {info.get('status')}")


def _day(epoch_ms: int) -> date:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).date()


def _with_gaps(found: dict[date, tuple[int, int]], step: timedelta) -> list[TimelineBucket]:
    """Buckets from the first to the last non-empty one, empty ones as zeros (as FTS5)."""
    if not found:
        return []
    buckets = []
    start, last = min(found), max(found)
    while start <= last:
        articles, stories = found.get(start, (0, 0))
        buckets.append(TimelineBucket(start=start, articles=articles, stories=stories))
        start += step
    return buckets


# -- cursors ---------------------------------------------------------------------------


def _fingerprint(query: SearchQuery, sort: Sort) -> str:
    """What a cursor is tied to: everything that decides the order of results, not limit."""
    parts = [
        query.text,
        as_utc(query.since).isoformat() if query.since else "",  # type: ignore[union-attr]
        as_utc(query.until).isoformat() if query.until else "",  # type: ignore[union-attr]
        sorted(s.strip().casefold() for s in query.sources),
        sorted(query.threads),
        query.relation,
        query.language,
        sort,
        query.collapse,
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def _encode_cursor(fingerprint: str, sort_values: list[Any]) -> str:
    payload = json.dumps({"q": fingerprint, "after": sort_values}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, fingerprint: str) -> list[Any]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        after = payload["after"]
        well_formed = (
            isinstance(after, list)
            and len(after) == 2
            and isinstance(after[0], int | float)
            and isinstance(after[1], str)
        )
        same_query = payload["q"] == fingerprint
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise SearchError("invalid cursor; start from page 1") from exc
    if not well_formed:
        raise SearchError("invalid cursor; start from page 1")
    if not same_query:
        raise SearchError("this cursor belongs to a different query; start from page 1")
    return list(after)
