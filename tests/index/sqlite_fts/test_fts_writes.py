"""Writing to the SQLite FTS5 index: re-indexing, invalid documents, truncation, deletes,
rebuilds, and writers in other processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from pipeline.index.base import SearchQuery
from pipeline.index.sqlite_fts import SqliteFtsIndex, truncate_text
from pipeline.records import IndexDocument
from tests.index.newsroom import make_doc
from tests.index.sqlite_fts.fts_corpus import BY_ID, DOCS, at, ids, search

# -- writing -------------------------------------------------------------------------------


def test_reindexing_replaces_instead_of_duplicating(index: SqliteFtsIndex) -> None:
    assert all(o.ok for o in index.index(DOCS))
    assert index.count() == len(DOCS)
    changed = replace(BY_ID["sport-derby"], title="Derby decided by a late spot kick")
    assert index.index([changed])[0].ok
    assert index.count() == len(DOCS)
    assert ids(index, "title:penalty") == []  # old title gone from the index
    assert ids(index, "title:kick") == ["sport-derby"]
    assert ids(index, "penalty") == ["sport-derby"]  # text unchanged


def test_invalid_document_fails_alone(index: SqliteFtsIndex) -> None:
    bad = replace(BY_ID["sport-derby"], article_id="")
    good = make_doc("new-one", "Fresh story", "Some new words about tariffs.", at("2022-01-01"))
    outcomes = index.index([bad, good])
    assert [o.ok for o in outcomes] == [False, True]
    assert "article_id" in (outcomes[0].error or "")
    assert ids(index, "tariffs") == ["new-one"]


def test_long_text_is_truncated_at_a_word_boundary(tmp_path: Path) -> None:
    backend = SqliteFtsIndex(tmp_path / "search.db", max_text_chars=1000)
    text = "alpha " * 200 + "omega"
    backend.index([make_doc("long", "Long piece", text, at("2022-01-01"))])
    assert backend.search(SearchQuery(text="alpha")).total == 1
    assert backend.search(SearchQuery(text="omega")).total == 0
    assert truncate_text("alpha beta gamma", 12) == "alpha beta"
    assert truncate_text("alpha beta gamma", 10) == "alpha beta"
    assert truncate_text("unbroken", 4) == "unbr"
    assert truncate_text("short", 100) == "short"


def test_delete(index: SqliteFtsIndex) -> None:
    index.delete(["hk-bno", "no-such-id"])
    assert index.count() == len(DOCS) - 1
    assert "hk-bno" not in ids(index, '"hong kong"')


def test_rebuild_swaps_only_when_complete(index: SqliteFtsIndex) -> None:
    reader = SqliteFtsIndex(index.path)  # another process's view of the same file
    before = reader.health()["generation"]
    seen_during: list[int] = []

    def feed() -> Iterator[IndexDocument]:
        for doc in DOCS[:5]:
            seen_during.append(reader.search(SearchQuery(limit=100, collapse=False)).total)
            yield doc

    assert index.rebuild(feed()) == 5
    assert seen_during == [len(DOCS)] * 5  # searchers saw the old index throughout
    assert reader.count() == 5
    assert reader.health()["generation"] == before + 1  # type: ignore[operator]
    assert ids(index, "hinkley") == []
    assert set(ids(index, "huawei")) == {d.article_id for d in DOCS[:5]}


def test_writes_during_rebuild_reach_the_new_index(index: SqliteFtsIndex) -> None:
    fillers = [
        make_doc(f"filler-{n}", f"Filler {n}", "Routine council minutes.", at("2015-01-01"))
        for n in range(500)  # one full rebuild batch, written before the feed resumes
    ]
    late = make_doc("late", "Tariff row deepens", "Tariffs on steel.", at("2022-02-02"))

    def feed() -> Iterator[IndexDocument]:
        yield from fillers
        index.index([late])
        index.delete(["filler-0"])
        yield DOCS[0]

    assert index.rebuild(feed()) == 501
    assert ids(index, "tariff") == ["late"]
    assert index.count() == 501  # 499 fillers, DOCS[0] and the late one
    assert "filler-0" not in ids(index, "council", limit=1000)


def _index_from_another_process(path: str) -> None:
    SqliteFtsIndex(path).index(
        [make_doc("other-process", "Tidal energy plan", "Lagoon turbines.", at("2022-03-03"))]
    )


def test_another_process_can_write_while_this_one_reads(index: SqliteFtsIndex) -> None:
    worker = multiprocessing.get_context("spawn").Process(
        target=_index_from_another_process, args=(str(index.path),)
    )
    worker.start()
    worker.join()
    assert worker.exitcode == 0
    assert ids(index, "lagoon") == ["other-process"]


def test_readers_are_not_blocked_by_an_open_write(index: SqliteFtsIndex) -> None:
    writer = sqlite3.connect(index.path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("DELETE FROM docs_v1")
        assert index.count() == len(DOCS)  # the uncommitted delete is invisible, not blocking
        assert ids(index, "hinkley") == ["nuc-hinkley", "web-correction"]
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_an_index_from_before_the_filters_index_gains_it(tmp_path: Path) -> None:
    path = tmp_path / "search.db"
    SqliteFtsIndex(path).index(DOCS)
    filtered = {"text": "huawei", "threads": ("huawei-5g",), "since": at("2020-07-14", 0)}
    expected = search(SqliteFtsIndex(path), **filtered)
    with sqlite3.connect(path) as conn:
        conn.execute("DROP INDEX docs_v1_filters")  # the layout before it
    reopened = SqliteFtsIndex(path)
    assert search(reopened, **filtered) == expected  # the first search brings it back
    with sqlite3.connect(path) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema")}
    assert "docs_v1_filters" in names
    assert {"hw-wire", "hw-coast"} & {h.article_id for h in expected.hits}
