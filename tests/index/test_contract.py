"""The search contract: every backend answers the same queries with the same results.

Runs over SQLite FTS5 and Elasticsearch (on osmem-server; on a real cluster too when
NEWSWATCH_TEST_ELASTICSEARCH_URL is set). Scores differ between engines, so tests compare
result sets, top hits and orders that do not depend on scores.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from pipeline.index.base import SearchError, SearchPage, SearchQuery
from tests.index.conftest import Backend
from tests.index.newsroom import ALL_IDS, BAN_COPIES, DOCS


def search(backend: Backend, text: str = "", **options: Any) -> SearchPage:
    options.setdefault("collapse", False)
    options.setdefault("limit", 50)
    return backend.index.search(SearchQuery(text=text, **options))


def ids(page: SearchPage) -> set[str]:
    return {hit.article_id for hit in page.hits}


def all_pages(backend: Backend, query: SearchQuery) -> list[list[str]]:
    """The article ids of every page, following cursors from `query`'s own."""
    pages, cursor = [], query.cursor
    while True:
        page = backend.index.search(replace(query, cursor=cursor))
        pages.append([hit.article_id for hit in page.hits])
        cursor = page.next_cursor
        if cursor is None:
            return pages


# -- query syntax --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("huawei", BAN_COPIES | {"ban-analysis", "lab-opening"}),
        ('"street protests"', {"hk-bill"}),
        ('"protests street"', set()),
        ("huawei AND rural", {"ban-analysis"}),
        ("huawei rural", {"ban-analysis"}),
        ("nuclear OR extradition", {"hk-bill", "vienna-resume", "vienna-stall"}),
        ("huawei NOT antennas", {"lab-opening"}),
        ("huawei -antennas", {"lab-opening"}),
        ("(antennas OR lab) AND software", {"lab-opening"}),
        ("extradit*", {"hk-bill"}),
        ("protest*", {"hk-bill", "cafe-rents"}),
        ("title:hong", {"hk-markets"}),
        ("text:hong", {"hk-bill"}),
        ("hong", {"hk-bill", "hk-markets"}),
        ('title:"talks resume"', {"vienna-resume"}),
    ],
)
def test_query_syntax(newsroom: Backend, text: str, expected: set[str]) -> None:
    page = search(newsroom, text)
    assert ids(page) == expected
    assert page.total == len(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("zurich", {"zurich-talks"}),  # accents are folded on both sides
        ("Zürich", {"zurich-talks"}),
        ("cafe", {"cafe-rents"}),
        ("HUAWEI AND Rural", {"ban-analysis"}),  # case does not matter
        ("sanction", BAN_COPIES | {"zurich-talks", "vienna-resume", "vienna-stall"}),  # stems
        (  # no stop words
            "the",
            {"port-deal", "ban-analysis", "hk-bill", "cafe-rents", "vienna-resume", "vienna-stall"},
        ),
    ],
)
def test_analysis(newsroom: Backend, text: str, expected: set[str]) -> None:
    assert ids(search(newsroom, text)) == expected


def test_title_match_ranks_first(newsroom: Backend) -> None:
    # "lab" is in lab-opening's title and text, nowhere else; "software" ties it to one doc
    page = search(newsroom, "huawei OR lab", sort="relevance")
    assert page.hits[0].article_id == "lab-opening"


# -- filters -------------------------------------------------------------------------------


def at(moment: str) -> datetime:
    return datetime.fromisoformat(moment).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"since": at("2021-03-15T00:00")}, {"vienna-resume", "vienna-stall"}),
        ({"until": at("2021-03-02T09:00")}, {"port-deal"}),  # until is exclusive
        (
            {"since": at("2021-03-02T09:00"), "until": at("2021-03-02T11:00")},
            {"ban-wire", "ban-coast"},
        ),
        ({"sources": ("harbour times",)}, {"port-deal", "hk-bill", "cafe-rents"}),
        ({"sources": ("EASTERNLEDGER.EXAMPLE",)}, {"hk-markets", "lab-opening"}),
        ({"sources": ("www.easternledger.example",)}, {"hk-markets", "lab-opening"}),
        (
            {"sources": ("Le Veilleur", "wiredaily.example")},
            {"zurich-talks", "ban-wire", "vienna-resume"},
        ),
        ({"threads": ("nuclear",)}, {"zurich-talks", "vienna-resume", "vienna-stall"}),
        ({"threads": ("ports", "hong-kong")}, {"port-deal", "hk-bill", "hk-markets"}),
        ({"relation": "follow_up", "threads": ("nuclear",)}, {"vienna-resume"}),
        ({"language": "fr"}, {"zurich-talks"}),
        ({"perspective": "china"}, {"hk-markets", "lab-opening"}),
        ({"perspective": "uk"}, {"ban-wire", "vienna-resume"}),  # not ban-wire's copies
        ({"perspective": "uk", "threads": ("huawei-5g",)}, {"ban-wire"}),
    ],
)
def test_filters(newsroom: Backend, options: dict[str, Any], expected: set[str]) -> None:
    page = search(newsroom, **options)
    assert ids(page) == expected
    assert page.total == len(expected)


