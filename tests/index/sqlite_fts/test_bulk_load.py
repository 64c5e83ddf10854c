"""SqliteFtsIndex.load: a bulk load gives the index that document-by-document indexing gives."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.index.base import BackendUnavailable, SearchQuery
from pipeline.index.sqlite_fts import SqliteFtsIndex
from tests.index.sqlite_fts.fts_corpus import DOCS

QUERIES = [
    SearchQuery(text="huawei", collapse=False, limit=100),
    SearchQuery(text='"hong kong"', sort="date", limit=100),
    SearchQuery(text="sanction*", threads=("xinjiang",), limit=100),
    SearchQuery(limit=100),
]


def fresh(path: Path) -> SqliteFtsIndex:
    backend = SqliteFtsIndex(path)
    backend.ensure_ready()
    return backend


def test_bulk_load_searches_like_indexing_one_by_one(tmp_path: Path) -> None:
    one_by_one, bulk = fresh(tmp_path / "one.db"), fresh(tmp_path / "bulk.db")
    assert all(outcome.ok for outcome in one_by_one.index(DOCS))
    bulk.load(iter(DOCS))
    assert bulk.count() == len(DOCS)
    for query in QUERIES:
        expected = one_by_one.search(query)
        assert expected.total > 0, query
        assert bulk.search(query) == expected, query


def test_documents_written_after_a_bulk_load_reach_the_index(tmp_path: Path) -> None:
    backend = fresh(tmp_path / "search.db")
    backend.load(DOCS[1:])
    assert backend.search(SearchQuery(text="zanzibar")).total == 0
    # the insert trigger is back: a new document and a changed one are searchable
    assert all(o.ok for o in backend.index([replace(DOCS[0], text="A ferry to Zanzibar.")]))
    assert [h.article_id for h in backend.search(SearchQuery(text="zanzibar")).hits] == [
        DOCS[0].article_id
    ]


def test_a_refused_document_fails_the_whole_load(tmp_path: Path) -> None:
    backend = fresh(tmp_path / "search.db")
    with pytest.raises(BackendUnavailable, match="UNIQUE constraint failed"):
        backend.load([DOCS[0], DOCS[0]])  # the same article twice
    assert backend.count() == 0
    assert all(o.ok for o in backend.index(DOCS))  # and the index still takes documents
    assert backend.count() == len(DOCS)
