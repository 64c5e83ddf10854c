"""What only the Elasticsearch backend has: template, aliases, rebuild swaps, bulk errors,
an unreachable cluster, and credentials that never show."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import BadRequestError
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipeline.config import ElasticsearchSettings, Settings
from pipeline.index.base import BackendUnavailable, SearchQuery
from pipeline.index.elastic import ElasticIndex, clip_text, make_es_client, schema_version
from pipeline.index.elastic.months import month_of
from pipeline.index.factory import open_index
from pipeline.index.sqlite_fts import SqliteFtsIndex
from pipeline.records import IndexDocument, utcnow
from tests.index.conftest import OsmemProcess, PlainJsonNode, drop_indices, es_settings
from tests.index.newsroom import make_doc

NOW = datetime(2021, 6, 1, 12, tzinfo=UTC)
THIS_MONTH = month_of(utcnow()).label  # setup and rebuild always create the current month


def doc(article_id: str, text: str, **changes: object) -> IndexDocument:
    base = make_doc(
        article_id,
        f"Riverside report {article_id}",
        text,
        NOW,
        "Riverside Courier",
        "riverside-courier.example",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


DOCS = [
    doc("ferry-1", "The night ferry to the islands was cancelled after a storm warning."),
    doc("ferry-2", "Ferry crews voted to accept the new rota after long talks."),
    doc("bridge-1", "Engineers closed the old bridge for inspection of its cables."),
    doc("bridge-2", "The bridge reopened to cyclists while lorries wait for repairs."),
]


def found(index: ElasticIndex, text: str) -> set[str]:
    return {h.article_id for h in index.search(SearchQuery(text=text, collapse=False)).hits}


def aliases_of(index: ElasticIndex) -> dict[str, set[str]]:
    raw = index.client.indices.get_alias(index=f"{index.read_alias}-v*")
    return {name: set(info["aliases"]) for name, info in raw.items()}


def generation(index: ElasticIndex, version: int, *months: str) -> dict[str, set[str]]:
    """The indices of generation `version` (its listed months and the current one), each
    behind both aliases."""
    both = {index.read_alias, index.write_alias}
    labels = {*months, THIS_MONTH}
    return {f"{index.read_alias}-v{version}-{label}": both for label in labels}


def source_of(index: ElasticIndex, article_id: str) -> dict[str, Any]:
    """The one live document of an article (a GET needs its month's index)."""
    query = {"ids": {"values": [article_id]}}
    hits = index.client.search(index=index.read_alias, query=query)["hits"]["hits"]
    assert len(hits) == 1, hits
    return dict(hits[0]["_source"])


@pytest.fixture
def loaded(elastic: ElasticIndex) -> ElasticIndex:
    assert all(o.ok for o in elastic.index(DOCS))
    elastic.refresh()
    return elastic


# -- template and aliases ------------------------------------------------------------------


def test_ensure_ready_creates_the_first_version_behind_both_aliases(elastic: ElasticIndex) -> None:
    elastic.ensure_ready()  # a second time changes nothing
    prefix = elastic.read_alias
    assert aliases_of(elastic) == generation(elastic, 1)  # this month's index, empty
    template = elastic.client.indices.get_index_template(name=prefix)["index_templates"][0]
    assert template["index_template"]["index_patterns"] == [f"{prefix}-v*"]


def test_the_template_mapping_is_strict_and_applied(elastic: ElasticIndex) -> None:
    index = f"{elastic.read_alias}-v1-{THIS_MONTH}"
    mapping = elastic.client.indices.get_mapping(index=index)[index]["mappings"]
    assert mapping["dynamic"] == "strict"
    assert mapping["_meta"]["schema_version"] == schema_version()
    fields = mapping["properties"]
    assert fields["title"]["analyzer"] == fields["text"]["analyzer"] == "newswatch_english"
    for name in ("article_id", "story_id", "cluster_id", "domain", "language", "threads"):
        assert fields[name]["type"] == "keyword", name
    assert fields["outlet"]["fields"]["caseless"]["type"] == "keyword"
    assert fields["published_at"]["type"] == fields["indexed_at"]["type"] == "date"
    with pytest.raises(BadRequestError, match="strict_dynamic_mapping_exception"):
        elastic.client.index(
            index=elastic.write_alias, id="x", document={"article_id": "x", "mood": "sunny"}
        )


def test_documents_carry_their_id_as_a_keyword_and_their_story(loaded: ElasticIndex) -> None:
    loaded.index([doc("ferry-3", "A relief ferry sailed at dawn.", cluster_id="c-ferry")])
    source = source_of(loaded, "ferry-3")
    assert (source["article_id"], source["story_id"], source["cluster_id"]) == (
        "ferry-3",
        "c-ferry",
        "c-ferry",
    )
    assert source_of(loaded, "ferry-1")["story_id"] == "ferry-1"


# -- rebuild -------------------------------------------------------------------------------


def test_rebuild_swaps_the_alias_and_drops_the_old_index(loaded: ElasticIndex) -> None:
    prefix = loaded.read_alias
    seen_during: list[tuple[set[str], dict[str, object]]] = []

    def store() -> Iterator[IndexDocument]:
        yield from DOCS[:2]
        # half-way: searchers still see the complete old index ...
        seen_during.append((found(loaded, "ferry OR bridge"), loaded.health()))
        # ... and an article indexed now reaches both indices
        assert loaded.index([doc("late", "A late ferry timetable change.")])[0].ok
        yield from DOCS[2:]

    assert loaded.rebuild(store()) == len(DOCS)
    during, health = seen_during[0]
    assert during == {"ferry-1", "ferry-2", "bridge-1", "bridge-2"}
    assert (health["index"], health["write_index"], health["rebuilding"]) == (
        f"{prefix}-v1",
        f"{prefix}-v2",
        True,
    )
    assert aliases_of(loaded) == generation(loaded, 2, "2021.06")
    assert found(loaded, "ferry") == {"ferry-1", "ferry-2", "late"}
    assert loaded.count() == len(DOCS) + 1


def test_a_failed_rebuild_leaves_the_live_index_as_it_was(loaded: ElasticIndex) -> None:

    def broken_store() -> Iterator[IndexDocument]:
        yield DOCS[0]
        assert loaded.index([doc("late", "A late bridge closure notice.")])[0].ok
        raise RuntimeError("the store went away")

    with pytest.raises(RuntimeError, match="store went away"):
        loaded.rebuild(broken_store())
    assert aliases_of(loaded) == generation(loaded, 1, "2021.06")
    loaded.refresh()
    assert found(loaded, "bridge") == {"bridge-1", "bridge-2", "late"}  # nothing lost


def test_rebuild_clears_indices_left_by_a_crashed_rebuild(loaded: ElasticIndex) -> None:
    prefix = loaded.read_alias
    # no alias: a crashed rebuild's leftovers (a month of it, and a pre-monthly index)
    loaded.client.indices.create(index=f"{prefix}-v7-2021.06")
    loaded.client.indices.create(index=f"{prefix}-v8")
    assert loaded.rebuild(iter(DOCS)) == len(DOCS)
    assert aliases_of(loaded) == generation(loaded, 2, "2021.06")


# -- bulk indexing -------------------------------------------------------------------------


def test_a_document_the_mapping_rejects_fails_alone(elastic: ElasticIndex) -> None:
    bad = doc("bad", "A report with a broken score.", seed_similarity="very similar")
    outcomes = elastic.index([DOCS[0], bad, DOCS[1]])
    assert [(o.article_id, o.ok) for o in outcomes] == [
        ("ferry-1", True),
        ("bad", False),
        ("ferry-2", True),
    ]
    assert outcomes[1].error and "seed_similarity" in outcomes[1].error
    elastic.refresh()
    assert elastic.count() == 2


def test_long_text_is_cut_at_a_word_before_the_limit(osmem: OsmemProcess) -> None:
    index = ElasticIndex(es_settings(osmem.url), max_text_chars=1000, node_class=PlainJsonNode)
    index.ensure_ready()
    try:
        text = "harbour " * 120 + "lighthouse " * 100
        assert index.index([doc("long", text)])[0].ok
        stored = source_of(index, "long")["text"]
        assert len(stored) <= 1000 and stored.endswith("lighthouse")
        assert found(index, "lighthouse") == {"long"}
    finally:
        drop_indices(index)


def test_clip_text_counts_like_lucene() -> None:
    assert clip_text("short text", 100) == "short text"
    assert clip_text("alpha beta gamma", 12) == "alpha beta"
    emoji = "🛳" * 10  # two UTF-16 units each
    assert clip_text(emoji, 10) == "🛳" * 5


# -- an unreachable cluster ----------------------------------------------------------------


def every_operation(index: ElasticIndex) -> list[Callable[[], object]]:
    return [
        index.ensure_ready,
        lambda: index.index(DOCS),
        lambda: index.delete(["ferry-1"]),
        lambda: index.search(SearchQuery(text="ferry")),
        lambda: index.timeline(SearchQuery()),
        lambda: index.more_like_this("ferry-1"),
        index.count,
        index.health,
        lambda: index.rebuild(iter(DOCS)),
    ]


def test_a_stopped_cluster_is_backend_unavailable(fault_osmem: OsmemProcess) -> None:
    index = ElasticIndex(es_settings(fault_osmem.url), node_class=PlainJsonNode)
    index.ensure_ready()
    fault_osmem.stop()
    for operation in every_operation(index):
        with pytest.raises(BackendUnavailable, match="unreachable"):
            operation()
    fault_osmem.start()  # an empty server again: the next ensure_ready sets it up
    index.ensure_ready()
    assert all(o.ok for o in index.index(DOCS))


def test_a_frozen_cluster_times_out_as_backend_unavailable(fault_osmem: OsmemProcess) -> None:
    index = ElasticIndex(
        es_settings(fault_osmem.url, request_timeout_seconds=0.5), node_class=PlainJsonNode
    )
    index.ensure_ready()
    fault_osmem.pause()
    try:
        with pytest.raises(BackendUnavailable):
            index.index(DOCS)
    finally:
        fault_osmem.resume()
    assert all(o.ok for o in index.index(DOCS))


# -- client settings and secrets -----------------------------------------------------------

API_KEY = "k3y-d0-not-print"
PASSWORD = "pa55-d0-not-print"


def _answer_as_elasticsearch(seen: list[Request]) -> Callable[[Request], Response]:
    def handler(request: Request) -> Response:
        seen.append(request)
        body = '{"cluster_name": "fake", "version": {"number": "9.0.0"}, "tagline": "x"}'
        headers = {"X-Elastic-Product": "Elasticsearch", "Content-Type": "application/json"}
        return Response(body, headers=headers)

    return handler


def test_client_sends_the_api_key(httpserver: HTTPServer) -> None:
    seen: list[Request] = []
    httpserver.expect_request("/").respond_with_handler(_answer_as_elasticsearch(seen))
    settings = ElasticsearchSettings(url=httpserver.url_for("/"), api_key=API_KEY, username="u")
    make_es_client(settings).info()
    assert seen[0].headers["Authorization"] == f"ApiKey {API_KEY}"  # preferred over basic auth


def test_client_sends_basic_auth_from_the_url(httpserver: HTTPServer) -> None:
    seen: list[Request] = []
    httpserver.expect_request("/").respond_with_handler(_answer_as_elasticsearch(seen))
    url = httpserver.url_for("/").replace("http://", f"http://reader:{PASSWORD}@")
    settings = ElasticsearchSettings(url=url)
    assert PASSWORD not in settings.url and settings.username == "reader"
    make_es_client(settings).info()
    expected = base64.b64encode(f"reader:{PASSWORD}".encode()).decode()
    assert seen[0].headers["Authorization"] == f"Basic {expected}"


def test_no_secret_in_reprs_logs_or_errors(
    fault_osmem: OsmemProcess, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = {API_KEY, PASSWORD, base64.b64encode(f"ops:{PASSWORD}".encode()).decode()}
    url = fault_osmem.url.replace("http://", f"http://ops:{PASSWORD}@")
    settings = Settings(index={"backend": "elasticsearch", "elasticsearch": {"url": url}})
    with_key = es_settings(fault_osmem.url, api_key=API_KEY)
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    for es in (settings.index.elasticsearch, with_key):
        index = ElasticIndex(replace_prefix(es, with_key.index_prefix), node_class=PlainJsonNode)
        index.ensure_ready()
        index.index(DOCS)
        index.search(SearchQuery(text="ferry"))
        index.health()
        errors.append(repr(index))
    fault_osmem.stop()
    with pytest.raises(BackendUnavailable) as unavailable:
        index.search(SearchQuery(text="ferry"))
    errors.append(str(unavailable.value))
    shown = [caplog.text, repr(settings), str(settings), repr(with_key), str(with_key), *errors]
    assert "POST" in caplog.text  # the client did log its requests
    for secret in secrets:
        assert not any(secret in text for text in shown), secret


def replace_prefix(settings: ElasticsearchSettings, prefix: str) -> ElasticsearchSettings:
    return settings.model_copy(update={"index_prefix": prefix})


def test_open_index_builds_the_configured_backend(tmp_path: Path, osmem: OsmemProcess) -> None:
    sqlite = open_index(Settings(data_dir=tmp_path))
    assert isinstance(sqlite, SqliteFtsIndex) and sqlite.path == tmp_path / "search.db"
    settings = Settings(
        index={
            "backend": "elasticsearch",
            "max_text_chars": 5000,
            "elasticsearch": es_settings(osmem.url).model_dump(),
        }
    )
    elastic = open_index(settings, node_class=PlainJsonNode)
    assert isinstance(elastic, ElasticIndex) and elastic.max_text_chars == 5000
    elastic.ensure_ready()
    try:
        assert elastic.health()["documents"] == 0
    finally:
        drop_indices(elastic)
