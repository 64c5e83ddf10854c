"""The article embedding as a ``dense_vector``, and kNN "more like this", where the
cluster has them; found by trying, never by version numbers.

- `setup` installs the template with the ``embedding`` field (512 dims, cosine, indexed
  for kNN). A cluster that has no such type (osmem-server answers
  ``mapper_parsing_exception: No handler for type [dense_vector]``) gets the template
  without it, with a warning.
- Writers send vectors only to a generation whose mapping has the field (read once per
  process and generation).
- ``ElasticIndex.knn`` is the flag: on when the live generation maps the field (checked
  on each use), off for the rest of the process once the cluster refuses a kNN search
  (logged once). Off, the
  callers score the stored embeddings themselves (``pipeline.search.similar``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch

from pipeline.index.elastic.documents import VECTOR_FIELD, VECTOR_MODEL_FIELD

log = logging.getLogger(__name__)

CANDIDATES_PER_HIT = 10  # HNSW candidates per shard for each hit wanted
MAX_CANDIDATES = 10_000  # Elasticsearch's limit on num_candidates
STORY_SLACK = 3  # nearest articles asked per story wanted: copies of one story are close


def refuses_vectors(exc: BadRequestError) -> bool:
    """Whether the cluster refused a mapping because it has no `dense_vector` type."""
    return "dense_vector" in str(exc.body)  # the type is named in a nested caused_by


def maps_vectors(client: Elasticsearch, index: str) -> bool:
    """Whether `index` (an index or an alias) maps the embedding as a dense_vector."""
    mappings = client.indices.get_mapping(index=index)
    for info in mappings.values():
        field = info["mappings"].get("properties", {}).get(VECTOR_FIELD, {})
        if field.get("type") != "dense_vector":
            return False
    return bool(mappings)


def knn_clause(vector: Sequence[float], model: str, story_id: str, k: int) -> dict[str, Any]:
    """The `k` nearest articles by embedding of `model`, outside the story `story_id`."""
    return {
        "field": VECTOR_FIELD,
        "query_vector": [float(x) for x in vector],
        "k": k,
        "num_candidates": min(MAX_CANDIDATES, k * CANDIDATES_PER_HIT),
        "filter": {
            "bool": {
                "filter": [{"term": {VECTOR_MODEL_FIELD: model}}],
                "must_not": [{"term": {"story_id": story_id}}],
            }
        },
    }


def cosine(score: float) -> float:
    """The cosine behind a kNN hit's score: Elasticsearch scores cosine as (1 + cos) / 2."""
    return max(-1.0, min(1.0, 2.0 * score - 1.0))


def nearest_stories(hits: list[dict[str, Any]], limit: int) -> list[tuple[str, float]]:
    """(article id, cosine) of the closest article of each story, closest first."""
    seen: set[str] = set()
    found: list[tuple[str, float]] = []
    for hit in hits:
        story = str(hit["_source"]["story_id"])
        if story in seen:
            continue
        seen.add(story)
        found.append((str(hit["_id"]), cosine(float(hit["_score"]))))
        if len(found) == limit:
            break
    return found
