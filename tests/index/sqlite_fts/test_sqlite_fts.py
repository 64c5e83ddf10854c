"""The SQLite FTS5 backend against a real index file, with a small original newsroom."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.index.base import BackendUnavailable, SearchError, SearchHit, SearchPage, SearchQuery
from pipeline.index.sqlite_fts import SqliteFtsIndex, truncate_text
from pipeline.records import IndexDocument
from tests.index.newsroom import make_doc

SYNDICATED_TEXT = (
    "The government has told mobile operators to strip Huawei equipment out of their 5G "
    "networks by 2027, reversing an earlier decision after new sanctions from Washington "
    "cast doubt on the company's supply chain."
)


def _at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


DOCS = [
    make_doc(
        "hw-weigh",
        "Ministers weigh Huawei role in 5G rollout",
        "Cabinet ministers met to weigh how far Huawei should be allowed into the 5G rollout. "
        "Security officials warned about the supply chain of network equipment.",
        _at("2020-07-13"),
        threads=("huawei-5g",),
        relation="follow_up",
    ),
    make_doc(
        "hw-wire",
        "UK orders Huawei kit out of 5G networks by 2027",
        SYNDICATED_TEXT,
        _at("2020-07-14", 9),
        outlet="Wire Daily",
        domain="wiredaily.example",
        threads=("huawei-5g",),
        relation="follow_up",
        cluster_id="c-huawei-2027",
    ),
    make_doc(
        "hw-coast",
        "UK orders Huawei kit out of 5G networks by 2027",
        SYNDICATED_TEXT + " Operators on the coast expect delays.",
        _at("2020-07-14", 11),
        outlet="Coastal Gazette",
        domain="coastal-gazette.example",
        threads=("huawei-5g",),
        relation="follow_up",
        cluster_id="c-huawei-2027",
    ),
    make_doc(
        "hw-midlands",
        "Huawei kit must leave UK 5G networks by 2027",
        SYNDICATED_TEXT + " Midlands engineers described the timetable as tight.",
        _at("2020-07-14", 13),
        outlet="Midlands Post",
        domain="midlandspost.example",
        threads=("huawei-5g",),
        relation="follow_up",
        cluster_id="c-huawei-2027",
    ),
    make_doc(
        "fr-zurich",
        "Délégation chinoise reçue à Zürich",
        "La délégation a évoqué les sanctions économiques et le réseau 5G construit par Huawei.",
        _at("2020-07-15"),
        outlet="Le Veilleur",
        domain="leveilleur.example",
        language="fr",
        relation="follow_up",
    ),
    make_doc(
        "hw-court",
        "Huawei challenges its exclusion in court",
        "Lawyers for Huawei filed papers arguing that the exclusion from 5G networks was "
        "disproportionate and ignored the cost to operators.",
        _at("2020-07-20"),
        threads=("huawei-5g",),
        relation="follow_up",
    ),
    make_doc(
        "hk-extradition",
        "Crowds fill Hong Kong streets over extradition bill",
        "Hundreds of thousands marched through Hong Kong against a bill that would allow "
        "extradition to the mainland. Police used tear gas near the legislature.",
        _at("2019-06-12"),
        outlet="Coastal Gazette",
        domain="coastal-gazette.example",
        threads=("hong-kong",),
        relation="follow_up",
    ),
    make_doc(
        "hk-bno",
        "BN(O) visa route opens for Hong Kong residents",
        "Holders of British National (Overseas) status in Hong Kong can now apply for a visa "
        "that leads to settlement in the UK after five years.",
        _at("2021-01-29"),
        threads=("hong-kong",),
        relation="duplicate",
    ),
    make_doc(
        "xj-sanctions",
        "UK joins allies in sanctioning Xinjiang officials",
        "Four officials accused of abuses against Uyghurs in Xinjiang face asset freezes and "
        "travel bans, the first such sanctions on China in decades.",
        _at("2021-03-22"),
        outlet="Wire Daily",
        domain="wiredaily.example",
        threads=("xinjiang",),
        relation="follow_up",
    ),
    make_doc(
        "nuc-hinkley",
        "Hinkley Point nuclear deal approved with Chinese stake",
        "The government approved the Hinkley Point C nuclear plant after a review of the stake "
        "held by a Chinese state energy company.",
        _at("2016-09-15"),
        outlet="Midlands Post",
        domain="midlandspost.example",
        threads=("nuclear",),
        relation="follow_up",
    ),
    make_doc(
        "web-correction",
        "Correction to our energy coverage",
        "An embedded <script>alert('x')</script> tag appeared beside our report on Hinkley "
        "& the stake & the plant; it has been removed.",
        _at("2016-09-16"),
    ),
    make_doc(
        "sport-derby",
        "Late penalty settles derby at Ashfield Park",
        "A penalty in the last minute gave the home side a two-one win in a derby watched by "
        "a record crowd.",
        _at("2021-03-20"),
        outlet="Wire Daily",
        domain="wiredaily.example",
    ),
    make_doc(
        "bank-hkex",
        "Harbour Bank shares rise on HKEX debut",
        "Shares in Harbour Bank rose on their first day of trading on the Hong Kong exchange, "
        "HKEX, after a listing that raised more than expected.",
        _at("2021-03-23"),
        outlet="Coastal Gazette",
        domain="coastal-gazette.example",
    ),
    make_doc(
        "bno-explainer",
        "Explainer: the BN(O) passport",
        "What the British National (Overseas) passport is, who holds it, and how Hong Kong "
        "residents use it.",
        None,
    ),
]
BY_ID = {d.article_id: d for d in DOCS}


@pytest.fixture
def index(tmp_path: Path) -> SqliteFtsIndex:
    backend = SqliteFtsIndex(tmp_path / "search.db")
    backend.ensure_ready()
    outcomes = backend.index(DOCS)
    assert all(o.ok for o in outcomes)
    return backend


def search(index: SqliteFtsIndex, text: str = "", **options: Any) -> SearchPage:
    """Uncollapsed, one big page unless the test says otherwise."""
    options.setdefault("collapse", False)
    options.setdefault("limit", 100)
    return index.search(SearchQuery(text=text, **options))


def ids(index: SqliteFtsIndex, text: str = "", **options: Any) -> list[str]:
    return [h.article_id for h in search(index, text, **options).hits]


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
    result = ids(index, since=_at("2021-01-01", 0), until=_at("2021-03-23", 0))
    assert result == ["xj-sanctions", "sport-derby", "hk-bno"]
    assert "bno-explainer" not in ids(index, until=_at("2100-01-01", 0))  # undated never passes


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


def test_an_index_from_before_the_filters_index_gains_it(tmp_path: Path) -> None:
    path = tmp_path / "search.db"
    SqliteFtsIndex(path).index(DOCS)
    filtered = {"text": "huawei", "threads": ("huawei-5g",), "since": _at("2020-07-14", 0)}
    expected = search(SqliteFtsIndex(path), **filtered)
    with sqlite3.connect(path) as conn:
        conn.execute("DROP INDEX docs_v1_filters")  # the layout before it
    reopened = SqliteFtsIndex(path)
    assert search(reopened, **filtered) == expected  # the first search brings it back
    with sqlite3.connect(path) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema")}
    assert "docs_v1_filters" in names
    assert {"hw-wire", "hw-coast"} & {h.article_id for h in expected.hits}


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
    late = make_doc("late-news", "Fresh Hong Kong ruling", "A newer story.", _at("2024-05-01"))
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
    (hit,) = search(index, threads=(), since=_at("2016-09-16", 0), until=_at("2016-09-17", 0)).hits
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
    good = make_doc("new-one", "Fresh story", "Some new words about tariffs.", _at("2022-01-01"))
    outcomes = index.index([bad, good])
    assert [o.ok for o in outcomes] == [False, True]
    assert "article_id" in (outcomes[0].error or "")
    assert ids(index, "tariffs") == ["new-one"]


def test_long_text_is_truncated_at_a_word_boundary(tmp_path: Path) -> None:
    backend = SqliteFtsIndex(tmp_path / "search.db", max_text_chars=1000)
    text = "alpha " * 200 + "omega"
    backend.index([make_doc("long", "Long piece", text, _at("2022-01-01"))])
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
        make_doc(f"filler-{n}", f"Filler {n}", "Routine council minutes.", _at("2015-01-01"))
        for n in range(500)  # one full rebuild batch, written before the feed resumes
    ]
    late = make_doc("late", "Tariff row deepens", "Tariffs on steel.", _at("2022-02-02"))

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
        [make_doc("other-process", "Tidal energy plan", "Lagoon turbines.", _at("2022-03-03"))]
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


# -- errors and health -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"text": '"hong kong'}, "unbalanced quote"),
        ({"text": "author:smith"}, "unknown field"),
        ({"limit": 1001}, "limit"),
        ({"limit": 0}, "limit"),
        ({"since": _at("2021-01-02"), "until": _at("2021-01-01")}, "since"),
    ],
)
def test_search_errors(index: SqliteFtsIndex, options: dict[str, object], message: str) -> None:
    with pytest.raises(SearchError, match=message):
        index.search(SearchQuery(**options))  # type: ignore[arg-type]


def test_more_like_this_and_timeline_argument_errors(index: SqliteFtsIndex) -> None:
    with pytest.raises(SearchError):
        index.more_like_this("hw-wire", limit=5000)
    with pytest.raises(SearchError):
        index.timeline(SearchQuery(), "month")  # type: ignore[arg-type]


def test_ensure_ready_is_idempotent_and_health_reports(index: SqliteFtsIndex) -> None:
    index.ensure_ready()
    SqliteFtsIndex(index.path).ensure_ready()
    health = index.health()
    assert health["documents"] == len(DOCS)
    assert health["backend"] == "sqlite"
    assert isinstance(health["file_bytes"], int) and health["file_bytes"] > 0


def test_health_raises_when_the_file_is_missing_or_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable):
        SqliteFtsIndex(tmp_path / "absent.db").health()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database file at all" * 200)
    with pytest.raises(BackendUnavailable):
        SqliteFtsIndex(junk).health()
    with pytest.raises(BackendUnavailable):
        SqliteFtsIndex(junk).index([DOCS[0]])


def test_hit_carries_document_fields(index: SqliteFtsIndex) -> None:
    (hit,) = search(index, "xinjiang").hits
    assert isinstance(hit, SearchHit)
    assert hit.url == "https://wiredaily.example/xj-sanctions"
    assert hit.published_at == _at("2021-03-22")
    assert hit.published_at is not None and hit.published_at.tzinfo is UTC
    assert (hit.outlet, hit.domain, hit.language) == ("Wire Daily", "wiredaily.example", "en")
    assert (hit.threads, hit.relation) == (["xinjiang"], "follow_up")
