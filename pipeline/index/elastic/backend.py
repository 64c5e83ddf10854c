"""ElasticIndex: the SearchIndex protocol over an Elasticsearch 9 cluster."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

from elastic_transport import BaseNode
from elasticsearch import BadRequestError, TransportError

from pipeline.config import ElasticsearchSettings
from pipeline.index.base import (
    BackendUnavailable,
    IndexOutcome,
    SearchHit,
    SearchPage,
    SearchQuery,
    TimelineBucket,
)
from pipeline.index.elastic.client import (
    backend_errors,
    bulk,
    make_es_client,
    reason,
    rejections_as_search_errors,
)
from pipeline.index.elastic.layout import ensure_indices
from pipeline.index.elastic.maintenance import Generations
from pipeline.index.elastic.pages import (
    PageRequest,
    collapsed,
    day,
    hit,
    other_outlets,
    uncollapsed,
)
from pipeline.index.elastic.render import (
    HIT_FIELDS,
    TEXT_FIELDS,
    bool_query,
    collapse,
    highlight,
    sort_clause,
)
from pipeline.index.elastic.template import max_indexed_chars, schema_version
from pipeline.index.elastic.vectors import STORY_SLACK, knn_clause, nearest_stories
from pipeline.index.elastic.writes import Copy, copies, delete_action, homes, index_actions
from pipeline.index.paging import (
    check_limit,
    decode_cursor,
    effective_sort,
    encode_cursor,
    fingerprint,
)
from pipeline.index.query import parse_query
from pipeline.index.timeline import step_days, with_gaps
from pipeline.records import IndexDocument

log = logging.getLogger(__name__)

MLT_TERMS = 12


class ElasticIndex:
    """SearchIndex over an Elasticsearch 9 cluster; see the package docstring."""

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
        self.max_text_chars = min(max_text_chars, max_indexed_chars())
        self.generations = Generations(
            self.client,
            settings.index_prefix,
            url=settings.url,
            chunk_size=settings.bulk_chunk_size,
            max_bytes=settings.bulk_max_bytes,
            max_text_chars=self.max_text_chars,
        )
        self.read_alias = self.generations.read_alias
        self.write_alias = self.generations.write_alias
        self._knn_refused = False  # the cluster refused a kNN search (see `knn`)
        self._knn_off_logged = False

    def __repr__(self) -> str:  # never the client's: it holds the credentials
        return f"ElasticIndex(url={self.settings.url!r}, prefix={self.read_alias!r})"

    # -- index maintenance -------------------------------------------------------------

    def ensure_ready(self) -> None:
        """Check the aliases exist (read-only once `setup` has run); bootstrap an empty
        cluster with `setup`."""
        self.generations.ensure_ready()

    def setup(self) -> None:
        """Install (or update) the index template and create the first index and aliases:
        `newswatch index setup`, run by ops with a credential that may manage templates."""
        self.generations.setup()

    def rebuild(self, docs: Iterable[IndexDocument]) -> int:
        return self.generations.rebuild(docs)

    def refresh(self) -> None:
        """Make recent writes searchable now (Elasticsearch does it every second anyway)."""
        with backend_errors(self.settings.url):
            self.client.indices.refresh(index=[self.read_alias, self.write_alias])

    def count(self) -> int:
        with backend_errors(self.settings.url):
            return int(self.client.count(index=self.read_alias)["count"])

    def health(self) -> dict[str, object]:
        with backend_errors(self.settings.url):
            cluster = self.client.cluster.health()
            documents = self.count()
            layout = self.generations.layout()
            live, writer = layout.live, layout.writer
            months = [n.month.label for n in layout.members(live or 0) if n.month]
            meta: dict[str, Any] = {}
            if live is not None:
                newest = layout.members(live)[-1].name
                mapping = self.client.indices.get_mapping(index=newest)
                meta = mapping[newest]["mappings"].get("_meta", {})
        return {
            "backend": self.name,
            "url": self.settings.url,
            "status": cluster["status"],  # green/yellow serve searches; red may not
            "cluster": cluster["cluster_name"],
            "nodes": cluster["number_of_nodes"],
            "index": None if live is None else self.generations.naming.generation(live),
            "write_index": None if writer is None else self.generations.naming.generation(writer),
            "rebuilding": writer != live,
            "months": f"{months[0]} to {months[-1]} ({len(months)} indices)" if months else None,
            "documents": documents,
            "schema_version": meta.get("schema_version"),
            "template_schema_version": schema_version(),
            "knn": self.knn,
        }

    # -- writes ------------------------------------------------------------------------

    def index(self, docs: Sequence[IndexDocument]) -> list[IndexOutcome]:
        """Each document into its month's index (writes.py), moving it out of any other."""
        if not docs:
            return []
        outcomes: dict[str, IndexOutcome] = {}
        whole_request_failed = 0
        try:
            with backend_errors(self.settings.url):
                layout = self.generations.writable()
                if not layout.targets():
                    raise BackendUnavailable("no search index behind the aliases: run setup")
                ensure_indices(
                    self.client, layout, {n: v for d in docs for n, v in homes(layout, d).items()}
                )
                vectors = {v: self.generations.maps_vectors(v, layout) for v in layout.targets()}
                found = self._copies([d.article_id for d in docs])
            actions = index_actions(layout, docs, found, self.max_text_chars, vectors)
            for ok, item in self._bulk(actions):
                op, info = next(iter(item.items()))
                article_id = str(info["_id"])
                ok = ok or (op == "delete" and info.get("status") == 404)  # gone already
                earlier = outcomes.get(article_id)
                if earlier is None or earlier.ok:  # ok only if every action for it is
                    error = None if ok else reason(info)
                    outcomes[article_id] = IndexOutcome(article_id, ok, error)
                whole_request_failed += "exception" in info
            if any(o.ok for o in outcomes.values()):
                # Searchable before this returns: the search service's caches start a new
                # index generation once the store records these as indexed, and must not fill
                # it from before them (the next batch's refresh then costs next to nothing).
                self.client.indices.refresh(
                    index=[self.read_alias, self.write_alias], ignore_unavailable=True
                )
        except (TransportError, BackendUnavailable) as exc:
            if not outcomes:
                raise BackendUnavailable(f"Elasticsearch is unreachable: {exc}") from exc
            log.warning(
                "Elasticsearch went away after %d of %d documents", len(outcomes), len(docs)
            )
        if whole_request_failed and not any(o.ok for o in outcomes.values()):
            first_error = next(o.error for o in outcomes.values())
            raise BackendUnavailable(f"Elasticsearch refused the request: {first_error}")
        unsent = "not sent: Elasticsearch became unreachable"
        return [outcomes.get(d.article_id, IndexOutcome(d.article_id, False, unsent)) for d in docs]

    def delete(self, article_ids: Sequence[str]) -> None:
        """Delete every copy of these articles, wherever their months are."""
        with backend_errors(self.settings.url):
            found = self._copies(article_ids)
            actions = (delete_action(c.index, i) for i, cs in found.items() for c in cs)
            failed = [
                item["delete"]
                for ok, item in self._bulk(actions)
                if not ok and item["delete"].get("status") != 404  # already gone is fine
            ]
        if failed:
            raise BackendUnavailable(f"{len(failed)} deletions failed: {reason(failed[0])}")

    def drop_expired(self, cutoff: datetime) -> list[str]:
        """Retention: delete the monthly indices holding only articles older than `cutoff`."""
        return self.generations.drop_expired(cutoff)

    def _copies(self, article_ids: Sequence[str]) -> dict[str, list[Copy]]:
        """Where these articles' documents are in the generations being written (refreshed
        first, so a document written a moment ago is found too)."""
        aliases = [self.read_alias, self.write_alias]  # a missing one holds nothing
        self.client.indices.refresh(index=aliases, ignore_unavailable=True)
        return copies(self.client, aliases, article_ids)

    def _bulk(self, actions: Iterable[dict[str, Any]]) -> Iterable[tuple[bool, dict[str, Any]]]:
        return bulk(
            self.client,
            actions,
            chunk_size=self.settings.bulk_chunk_size,
            max_bytes=self.settings.bulk_max_bytes,
            require_alias=False,  # monthly indices by name; the write path creates them
        )

    # -- search ------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchPage:
        check_limit(query.limit)
        node = parse_query(query.text)
        sort = effective_sort(query, node is not None)
        query_fingerprint = fingerprint(query, sort)
        after: list[Any] | None = None
        if query.cursor:
            # scores are floats (an integral one may come back as an int), dates epoch ms
            key_types: tuple[type, ...] = (float, int) if sort == "relevance" else (int,)
            after = list(decode_cursor(query.cursor, query_fingerprint, key_types))
        request = PageRequest(
            self.client,
            self.read_alias,
            node,
            bool_query(node, query),
            sort_clause(sort),
            after,
            query.limit,
        )
        page = collapsed if query.collapse else uncollapsed
        with backend_errors(self.settings.url), rejections_as_search_errors():
            shown, total, more = page(request)
        next_cursor = None
        if more:
            key, article_id = shown[-1][0]["sort"]
            next_cursor = encode_cursor(query_fingerprint, key, article_id)
        return SearchPage(
            hits=[hit(raw, also) for raw, also in shown], total=total, next_cursor=next_cursor
        )

    def timeline(
        self, query: SearchQuery, interval: Literal["day", "week"] = "day"
    ) -> list[TimelineBucket]:
        step_days(interval)  # an unknown interval is refused before the cluster is asked
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
        with backend_errors(self.settings.url), rejections_as_search_errors():
            response = self.client.search(
                index=self.read_alias, query=bool_query(node, query), aggs=aggs, size=0
            )
        found = {
            day(b["key"]): (int(b["doc_count"]), int(b["stories"]["value"]))
            for b in response["aggregations"]["timeline"]["buckets"]
        }
        return with_gaps(found, interval)

    def more_like_this(self, article_id: str, limit: int = 10) -> list[SearchHit]:
        """Other stories sharing the most distinctive stems with this article."""
        check_limit(limit)
        with backend_errors(self.settings.url):
            doc = self._stored(article_id)
            if doc is None:
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
                sort=sort_clause("relevance"),
                size=limit,
                track_scores=True,
                source_includes=HIT_FIELDS,
                collapse=collapse(sort_clause("relevance")),
                highlight=highlight(None),
            )
        return [hit(h, other_outlets(h)) for h in response["hits"]["hits"]]

    def _stored(self, article_id: str) -> dict[str, Any] | None:
        """The article's live document (its story id), wherever its month is: a GET needs
        the one index, and the read alias spans many."""
        hits = self.client.search(
            index=self.read_alias,
            query={"ids": {"values": [article_id]}},
            source_includes=["story_id"],
            size=1,
        )["hits"]["hits"]
        return dict(hits[0]) if hits else None

    # -- kNN -----------------------------------------------------------------------------

    @property
    def knn(self) -> bool:
        """Whether "more like this" by embedding runs here (vectors.py): the live
        generation maps the vector field (asked per call, so a rebuild that adds it counts
        at once; the mapping is read once per generation) and the cluster has not refused a
        kNN search."""
        if self._knn_refused:
            return False
        with backend_errors(self.settings.url):
            layout = self.generations.layout()
            live = layout.live is not None and self.generations.maps_vectors(layout.live, layout)
        if not live and not self._knn_off_logged:
            log.info("kNN more-like-this is off: the search index has no vector field")
            self._knn_off_logged = True
        return live

    def nearest(
        self, vector: Sequence[float], *, model: str, story_id: str, limit: int = 10
    ) -> list[tuple[str, float]] | None:
        """(article id, cosine) of the `limit` nearest other stories by embedding of `model`,
        closest first; None when kNN is off (the caller scores embeddings itself)."""
        check_limit(limit)
        if not self.knn:
            return None
        k = limit * STORY_SLACK
        try:
            with backend_errors(self.settings.url):
                response = self.client.search(
                    index=self.read_alias,
                    knn=knn_clause(vector, model, story_id, k),
                    size=k,
                    source_includes=["story_id"],
                )
        except BadRequestError as exc:
            self._knn_refused = True
            log.warning("Elasticsearch refused a kNN search (%s): kNN is off", exc.message)
            return None
        return nearest_stories(response["hits"]["hits"], limit)
