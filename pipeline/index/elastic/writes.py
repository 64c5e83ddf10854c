"""Where an article's document goes, and where its copies are.

A write goes to the index of the article's month in each generation being written
(`Layout.targets`). Its date can change (a page that gains a publication date, a
corrected one), which moves it to another month: before writing, the indices are asked
where each article's documents are, and every copy outside its new home is deleted in
the same bulk request, so an article is never in two months. Searches see only
refreshed documents, so the write targets are refreshed first (nearly free when nothing
changed since the last refresh): a copy written a moment ago is found too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.index.elastic.documents import action
from pipeline.index.elastic.layout import Layout
from pipeline.index.elastic.months import article_month
from pipeline.records import IndexDocument

LOOKUP_CHUNK = 1000  # ids per lookup search
COPIES_PER_ID = 4  # room for both generations during a rebuild and a stale copy or two


@dataclass(frozen=True)
class Copy:
    index: str
    indexed_at: str | None


def copies(client: Elasticsearch, indices: list[str], ids: Sequence[str]) -> dict[str, list[Copy]]:
    """Every document of these articles in `indices` (refreshed by the caller), by article."""
    found: dict[str, list[Copy]] = defaultdict(list)
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), LOOKUP_CHUNK):
        chunk = unique[start : start + LOOKUP_CHUNK]
        response = client.search(
            index=indices,
            query={"ids": {"values": chunk}},
            ignore_unavailable=True,  # an alias not there (yet) holds no copy
            source_includes=["indexed_at"],
            size=len(chunk) * COPIES_PER_ID,
        )
        for hit in response["hits"]["hits"]:
            found[hit["_id"]].append(Copy(hit["_index"], hit["_source"].get("indexed_at")))
    return found


def homes(layout: Layout, doc: IndexDocument) -> dict[str, int]:
    """The index (-> its generation) that holds `doc` in each generation being written."""
    month = article_month(doc)
    return {layout.route(version, month): version for version in layout.targets()}


def index_actions(
    layout: Layout,
    docs: Sequence[IndexDocument],
    found: dict[str, list[Copy]],
    max_text_chars: int,
    vectors: dict[int, bool],
) -> Iterator[dict[str, Any]]:
    """Each document into its month (with its vector where the generation maps one), and a
    delete for each copy elsewhere."""
    for doc in docs:
        targets = homes(layout, doc)
        for index, version in sorted(targets.items()):
            yield action(index, doc, max_text_chars, vectors=vectors[version])
        for stale in sorted({c.index for c in found.get(doc.article_id, [])} - set(targets)):
            yield delete_action(stale, doc.article_id)


def delete_action(index: str, article_id: str) -> dict[str, Any]:
    return {"_op_type": "delete", "_index": index, "_id": article_id}
