"""The Elasticsearch backend of the search index.

Search behaves as the SQLite FTS5 backend documents (``pipeline.index.sqlite_fts``; the
contract tests run both): Porter-stemmed, accent-folded English without stop words; the
query tree from ``pipeline.index.query`` is rendered into a bool query (user text never
reaches ``query_string``); a prefix is analysed like a word, then matched as a prefix;
the same filters, sorts, collapsing, timeline buckets and cursor rules
(``pipeline.index.paging``, ``pipeline.index.timeline``).

Modules: ``backend`` (ElasticIndex), ``render`` (query DSL), ``pages`` (paging and
collapse), ``maintenance`` (aliases, versioned indices, rebuild), ``template`` (the
mapping in ``pipeline/schemas/elasticsearch/index-template.json``), ``documents`` and ``client``.
"""

from pipeline.index.elastic.backend import ElasticIndex
from pipeline.index.elastic.client import make_es_client
from pipeline.index.elastic.documents import clip_text
from pipeline.index.elastic.template import (
    index_template,
    max_indexed_chars,
    schema_version,
)

__all__ = [
    "ElasticIndex",
    "clip_text",
    "index_template",
    "make_es_client",
    "max_indexed_chars",
    "schema_version",
]