def test_filters_combine_with_text(newsroom: Backend) -> None:
    for sort in ("relevance", "date"):
        page = search(newsroom, "sanctions", language="en", threads=("nuclear",), sort=sort)
        assert ids(page) == {"vienna-resume", "vienna-stall"}
        assert page.total == 2  # counted after the filters, not every match of the text
        page = search(newsroom, "huawei", sources=("Midlands Post",), sort=sort)
        assert ids(page) == {"ban-midlands", "ban-analysis"}
        assert page.total == 2


def test_undated_articles_never_pass_a_date_filter(newsroom: Backend) -> None:
    assert "lab-opening" not in ids(search(newsroom, "huawei", since=at("2000-01-01T00:00")))
    assert "lab-opening" in ids(search(newsroom, "huawei"))


# -- sorting, paging -----------------------------------------------------------------------


def test_date_sort_is_newest_first_with_undated_last(newsroom: Backend) -> None:
    page = search(newsroom, sort="date")
    order = [hit.article_id for hit in page.hits]
    dated = sorted((d for d in DOCS if d.published_at), key=lambda d: d.published_at, reverse=True)
    assert order == [d.article_id for d in dated] + ["lab-opening"]


def test_relevance_sort_puts_the_closest_match_first(newsroom: Backend) -> None:
    page = search(newsroom, "vienna OR envoys OR stall*", sort="relevance")
    assert page.hits[0].article_id == "vienna-stall"
    assert [h.score for h in page.hits] == sorted((h.score for h in page.hits), reverse=True)


@pytest.mark.parametrize("sort", ["relevance", "date"])
@pytest.mark.parametrize("collapse", [False, True])
def test_cursor_paging_has_no_gaps_or_repeats(newsroom: Backend, sort: str, collapse: bool) -> None:
    whole = search(newsroom, "huawei OR sanctions OR harbour", sort=sort, collapse=collapse)
    pages = all_pages(
        newsroom,
        SearchQuery(text="huawei OR sanctions OR harbour", sort=sort, collapse=collapse, limit=2),
    )
    flat = [article_id for page in pages for article_id in page]
    assert all(len(page) <= 2 for page in pages)
    assert flat == [hit.article_id for hit in whole.hits]  # same order, nothing lost or repeated
    assert len(set(flat)) == len(flat)


def test_date_paging_is_stable_when_newer_articles_arrive(newsroom: Backend) -> None:
    query = SearchQuery(sort="date", limit=4, collapse=False)
    first = newsroom.index.search(query)
    newsroom.index.index(
        [replace(DOCS[0], article_id="late-news", published_at=at("2021-04-01T00:00"))]
    )
    newsroom.refresh()
    rest = all_pages(newsroom, replace(query, cursor=first.next_cursor))
    seen = [hit.article_id for hit in first.hits] + [a for page in rest for a in page]
    assert sorted(seen) == sorted(ALL_IDS)  # the newcomer lands before the cursor


def test_no_query_text_means_date_order(newsroom: Backend) -> None:
    by_relevance = search(newsroom, sort="relevance")
    by_date = search(newsroom, sort="date")
    assert [h.article_id for h in by_relevance.hits] == [h.article_id for h in by_date.hits]
    assert all(h.score == 0.0 for h in by_relevance.hits)


# -- collapsing ----------------------------------------------------------------------------


def test_collapse_shows_a_story_once_with_its_other_outlets(newsroom: Backend) -> None:
    page = search(newsroom, "antennas", collapse=True, sort="date")
    assert page.total == 4  # matching articles, before collapsing
    assert [h.article_id for h in page.hits] == ["ban-analysis", "ban-midlands"]
    story = page.hits[1]
    assert story.cluster_id == "c-ban"
    assert story.also_published_by == ["Coastal Gazette", "Wire Daily"]
    assert page.hits[0].also_published_by == []


