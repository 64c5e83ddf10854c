"""Chinese words on both backends: jieba-segmented FTS5 and Elasticsearch's cjk subfield.

Chinese is written without spaces, so a word-based index used to see a whole clause as
one token; these tests pin that two-character words (华为, 香港) are found inside longer
runs, with the same answers from SQLite and Elasticsearch. Article text is written for
these tests.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pipeline.index.base import SearchPage, SearchQuery
from pipeline.index.sqlite_fts import SqliteFtsIndex
from pipeline.index.sqlite_fts.schema import _DOCS, TOKENIZER, Tables, has_current_layout
from tests.index.conftest import Backend, holding
from tests.index.newsroom import make_doc

ZH_DOCS = [
    make_doc(
        "zh-ban",
        "英国宣布禁止在5G网络中使用华为设备",
        "英国政府十四日宣布，自明年起电信运营商不得再采购华为公司的第五代移动通信设备，"
        "现有设备须在七年内全部拆除。华为方面对此决定表示失望。",
        "2020-07-14T18:00",
        "江畔晚报",
        "jiangpan.example",
        language="zh",
    ),
    make_doc(
        "zh-hk",
        "香港特区政府回应英方居留安排",
        "香港特区政府发言人表示，英方扩大英国国民（海外）护照持有人居留权的做法违反承诺。",
        "2020-07-23T10:00",
        "江畔晚报",
        "jiangpan.example",
        language="zh",
    ),
    make_doc(
        "zh-pompeo",
        "蓬佩奥在伦敦会见保守党议员",
        "美国国务卿蓬佩奥在伦敦与部分保守党议员会面，讨论对华战略以及香港、新疆等问题。",
        "2020-07-21T14:30",
        "环球快讯",
        "huanqiu-kuaixun.example",
        language="zh",
    ),
    make_doc(
        "en-ban",
        "UK bans Huawei from its 5G networks",
        "Carriers may buy no new Huawei equipment from next year, ministers said on Tuesday.",
        "2020-07-14T17:00",
        language="en",
    ),
]


@pytest.fixture
def chinese(backend: Backend) -> Backend:
    return holding(backend, ZH_DOCS)


def search(backend: Backend, text: str, **options: Any) -> SearchPage:
    return backend.index.search(SearchQuery(text=text, collapse=False, limit=50, **options))


def ids(page: SearchPage) -> set[str]:
    return {hit.article_id for hit in page.hits}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("华为", {"zh-ban"}),  # two characters, inside 华为公司 and 使用华为设备
        ("香港", {"zh-hk", "zh-pompeo"}),
        ("特区政府", {"zh-hk"}),  # inside 香港特区政府
        ("保守党", {"zh-pompeo"}),
        ("蓬佩奥", {"zh-pompeo"}),  # a name the dictionary does not know
        ('"移动通信设备"', {"zh-ban"}),
        ("华为 OR huawei", {"zh-ban", "en-ban"}),
        ("华为 AND 失望", {"zh-ban"}),
        ("香港 NOT 蓬佩奥", {"zh-hk"}),
        ("title:香港", {"zh-hk"}),
        ("title:议员", {"zh-pompeo"}),
        ("台湾", set()),
    ],
)
def test_chinese_words_are_found_inside_longer_runs(
    chinese: Backend, text: str, expected: set[str]
) -> None:
    assert ids(search(chinese, text)) == expected


def test_language_filter_keeps_one_language(chinese: Backend) -> None:
    assert ids(search(chinese, "", language="zh")) == {"zh-ban", "zh-hk", "zh-pompeo"}
    assert ids(search(chinese, "huawei", language="zh")) == set()


def test_chinese_snippet_marks_the_word_in_the_original_text(chinese: Backend) -> None:
    [hit] = search(chinese, "华为").hits
    assert "<mark>华为</mark>" in hit.snippet
    # the original characters, not the index's space-separated words
    assert "华为公司" in hit.snippet.replace("<mark>", "").replace("</mark>", "")


# -- SQLite only: the segmenter's word boundaries and the in-place upgrade -------------------


def test_sqlite_does_not_match_across_a_word_boundary(tmp_path: Path) -> None:
    index = SqliteFtsIndex(tmp_path / "search.db")
    index.ensure_ready()
    text = "委员会认为中华为民族复兴而奋斗的精神值得肯定，此事与任何公司无关，只是巧合而已。"
    index.index([make_doc("zh-false", "一篇评论", text, "2020-07-01T00:00", language="zh")])
    # 中华 | 为 | 民族: the characters 华为 occur, the word does not
    assert ids(index.search(SearchQuery(text="华为", collapse=False))) == set()
    assert ids(index.search(SearchQuery(text="中华", collapse=False))) == {"zh-false"}


def test_sqlite_index_from_before_segmentation_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "search.db"
    old = Tables(1)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER)")
    conn.execute("INSERT INTO meta VALUES ('active', 1)")
    # the layout newswatch had: no perspective, no segmented columns, FTS5 over the
    # documents table itself
    new_columns = ",\n        perspective TEXT,\n        title_terms TEXT,\n        text_terms TEXT"
    assert new_columns in _DOCS[0]
    old_docs = _DOCS[0].replace(new_columns, "")
    conn.execute(old_docs.format(docs=old.docs))
    conn.execute(
        f"CREATE VIRTUAL TABLE {old.fts} USING fts5(title, text, content='{old.docs}', "
        f"content_rowid='rid', tokenize='{TOKENIZER}')"
    )
    doc = ZH_DOCS[0]
    conn.execute(
        f"INSERT INTO {old.docs} (article_id, canonical_url, title, text, date_source, "
        "indexed_at, outlet, outlet_key, domain, domain_key, language, threads) "
        "VALUES (?, ?, ?, ?, 'page', '2021-01-01T00:00:00.000000Z', ?, ?, ?, ?, 'zh', '[]')",
        (
            doc.article_id,
            doc.canonical_url,
            doc.title,
            doc.text,
            doc.outlet,
            doc.outlet,
            doc.domain,
            doc.domain,
        ),
    )
    conn.execute(f"INSERT INTO {old.fts} ({old.fts}) VALUES ('rebuild')")
    conn.commit()
    assert (
        conn.execute(f"SELECT count(*) FROM {old.fts} WHERE {old.fts} MATCH '华为'").fetchone()[0]
        == 0
    )  # the old index cannot find the word
    conn.close()

    index = SqliteFtsIndex(path)
    index.ensure_ready()
    assert ids(index.search(SearchQuery(text="华为", collapse=False))) == {"zh-ban"}
    index.ensure_ready()  # idempotent
    with sqlite3.connect(path) as check:
        assert has_current_layout(check, old)
    # later writes keep the index in step, perspective included
    index.index([replace(ZH_DOCS[1], perspective="international")])
    assert ids(index.search(SearchQuery(text="香港", collapse=False))) == {"zh-hk"}
    international = SearchQuery(perspective="international", collapse=False)
    assert ids(index.search(international)) == {"zh-hk"}  # the old document has none
    index.delete(["zh-ban"])
    assert ids(index.search(SearchQuery(text="华为", collapse=False))) == set()
