"""The embedding as a dense_vector and kNN "more like this": the fallback on osmem (which
has neither: what it accepts is checked here), kNN on a real cluster
(``NEWSWATCH_TEST_ELASTICSEARCH_URL``), and the same answer from both paths."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest
from elasticsearch import BadRequestError

from pipeline.classify.embed import DIMENSIONS, MODEL_ID
from pipeline.classify.models import ArticleEmbedding
from pipeline.index.elastic import ElasticIndex, index_template
from pipeline.index.elastic.template import vector_dims
from pipeline.index.stage import rebuild_index
from pipeline.records import IndexDocument
from pipeline.search.similar import more_like_this
from pipeline.store import Store
from pipeline.store.db import transaction
from tests.dags.test_maintenance import article, fill
from tests.index.conftest import (
    REAL_ES_URL,
    OsmemProcess,
    PlainJsonNode,
    drop_indices,
    es_settings,
    make_elastic,
)
from tests.index.elastic.test_elastic import DOCS, source_of

needs_real_cluster = pytest.mark.skipif(
    REAL_ES_URL is None, reason="kNN needs a real cluster: set NEWSWATCH_TEST_ELASTICSEARCH_URL"
)


def unit(*weights: float) -> tuple[float, ...]:
    """A unit vector with these first components (the rest zero)."""
    vector = np.zeros(DIMENSIONS, dtype=np.float32)
    vector[: len(weights)] = weights
    return tuple(float(x) for x in vector / np.linalg.norm(vector))


# distances from the probe unit(1, 0): near (cos 0.96), middling (0.6), far (0.0)
PROBE, NEAR, MIDDLING, FAR = unit(1, 0), unit(1, 0.3), unit(0.6, 0.8), unit(0, 1)
COSINES = [0.958, 0.6, 0.0]  # of NEAR, MIDDLING and FAR with PROBE
TOLERANCE = 0.05  # a real cluster's quantised HNSW vectors (int8, bbq) are approximate


def with_vector(base: IndexDocument, vector: tuple[float, ...], **changes: object) -> IndexDocument:
    return replace(base, embedding=vector, embedding_model=MODEL_ID, **changes)  # type: ignore[arg-type]


def test_the_template_maps_the_embedding_for_knn() -> None:
    field = index_template("p")["template"]["mappings"]["properties"]["embedding"]
    assert field == {
        "type": "dense_vector",
        "dims": DIMENSIONS,
        "index": True,
        "similarity": "cosine",
    }
    assert vector_dims() == DIMENSIONS == 512  # the model's (pipeline.classify.embed)
    without = index_template("p", vectors=False)["template"]["mappings"]["properties"]
    assert "embedding" not in without and without["embedding_model"]["type"] == "keyword"


# -- osmem: no dense_vector, no kNN --------------------------------------------------------------


@pytest.fixture(params=[8, 9])
def osmem_index(osmem: OsmemProcess, request: pytest.FixtureRequest) -> Iterator[ElasticIndex]:
    settings = es_settings(osmem.url, server_major=request.param)
    index = ElasticIndex(settings, node_class=PlainJsonNode)
    yield index
    drop_indices(index)


def test_osmem_refuses_dense_vector_and_knn_as_the_fallback_expects(
    osmem_index: ElasticIndex,
) -> None:
    client = osmem_index.client
    name = f"{osmem_index.read_alias}-v9-2021.01"
    vector_field = {"type": "dense_vector", "dims": 3, "similarity": "cosine", "index": True}
    with pytest.raises(BadRequestError, match="mapper_parsing_exception") as refused:
        client.indices.create(index=name, mappings={"properties": {"v": vector_field}})
    assert "dense_vector" in str(refused.value.body)
    client.indices.create(index=name)
    knn = {"field": "v", "query_vector": [1.0, 0.0, 0.0], "k": 1, "num_candidates": 10}
    with pytest.raises(BadRequestError):
        client.search(index=name, knn=knn)


def test_without_dense_vector_the_adapter_indexes_no_vectors_and_knn_is_off(
    osmem_index: ElasticIndex, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pipeline.index.elastic")
    osmem_index.setup()
    warnings = [r for r in caplog.records if "no dense_vector type" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    template = osmem_index.client.indices.get_index_template(name=osmem_index.read_alias)
    properties = template["index_templates"][0]["index_template"]["template"]["mappings"]
    assert "embedding" not in properties["properties"]

    docs = [with_vector(DOCS[0], NEAR), with_vector(DOCS[1], FAR)]
    assert all(o.ok for o in osmem_index.index(docs))  # the strict mapping got no vector
    stored = source_of(osmem_index, DOCS[0].article_id)
    assert "embedding" not in stored and "embedding_model" not in stored
    assert osmem_index.knn is False
    assert osmem_index.nearest(PROBE, model=MODEL_ID, story_id="x") is None
    assert osmem_index.health()["knn"] is False
    offs = [r for r in caplog.records if "kNN more-like-this is off" in r.getMessage()]
    assert len(offs) == 2  # the template warning at setup, the flag once per process


# -- kNN on a real cluster --------------------------------------------------------------------


@pytest.fixture
def real_index(request: pytest.FixtureRequest) -> Iterator[ElasticIndex]:
    index = make_elastic(request, "elasticsearch-real")
    index.setup()
    yield index
    drop_indices(index)


@needs_real_cluster
def test_knn_finds_the_nearest_other_stories(real_index: ElasticIndex) -> None:
    docs = [
        with_vector(DOCS[0], PROBE, cluster_id="own"),
        with_vector(DOCS[1], PROBE, cluster_id="own"),  # a copy: its own story, left out
        with_vector(DOCS[2], FAR),
        with_vector(DOCS[3], MIDDLING),
        with_vector(replace(DOCS[0], article_id="near"), NEAR),
        with_vector(replace(DOCS[0], article_id="other-model"), PROBE, embedding_model="old"),
    ]
    assert all(o.ok for o in real_index.index(docs))
    real_index.refresh()
    assert real_index.knn is True
    found = real_index.nearest(PROBE, model=MODEL_ID, story_id="own", limit=3)
    assert found is not None
    assert [i for i, _ in found] == ["near", DOCS[3].article_id, DOCS[2].article_id]
    cosines = [c for _, c in found]
    assert cosines == pytest.approx(COSINES, abs=TOLERANCE)


# -- more like this, through the API's function, on every cluster ---------------------------


@pytest.mark.parametrize(
    "kind", ["elasticsearch"] + (["elasticsearch-real"] if REAL_ES_URL else [])
)
def test_more_like_this_ranks_alike_with_and_without_knn(
    store: Store, request: pytest.FixtureRequest, kind: str
) -> None:
    vectors = {1: PROBE, 2: NEAR, 3: MIDDLING, 4: FAR, 5: PROBE}
    fill(store, [article(n, cluster=f"{1:032x}" if n in (1, 5) else None) for n in vectors])
    with transaction(store.sessions) as session:
        for n, vector in vectors.items():
            raw = np.asarray(vector, dtype="<f4").tobytes()
            session.add(
                ArticleEmbedding(
                    article_id=f"{n:032x}", model=MODEL_ID, source_hash="t", vector=raw
                )
            )
    index = make_elastic(request, kind)
    try:
        index.setup()
        rebuild_index(store.sessions, index)
        index.refresh()
        with store.sessions() as session:
            found = more_like_this(session, index, f"{1:032x}", limit=3)
        by_knn = index.knn  # which path answered
    finally:
        drop_indices(index)
    assert found.method == "embedding"
    assert [int(a.article.id, 16) for a in found.articles] == [2, 3, 4]  # 5 is its own story
    assert [a.similarity for a in found.articles] == pytest.approx(COSINES, abs=TOLERANCE)
    assert by_knn is (kind == "elasticsearch-real")
