"""Operating the Elasticsearch backend: the 8.x and 9.x header paths, refused credentials as
a configuration error, setup versus ingest, rebuild load settings and `create`, bulk bytes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipeline.config import IndexSettings
from pipeline.index.base import BackendConfigError, BackendUnavailable, SearchQuery
from pipeline.index.elastic import ElasticIndex
from pipeline.index.elastic.template import index_template
from pipeline.index.stage import index_pending
from pipeline.records import IndexDocument
from pipeline.store import Store
from tests.index.conftest import OsmemProcess, PlainJsonNode, drop_indices, es_settings
from tests.index.elastic.test_elastic import DOCS, doc, found
from tests.index.test_index_outbox import add_classified, states

NOW = datetime(2021, 6, 1, 12, tzinfo=UTC)


@pytest.fixture
def fresh(osmem: OsmemProcess) -> Iterator[ElasticIndex]:
    index = ElasticIndex(es_settings(osmem.url), node_class=PlainJsonNode)
    yield index
    drop_indices(index)


# -- 8.x and 9.x servers --------------------------------------------------------------------


@pytest.mark.parametrize("major", [8, 9])
def test_each_server_major_gets_its_compatible_with_media_types(
    osmem: OsmemProcess, major: int
) -> None:
    index = ElasticIndex(es_settings(osmem.url, server_major=major), node_class=PlainJsonNode)
    PlainJsonNode.sent.clear()
    try:
        index.ensure_ready()
        assert all(o.ok for o in index.index(DOCS))
        index.refresh()
        assert found(index, "ferry") == {"ferry-1", "ferry-2"}
    finally:
        drop_indices(index)
    assert PlainJsonNode.sent, "the client sent no media types"
    assert all(f"compatible-with={major}" in value for value in PlainJsonNode.sent)
    assert any("x-ndjson" in value for value in PlainJsonNode.sent)  # the bulk body too


# -- refused credentials ----------------------------------------------------------------------


def refusing(status: int, seen: list[Request]) -> object:
    def handler(request: Request) -> Response:
        seen.append(request)
        kind = "security_exception"
        body = {"error": {"type": kind, "reason": f"refused ({status})"}, "status": status}
        headers = {"X-Elastic-Product": "Elasticsearch", "Content-Type": "application/json"}
        return Response(json.dumps(body), status=status, headers=headers)

    return handler


@pytest.mark.parametrize(("status", "says"), [(401, "credentials"), (403, "privilege")])
def test_refused_credentials_are_a_configuration_error_and_never_retried(
    httpserver: HTTPServer, store: Store, status: int, says: str
) -> None:
    seen: list[Request] = []
    httpserver.expect_request(re.compile("^/.*")).respond_with_handler(
        refusing(status, seen)  # type: ignore[arg-type]
    )
    settings = es_settings(httpserver.url_for("/"), index_prefix="newswatch-articles")
    index = ElasticIndex(settings)

    with pytest.raises(BackendConfigError, match=says) as raised:
        index.ensure_ready()
    assert not isinstance(raised.value, BackendUnavailable)
    assert len(seen) == 1  # the client did not retry it either

    ids = add_classified(store)
    before = states(store)
    with pytest.raises(BackendConfigError):
        index_pending(store.sessions, index, IndexSettings())
    assert states(store) == before  # no attempt counted, nothing deferred or parked
    assert len(ids) == len(before)


# -- setup and ingest ---------------------------------------------------------------------------


def test_setup_installs_the_template_and_ingest_only_reads_the_aliases(
    fresh: ElasticIndex,
) -> None:
    fresh.setup()
    name = fresh.read_alias
    template = fresh.client.indices.get_index_template(name=name)["index_templates"][0]
    settings = template["index_template"]["template"]["settings"]["index"]
    assert settings["number_of_shards"] in (1, "1")
    assert settings["auto_expand_replicas"] == "0-1"
    mapping = fresh.client.indices.get_mapping(index=name)
    properties = next(iter(mapping.values()))["mappings"]["properties"]
    assert properties["text"]["index_options"] == "offsets"  # highlighting reads offsets

    fresh.client.indices.delete_index_template(name=name)
    fresh.ensure_ready()  # an ingest run: the aliases are there, so no template call
    with pytest.raises(Exception, match=r"404|not.found|NotFound"):
        fresh.client.indices.get_index_template(name=name)


def test_setup_maps_new_template_fields_on_an_index_made_before_them(
    fresh: ElasticIndex,
) -> None:
    """An index from before schema version 4 (here a single index, as before the monthly
    ones) has no `perspective`; its strict mapping refuses documents that carry one until
    `newswatch index setup` adds the field."""
    template = index_template(fresh.read_alias, vectors=False)["template"]  # osmem has none
    old_mappings = json.loads(json.dumps(template["mappings"]))
    del old_mappings["properties"]["perspective"]
    first = f"{fresh.read_alias}-v1"
    fresh.client.indices.create(
        index=first,
        settings=template["settings"],
        mappings=old_mappings,
        aliases={fresh.read_alias: {}, fresh.write_alias: {}},
    )
    state_media = replace(DOCS[0], perspective="china")
    (refused,) = fresh.index([state_media])
    assert not refused.ok and "perspective" in (refused.error or "")

    fresh.setup()
    assert all(o.ok for o in fresh.index([state_media, *DOCS[1:]]))
    fresh.refresh()
    page = fresh.search(SearchQuery(perspective="china", collapse=False))
    assert [h.article_id for h in page.hits] == [state_media.article_id]
    fresh.setup()  # idempotent


# -- rebuild ----------------------------------------------------------------------------------


def index_settings(index: ElasticIndex, name: str) -> dict[str, object]:
    return dict(index.client.indices.get_settings(index=name)[name]["settings"]["index"])


def test_rebuild_loads_without_replicas_or_refresh_and_restores_them(
    fresh: ElasticIndex,
) -> None:
    fresh.setup()
    seen: list[dict[str, object]] = []

    def store() -> Iterator[IndexDocument]:
        yield from DOCS[:2]
        seen.append(index_settings(fresh, f"{fresh.read_alias}-v2-2021.06"))
        yield from DOCS[2:]

    assert fresh.rebuild(store()) == len(DOCS)
    during = seen[0]
    assert str(during["number_of_replicas"]) == "0"
    assert str(during["refresh_interval"]) == "-1"
    after = index_settings(fresh, f"{fresh.read_alias}-v2-2021.06")
    assert after.get("auto_expand_replicas") == "0-1"
    assert after.get("refresh_interval") in (None, "1s")
    assert fresh.count() == len(DOCS)


def test_rebuild_keeps_the_newer_copy_that_ingest_wrote_meanwhile(fresh: ElasticIndex) -> None:
    fresh.setup()
    assert all(o.ok for o in fresh.index(DOCS))
    newer = doc("ferry-1", "The night ferry runs again from Monday, the operator said.")

    def stale_store() -> Iterator[IndexDocument]:
        # ingest updates ferry-1 while the rebuild is under way, before the rebuild
        # reaches it with the older text from its snapshot of the store
        assert fresh.index([newer])[0].ok
        yield from DOCS

    assert fresh.rebuild(stale_store()) == len(DOCS)
    fresh.refresh()
    assert found(fresh, "operator") == {"ferry-1"}
    assert found(fresh, "storm") == set()


# -- bulk requests capped by bytes -----------------------------------------------------------


def test_bulk_requests_are_capped_by_bytes_as_well_as_by_count(osmem: OsmemProcess) -> None:
    index = ElasticIndex(
        es_settings(osmem.url, bulk_chunk_size=500, bulk_max_bytes=100_000),
        node_class=PlainJsonNode,
    )
    long_docs = [doc(f"long-{n}", "tide " * 8_000) for n in range(8)]  # ~40 kB each
    try:
        index.ensure_ready()
        PlainJsonNode.sent.clear()
        assert all(o.ok for o in index.index(long_docs))
        index.refresh()
        assert index.count() == len(long_docs)
    finally:
        drop_indices(index)
    bulk_requests = sum("x-ndjson" in value for value in PlainJsonNode.sent)  # Content-Type
    assert bulk_requests >= 4  # 8 documents of 40 kB in requests of at most 100 kB
