"""An IndexDocument as an Elasticsearch document and bulk action."""

from __future__ import annotations

from typing import Any

from pipeline.records import IndexDocument, as_utc

VECTOR_FIELD = "embedding"  # dense_vector, where the cluster has it (see vectors.py)
VECTOR_MODEL_FIELD = "embedding_model"


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


def action(
    target: str,
    doc: IndexDocument,
    max_text_chars: int,
    op_type: str = "index",
    *,
    vectors: bool = False,
) -> dict[str, Any]:
    """A bulk action: `index` (ingest: the store's latest wins) or `create` (rebuild: keep
    a document that is already there). `vectors`: the index maps the embedding."""
    return {
        "_op_type": op_type,
        "_index": target,
        "_id": doc.article_id,  # deterministic: indexing again overwrites
        "_source": source(doc, max_text_chars, vectors=vectors),
    }


def source(doc: IndexDocument, max_text_chars: int, *, vectors: bool = False) -> dict[str, Any]:
    published, indexed = as_utc(doc.published_at), as_utc(doc.indexed_at)
    fields: dict[str, Any] = {
        "article_id": doc.article_id,
        "story_id": doc.cluster_id or doc.article_id,  # unclustered: a story of its own
        "cluster_id": doc.cluster_id,
        "canonical_url": doc.canonical_url,
        "title": doc.title,
        "text": clip_text(doc.text, max_text_chars),
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
        "perspective": doc.perspective,
    }
    if vectors and doc.embedding is not None:
        fields[VECTOR_FIELD] = list(doc.embedding)
        fields[VECTOR_MODEL_FIELD] = doc.embedding_model
    return fields