def test_collapse_picks_the_best_ranked_copy(newsroom: Backend) -> None:
    page = search(newsroom, "antennas AND carriers AND regulators", collapse=True)
    # the copies tie on score, so the article id decides
    assert [h.article_id for h in page.hits] == ["ban-coast"]
    assert page.hits[0].also_published_by == ["Midlands Post", "Wire Daily"]


def test_also_published_by_counts_only_matching_copies(newsroom: Backend) -> None:
    page = search(newsroom, "antennas", collapse=True, sources=("Wire Daily", "Coastal Gazette"))
    assert [(h.article_id, h.also_published_by) for h in page.hits] == [
        ("ban-coast", ["Wire Daily"])
    ]


def test_without_collapse_every_copy_is_a_hit(newsroom: Backend) -> None:
    page = search(newsroom, "antennas", collapse=False)
    assert ids(page) == BAN_COPIES | {"ban-analysis"}
    assert all(h.also_published_by == [] for h in page.hits)


# -- snippets ------------------------------------------------------------------------------


def marked(snippet: str) -> list[str]:
    return [w.lower() for m in re.findall(r"<mark>(.*?)</mark>", snippet) for w in m.split()]


def test_snippet_marks_matches_and_escapes_html(newsroom: Backend) -> None:
    (hit,) = search(newsroom, "huawei AND latency").hits
    assert "huawei" in marked(hit.snippet) and "latency" in marked(hit.snippet)
    assert "&amp;" in hit.snippet and "&lt;10" in hit.snippet
    assert "<10" not in hit.snippet and "& " not in hit.snippet
    assert re.sub(r"</?mark>", "", hit.snippet).count("<") == 0


def test_snippet_marks_phrases_and_prefixes_but_not_negated_words(newsroom: Backend) -> None:
    (hit,) = search(newsroom, '"street protests" OR extradit* NOT mainland').hits
    words = marked(hit.snippet)
    assert {"street", "protests"} <= set(words)
    assert "mainland" not in words


def test_snippet_without_query_is_the_start_of_the_text(newsroom: Backend) -> None:
    (hit,) = search(newsroom, sources=("Le Veilleur",)).hits
    assert hit.snippet.startswith("Les diplomates réunis")
    assert "<mark>" not in hit.snippet


def test_hit_carries_the_article_fields(newsroom: Backend) -> None:
    (hit,) = search(newsroom, "title:shelved").hits
    assert hit.title == "Extradition bill shelved after weeks of unrest"
    assert hit.url == "https://harbourtimes.example/hk-bill"
    assert (hit.outlet, hit.domain, hit.language) == ("Harbour Times", "harbourtimes.example", "en")
    assert hit.published_at == at("2021-03-08T09:00")
    assert hit.published_at.tzinfo is not None
    assert (hit.threads, hit.relation, hit.cluster_id) == (["hong-kong"], "follow_up", None)
    assert hit.perspective is None  # an article from no feed has no perspective
    (china,) = search(newsroom, "title:rally").hits
    assert china.perspective == "china"


# -- timeline ------------------------------------------------------------------------------


def test_timeline_by_day_counts_articles_and_stories_with_gaps(newsroom: Backend) -> None:
    buckets = newsroom.index.timeline(SearchQuery(), "day")
    assert buckets[0].start == date(2021, 3, 1) and buckets[-1].start == date(2021, 3, 16)
    assert len(buckets) == 16  # every day from the first to the last, empty ones included
    by_day = {b.start: (b.articles, b.stories) for b in buckets}
    assert by_day[date(2021, 3, 2)] == (3, 1)  # three copies, one story
    assert by_day[date(2021, 3, 9)] == (2, 2)
    assert by_day[date(2021, 3, 4)] == (0, 0)
    assert sum(b.articles for b in buckets) == len(DOCS) - 1  # the undated one is left out


def test_timeline_by_week_starts_on_monday(newsroom: Backend) -> None:
    buckets = newsroom.index.timeline(SearchQuery(), "week")
    assert [(b.start, b.articles, b.stories) for b in buckets] == [
        (date(2021, 3, 1), 5, 3),
        (date(2021, 3, 8), 4, 4),
        (date(2021, 3, 15), 2, 2),
    ]


