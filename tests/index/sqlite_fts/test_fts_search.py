"""Searching the SQLite FTS5 index: query syntax, filters, sorting and paging, collapsed
stories, snippets, timelines and more like this."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date

import pytest

from pipeline.index.base import SearchError, SearchHit, SearchQuery
from pipeline.index.sqlite_fts import SqliteFtsIndex
from pipeline.records import IndexDocument
from tests.index.newsroom import make_doc
from tests.index.sqlite_fts.fts_corpus import DOCS, at, ids, search

# -- query syntax --------------------------------------------------------------------------


def test_phrase_matches_words_in_order_only(index: SqliteFtsIndex) -> None:
    assert set(ids(index, '"hong kong"')) == {
        "hk-extradition",
        "hk-bno",
        "bank-hkex",
        "bno-explainer",
    }
    assert ids(index, '"kong hong"') == []


def test_boolean_operators(index: SqliteFtsIndex) -> None:
    assert ids(index, "huawei AND court") == ["hw-court"]
    assert set(ids(index, "xinjiang OR hinkley")) == {
        "xj-sanctions",
        "nuc-hinkley",
        "web-correction",
    }
    hong_kong = set(ids(index, '"hong kong"'))
    assert set(ids(index, '"hong kong" NOT hkex')) == hong_kong - {"bank-hkex"}
    assert set(ids(index, '"hong kong" -hkex')) == hong_kong - {"bank-hkex"}
    assert set(ids(index, "(xinjiang OR hinkley) AND officials")) == {"xj-sanctions"}
    assert ids(index, "huawei court") == ["hw-court"]  # implicit AND


def test_prefix(index: SqliteFtsIndex) -> None:
    assert ids(index, "extradit*") == ["hk-extradition"]
    assert set(ids(index, "sanction*")) == {
        "xj-sanctions",
        "hw-wire",
        "hw-coast",
        "hw-midlands",
        "fr-zurich",
    }


def test_field_restricts_to_one_column(index: SqliteFtsIndex) -> None:
    everywhere = set(ids(index, "huawei"))
    in_title = set(ids(index, "title:huawei"))
    assert "fr-zurich" in everywhere  # Huawei only in its text
    assert in_title == everywhere - {"fr-zurich"}
    assert ids(index, 'text:"point c"') == ["nuc-hinkley"]
    assert ids(index, "title:correction") == ["web-correction"]


def test_stemming(index: SqliteFtsIndex) -> None:
    # "sanction" finds "sanctions" and "sanctioning"
    assert {"xj-sanctions", "hw-wire"} <= set(ids(index, "sanction"))
    assert "hw-court" in ids(index, "challenge")


def test_diacritics_are_folded(index: SqliteFtsIndex) -> None:
    assert ids(index, "zurich") == ["fr-zurich"]
    assert ids(index, "Zürich") == ["fr-zurich"]
    assert ids(index, "economiques delegation") == ["fr-zurich"]


def test_user_input_cannot_inject_fts5_syntax(index: SqliteFtsIndex) -> None:
    # FTS5 operators and column syntax are just words here.
    assert ids(index, "NEAR(huawei court)") == []
    assert ids(index, "^huawei court") == ["hw-court"]
    assert ids(index, "{title}:huawei") == []
    assert ids(index, "huawei +court") == ["hw-court"]


# -- filters -------------------------------------------------------------------------------


def test_date_filters(index: SqliteFtsIndex) -> None:
    result = ids(index, since=at("2021-01-01", 0), until=at("2021-03-23", 0))
    assert result == ["xj-sanctions", "sport-derby", "hk-bno"]
    assert "bno-explainer" not in ids(index, until=at("2100-01-01", 0))  # undated never passes


def test_sources_filter_matches_outlet_or_domain(index: SqliteFtsIndex) -> None:
    gazette = {"hw-coast", "hk-extradition", "bank-hkex"}
    assert set(ids(index, sources=("coastal gazette",))) == gazette
    assert set(ids(index, sources=("WWW.Coastal-Gazette.example",))) == gazette
    assert set(ids(index, "huawei", sources=("Wire Daily", "midlandspost.example"))) == {
        "hw-wire",
        "hw-midlands",
    }


def test_thread_relation_language_filters(index: SqliteFtsIndex) -> None:
    assert set(ids(index, threads=("xinjiang", "nuclear"))) == {"xj-sanctions", "nuc-hinkley"}
    assert ids(index, relation="duplicate") == ["hk-bno"]
    assert ids(index, language="fr") == ["fr-zurich"]
    assert ids(index, "huawei", language="fr", threads=("huawei-5g",)) == []


# -- sorting, paging -----------------------------------------------------------------------


def test_date_sort_is_newest_first_with_undated_last(index: SqliteFtsIndex) -> None:
    result = search(index, sort="date").hits
    dated = [h.published_at for h in result if h.published_at is not None]
    assert dated == sorted(dated, reverse=True)
    assert result[-1].article_id == "bno-explainer"
    assert len(result) == len(DOCS)


def test_no_query_text_means_date_order_and_zero_score(index: SqliteFtsIndex) -> None:
    page = search(index, sort="relevance", threads=("huawei-5g",))
    assert [h.article_id for h in page.hits] == [
        "hw-court",
        "hw-midlands",
        "hw-coast",
        "hw-wire",
        "hw-weigh",
    ]
    assert all(h.score == 0.0 for h in page.hits)


def test_relevance_ranks_title_matches_above_text_matches(index: SqliteFtsIndex) -> None:
    hits = search(index, "hinkley").hits
    assert [h.article_id for h in hits] == ["nuc-hinkley", "web-correction"]
    assert hits[0].score > hits[1].score > 0


def _all_pages(index: SqliteFtsIndex, query: SearchQuery) -> list[str]:
    seen: list[str] = []
    while True:
        page = index.search(query)
        seen += [h.article_id for h in page.hits]
        if page.next_cursor is None:
            return seen
        query = replace(query, cursor=page.next_cursor)


@pytest.mark.parametrize("sort", ["date", "relevance"])
def test_cursor_paging_has_no_duplicates_or_gaps(index: SqliteFtsIndex, sort: str) -> None:
    text = "" if sort == "date" else "huawei OR kong OR uk OR sanction"
    everything = search(index, text, sort=sort)
    paged = _all_pages(index, SearchQuery(text=text, sort=sort, limit=3, collapse=False))  # type: ignore[arg-type]
    assert paged == [h.article_id for h in everything.hits]
    assert len(paged) == everything.total > 6


def test_collapsed_paging_has_each_story_once(index: SqliteFtsIndex) -> None:
    query = SearchQuery(text="huawei", sort="date", limit=2, collapse=True)
    paged = _all_pages(index, query)
    assert paged == ["hw-court", "fr-zurich", "hw-midlands", "hw-weigh"]


def test_date_paging_is_stable_when_a_newer_document_arrives(index: SqliteFtsIndex) -> None:
    query = SearchQuery(sort="date", limit=4, collapse=False)
    first = index.search(query)
    late = make_doc("late-news", "Fresh Hong Kong ruling", "A newer story.", at("2024-05-01"))
    index.index([late])
    rest = _all_pages(index, replace(query, cursor=first.next_cursor))
    before = [h.article_id for h in first.hits] + rest
    assert before == [d.article_id for d in _sorted_by_date(DOCS)]


def _sorted_by_date(docs: list[IndexDocument]) -> list[IndexDocument]:
    dated = sorted(
        (d for d in docs if d.published_at),
        key=lambda d: (-d.published_at.timestamp(), d.article_id),  # type: ignore[union-attr]
    )
    return dated + sorted((d for d in docs if not d.published_at), key=lambda d: d.article_id)


def test_cursor_is_tied_to_its_query(index: SqliteFtsIndex) -> None:
    page = index.search(SearchQuery(text="huawei", limit=1, collapse=False))
    assert page.next_cursor is not None
    with pytest.raises(SearchError, match="different query"):
        index.search(SearchQuery(text="hinkley", cursor=page.next_cursor))
    with pytest.raises(SearchError, match="invalid cursor"):
        index.search(SearchQuery(text="huawei", cursor="not-a-cursor!"))


# -- collapse, snippets, timeline, more like this ------------------------------------------


def test_collapse_keeps_best_member_and_lists_other_outlets(index: SqliteFtsIndex) -> None:
    page = index.search(SearchQuery(text="huawei", sort="date", collapse=True))
    assert page.total == 6  # articles, before collapsing
    story = [h for h in page.hits if h.cluster_id == "c-huawei-2027"]
    assert [h.article_id for h in story] == ["hw-midlands"]  # newest member in date order
    assert story[0].also_published_by == ["Coastal Gazette", "Wire Daily"]
    loners = [h for h in page.hits if h.cluster_id is None]
    assert all(h.also_published_by == [] for h in loners)


def test_also_published_by_respects_filters(index: SqliteFtsIndex) -> None:
    page = index.search(
        SearchQuery(text="huawei", sources=("wire daily", "coastal gazette"), collapse=True)
    )
    (story,) = [h for h in page.hits if h.cluster_id == "c-huawei-2027"]
    assert {story.outlet, *story.also_published_by} == {"Wire Daily", "Coastal Gazette"}
    assert len(story.also_published_by) == 1


def test_snippet_marks_matches_and_escapes_html(index: SqliteFtsIndex) -> None:
    (hit,) = [h for h in search(index, "hinkley").hits if h.article_id == "web-correction"]
    assert "<mark>Hinkley</mark>" in hit.snippet
    assert "&lt;script&gt;" in hit.snippet
    assert "<script>" not in hit.snippet
    assert "&amp; the stake" in hit.snippet
    stemmed = next(h for h in search(index, "sanction").hits if h.article_id == "xj-sanctions")
    assert "<mark>sanctions</mark>" in stemmed.snippet


def test_snippet_without_query_is_escaped_start_of_text(index: SqliteFtsIndex) -> None:
    (hit,) = search(index, threads=(), since=at("2016-09-16", 0), until=at("2016-09-17", 0)).hits
    assert hit.snippet.startswith("An embedded &lt;script&gt;")
    assert "<mark>" not in hit.snippet


def test_timeline_by_day_and_week(index: SqliteFtsIndex) -> None:
    query = SearchQuery(text="huawei")
    days = index.timeline(query, "day")
    assert [(b.start, b.articles, b.stories) for b in days if b.articles] == [
        (date(2020, 7, 13), 1, 1),
        (date(2020, 7, 14), 3, 1),
        (date(2020, 7, 15), 1, 1),
        (date(2020, 7, 20), 1, 1),
    ]
    assert len(days) == 8  # 13th to 20th, empty days included
    weeks = index.timeline(query, "week")
    assert [(b.start, b.articles, b.stories) for b in weeks] == [
        (date(2020, 7, 13), 5, 3),  # a Monday
        (date(2020, 7, 20), 1, 1),
    ]
    assert index.timeline(SearchQuery(text="nothingmatchesthis")) == []


def test_more_like_this_finds_related_stories_outside_own_cluster(index: SqliteFtsIndex) -> None:
    similar = index.more_like_this("hw-wire", limit=5)
    found = [h.article_id for h in similar]
    assert found, "expected related Huawei stories"
    assert found[0] in {"hw-court", "hw-weigh"}
    assert not {"hw-wire", "hw-coast", "hw-midlands"} & set(found)
    related = [h.article_id for h in index.more_like_this("hw-weigh", limit=3)]
    assert "hw-weigh" not in related
    assert sum(1 for h in index.more_like_this("hw-weigh") if h.cluster_id == "c-huawei-2027") == 1
    assert index.more_like_this("no-such-article") == []


def test_hit_carries_document_fields(index: SqliteFtsIndex) -> None:
    (hit,) = search(index, "xinjiang").hits
    assert isinstance(hit, SearchHit)
    assert hit.url == "https://wiredaily.example/xj-sanctions"
    assert hit.published_at == at("2021-03-22")
    assert hit.published_at is not None and hit.published_at.tzinfo is UTC
    assert (hit.outlet, hit.domain, hit.language) == ("Wire Daily", "wiredaily.example", "en")
    assert (hit.threads, hit.relation) == (["xinjiang"], "follow_up")
