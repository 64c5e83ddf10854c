"""Embedded search index: SQLite FTS5 in a file of its own (e.g. ``DATA_DIR/search.db``).

Behaviour, stated so that the Elasticsearch backend can match it:

- Analysis: ``porter unicode61 remove_diacritics 2``: case-folded, diacritics folded
  ("Zürich" = "zurich"), Porter-stemmed ("sanction" finds "sanctions"). Unlike an
  Elasticsearch English analyzer there are no stop words: "the" is a searchable term.
- Chinese: a title or text with Chinese in it is indexed as its jieba words, inner words
  included (``pipeline.cjk.segmented``, stored in ``title_terms``/``text_terms`` and fed
  to FTS5 through a view); a query term with Chinese in it is its jieba words, near each
  other (``render.cjk_match``). So 华为 and 香港 are found inside unspaced text, but not
  across a word boundary (中华|为|民族). benchmarks/bench_cjk_search.py compares this with
  FTS5's trigram tokenizer. An index built before this is upgraded in place by
  ``ensure_ready``. Snippets of Chinese text are cut from the original text.
- Query text: the syntax of ``pipeline.index.query``. Every term is quoted before it
  reaches FTS5, so user input can never be FTS5 syntax. A prefix (``extradit*``) is
  stemmed like a word and then matched as a prefix of the indexed stems. A term without
  a field searches title and text; ``title:``/``text:`` restrict it to one column.
- Score: ``-bm25`` with title weighted ``TITLE_WEIGHT`` times text (higher is better);
  0.0 when there is no query text.
- Filters: since (``published_at >= since``), until (``published_at < until``);
  documents without a date never pass a date filter. ``sources``: outlet or domain equal
  to any value, case-insensitively (a leading "www." is ignored for domains). ``threads``:
  any of. ``relation`` and ``language``: exact. Blank source/thread values are ignored.
- Sort: ``relevance`` = score desc, article_id asc; ``date`` = published_at desc
  (undated last), article_id asc. No query text means date order whatever was asked.
- Collapse: one hit per cluster (documents without cluster_id are their own cluster), the
  first member in sort order. ``also_published_by``: the other outlets among the matching
  members, sorted case-insensitively; empty without collapse. ``total`` counts matching
  articles before collapsing.
- Paging: the cursor (``pipeline.index.paging``) is the sort key of the last hit
  (keyset), so date paging never repeats or skips a document when others are written
  between pages. Relevance paging is exact while the index is unchanged (new documents
  shift the bm25 statistics). A cursor only works with the query it came from.
- Snippet: up to ``SNIPPET_TOKENS`` tokens of the text around the matches, HTML-escaped,
  matches in ``<mark>``; with no query text, the start of the text.
- Timeline: buckets of published_at (UTC days, or weeks starting on Monday) from the first
  to the last non-empty bucket, gaps included as zeros; undated documents are left out.
  At most ``pipeline.index.timeline.MAX_BUCKETS`` buckets: a longer span is refused.
- More like this: the document's ``MLT_TERMS`` most distinctive stems (tf x idf, title
  counted ``TITLE_WEIGHT`` times; a stem must occur in at least one other document and in
  at most half of all documents) ORed, excluding the document and its cluster; collapsed,
  relevance order. Unknown id: ``[]``.
- Rebuild: writes a new generation of the tables and switches searchers to it in one small
  transaction; documents indexed or deleted while it runs go to both generations. One
  rebuild at a time: a second one takes over and the first stops with BackendUnavailable.
- Concurrency: WAL mode and a busy timeout; a connection per write, and per thread for
  reads (read-only, memory-mapped, kept between searches), so instances can be shared by
  threads and used from several processes (one writer at a time, many readers).

Modules: ``backend`` (SqliteFtsIndex), ``render`` (MATCH expression, filters, plan),
``pages`` (keyset paging, collapse, snippets), ``schema`` (generations and the meta
table), ``documents`` (rows and upserts), ``mlt`` (more like this).
"""

from pipeline.index.sqlite_fts.backend import SqliteFtsIndex
from pipeline.index.sqlite_fts.documents import truncate_text

__all__ = ["SqliteFtsIndex", "truncate_text"]