def test_timeline_follows_query_and_filters(newsroom: Backend) -> None:
    buckets = newsroom.index.timeline(SearchQuery(text="huawei", threads=("huawei-5g",)), "day")
    assert [(b.start, b.articles, b.stories) for b in buckets] == [
        (date(2021, 3, 2), 3, 1),
        (date(2021, 3, 3), 1, 1),
    ]
    assert newsroom.index.timeline(SearchQuery(text="nothingmatchesthis")) == []


# -- more like this ------------------------------------------------------------------------


def test_more_like_this_finds_the_closest_other_story(newsroom: Backend) -> None:
    hits = newsroom.index.more_like_this("vienna-resume", limit=3)
    assert hits[0].article_id == "vienna-stall"
    assert "vienna-resume" not in {h.article_id for h in hits}


def test_more_like_this_leaves_out_the_articles_own_story(newsroom: Backend) -> None:
    hits = newsroom.index.more_like_this("ban-wire", limit=5)
    assert hits[0].article_id == "ban-analysis"
    assert not BAN_COPIES & {h.article_id for h in hits}


def test_more_like_this_of_an_unknown_article_is_empty(newsroom: Backend) -> None:
    assert newsroom.index.more_like_this("no-such-article") == []


# -- writes --------------------------------------------------------------------------------


def test_indexing_again_overwrites(newsroom: Backend) -> None:
    before = search(newsroom, "huawei", sort="date")
    outcomes = newsroom.index.index(DOCS)
    assert [o.article_id for o in outcomes] == [d.article_id for d in DOCS]
    assert all(o.ok for o in outcomes)
    newsroom.refresh()
    assert newsroom.index.count() == len(DOCS)
    after = search(newsroom, "huawei", sort="date")
    assert [h.article_id for h in after.hits] == [h.article_id for h in before.hits]


def test_an_updated_article_is_found_by_its_new_words(newsroom: Backend) -> None:
    newsroom.index.index([replace(DOCS[0], title="Harbour lease collapses", text="No deal.")])
    newsroom.refresh()
    assert ids(search(newsroom, "collapses")) == {"port-deal"}
    assert ids(search(newsroom, '"grand strategy"')) == set()
    assert newsroom.index.count() == len(DOCS)


def test_delete_removes_articles(newsroom: Backend) -> None:
    newsroom.index.delete(["ban-wire", "no-such-article"])
    newsroom.refresh()
    assert newsroom.index.count() == len(DOCS) - 1
    assert ids(search(newsroom, "antennas")) == {"ban-coast", "ban-midlands", "ban-analysis"}


def test_rebuild_replaces_the_contents(newsroom: Backend) -> None:
    kept = [d for d in DOCS if d.threads == ("nuclear",)]
    assert newsroom.index.rebuild(iter(kept)) == len(kept)
    newsroom.refresh()
    assert newsroom.index.count() == len(kept)
    assert ids(search(newsroom)) == {d.article_id for d in kept}


def test_health_reports_the_document_count(newsroom: Backend) -> None:
    health = newsroom.index.health()
    assert health["backend"] == newsroom.index.name
    assert health["documents"] == len(DOCS)


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (SearchQuery(text='"hong kong'), "quote"),
        (SearchQuery(text="author:smith"), "unknown field"),
        (SearchQuery(text="NOT huawei"), "NOT"),
        (SearchQuery(text="(huawei"), "unbalanced"),
        (SearchQuery(text="huawei", limit=0), "limit"),
        (SearchQuery(text="huawei", cursor="not-a-cursor!"), "cursor"),
        (
            SearchQuery(
                since=datetime(2021, 3, 5, tzinfo=UTC), until=datetime(2021, 3, 1, tzinfo=UTC)
            ),
            "since",
        ),
    ],
)
def test_bad_queries_raise_search_error(
    newsroom: Backend, query: SearchQuery, message: str
) -> None:
    with pytest.raises(SearchError, match=message):
        newsroom.index.search(query)


def test_a_cursor_only_works_with_its_own_query(newsroom: Backend) -> None:
    page = search(newsroom, "huawei", limit=1)
    assert page.next_cursor is not None
    with pytest.raises(SearchError, match="cursor"):
        search(newsroom, "antennas", limit=1, cursor=page.next_cursor)


def test_timeline_rejects_an_unknown_interval(newsroom: Backend) -> None:
    with pytest.raises(SearchError, match="interval"):
        newsroom.index.timeline(SearchQuery(), "month")  # type: ignore[arg-type]
