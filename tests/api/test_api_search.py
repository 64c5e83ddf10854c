"""The JSON API's search endpoint over a live server, on the embedded and the Elasticsearch
backend.

Expected answers come from the newsroom's labels (which articles copy the seed, which
follow it up) and from the store (what the pipeline extracted and indexed).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.api.api_queries import ALL, containing, hit_ids, published, search
from tests.api.conftest import SAMPLE, SEED_COPIES, SEED_STORY, Service

# -- search -------------------------------------------------------------------------------


def test_copies_of_a_story_collapse_into_one_hit_with_its_other_outlets(service: Service) -> None:
    body = search(service, q="pompeo")
    seed_hits = [h for h in body["hits"] if h["article_id"] in service.ids_of(SEED_COPIES)]
    assert len(seed_hits) == 1
    outlets = {SAMPLE[slug].outlet for slug in SEED_COPIES}
    assert len(seed_hits[0]["also_published_by"]) == len(outlets) - 1
    assert seed_hits[0]["outlet"] not in seed_hits[0]["also_published_by"]
    assert body["total"] >= len(SEED_COPIES)  # articles, counted before collapsing

    expanded = search(service, q="pompeo", collapse="false", limit=50)
    assert service.ids_of(SEED_COPIES) <= hit_ids(expanded)


def test_snippets_mark_the_matched_words(service: Service) -> None:
    body = search(service, q="huawei")
    assert body["hits"]
    for hit in body["hits"]:
        assert "<mark>" in hit["snippet"], hit
        marked = hit["snippet"].split("<mark>")[1].split("</mark>")[0]
        assert marked.lower() == "huawei"


def test_phrase_matches_consecutive_words_only(service: Service) -> None:
    body = search(service, q='"grand strategy"', **ALL)
    expected = containing(service, "grand", "strategy")
    assert expected == service.ids_of(SEED_COPIES)
    assert hit_ids(body) == expected


def test_boolean_operators_and_prefixes(service: Service) -> None:
    without_phone = hit_ids(search(service, q="huawei NOT phone", **ALL))
    assert service.ids["aster-x3-phone-review"] not in without_phone
    assert service.ids["huawei-removal-costs-operators"] in without_phone
    assert hit_ids(search(service, q="huawei -phone", **ALL)) == without_phone

    either = hit_ids(search(service, q="hinkley OR sizewell", **ALL))
    assert service.ids_of({"hinkley-point-c-delay-costs", "sizewell-c-talks-cgn-role"}) <= either

    prefix = hit_ids(search(service, q="extradit*", **ALL))
    assert containing(service, "extradition") <= prefix


def test_date_range_includes_the_whole_last_day(service: Service) -> None:
    body = search(service, since="2020-07-21", until="2020-07-28", **ALL)
    first, last = date(2020, 7, 21), date(2020, 7, 28)
    expected = {a.id for a in service.indexed() if first <= published(a).date() <= last}
    assert service.ids_of(SEED_COPIES) <= expected
    assert hit_ids(body) == expected


def test_date_time_bounds_are_exact(service: Service) -> None:
    copy = next(a for a in service.indexed() if a.id == service.ids["pompeo-grand-strategy-china"])
    since = (published(copy) - timedelta(minutes=1)).isoformat()
    until = (published(copy) + timedelta(minutes=1)).isoformat()
    body = search(service, since=since, until=until, **ALL)
    assert hit_ids(body) == {copy.id}


def test_source_filter_takes_an_outlet_name_or_a_domain(service: Service) -> None:
    wire = [a for a in service.indexed() if a.site_name == "Westminster Wire"]
    assert wire
    by_name = search(service, source="Westminster Wire", **ALL)
    by_domain = search(service, source=wire[0].domain, **ALL)
    assert hit_ids(by_name) == hit_ids(by_domain) == {a.id for a in wire}
    both = search(service, source=["Westminster Wire", "Pacific Ledger"], **ALL)
    assert hit_ids(both) > {a.id for a in wire}


def test_thread_relation_and_language_filters(service: Service) -> None:
    hong_kong = search(service, thread="hong-kong", **ALL)
    expected = {a.id for a in service.indexed() if "hong-kong" in a.threads}
    assert expected and hit_ids(hong_kong) == expected

    follow_ups = service.follow_ups()
    assert follow_ups and hit_ids(search(service, relation="follow_up", **ALL)) == follow_ups
    assert hit_ids(search(service, relation="duplicate", **ALL)) == service.ids_of(SEED_STORY)

    chinese = {slug for slug, spec in SAMPLE.items() if spec.language == "zh"}
    assert chinese
    assert hit_ids(search(service, lang="zh", **ALL)) == service.ids_of(chinese)
    english = search(service, lang="en", **ALL)["total"]
    assert english == len(service.indexed()) - len(chinese)
    assert search(service, lang="fr", **ALL)["total"] == 0


def test_date_sort_and_cursor_paging_walk_every_article_once(service: Service) -> None:
    whole = search(service, sort="date", **ALL)
    dates = [h["published_at"] for h in whole["hits"]]
    assert dates == sorted(dates, reverse=True)

    walked: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"sort": "date", "collapse": "false", "limit": 7}
        if cursor:
            params["cursor"] = cursor
        page = search(service, **params)
        walked.extend(hit["article_id"] for hit in page["hits"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == [hit["article_id"] for hit in whole["hits"]]
    assert len(walked) == len(service.indexed())


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": '"grand strategy'}, "unbalanced quote"),
        ({"q": "byline:pompeo"}, "unknown field 'byline'"),
        ({"q": "(huawei OR 5g"}, "unbalanced '('"),
        ({"q": "huawei AND"}, "query ends"),
        ({"q": "NOT huawei"}, "NOT"),
        ({"q": "x" * 1001}, "too long"),
        ({"limit": 1_000_000}, "limit must be between 1 and 100"),
        ({"limit": 0}, "limit must be between 1 and 100"),
        ({"limit": "lots"}, "limit"),
        ({"since": "21/07/2020"}, "since must be a date"),
        ({"until": "2020-02-30"}, "until must be a date"),
        ({"since": "2020-08-01", "until": "2020-07-01"}, "since must be earlier than until"),
        ({"until": "9999-12-31"}, "until '9999-12-31' is outside the dates"),
        ({"since": "0001-01-01T00:00:00+01:00"}, "is outside the dates"),
        ({"until": "9999-12-31T23:59:59-01:00"}, "is outside the dates"),
        (
            {"relation": "copy"},
            "relation must be one of duplicate, follow_up, background, unrelated",
        ),
        ({"sort": "popularity"}, "sort"),
        ({"collapse": "perhaps"}, "collapse"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
def test_bad_searches_are_400_with_a_message(
    service: Service, params: dict[str, Any], message: str
) -> None:
    response = service.get("/api/search", params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "bad_request"
    assert message in body["detail"]


def test_search_accepts_the_background_relation(service: Service) -> None:
    response = service.get("/api/search", params={"q": "china", "relation": "background"})
    assert response.status_code == 200
    assert all(hit["relation"] == "background" for hit in response.json()["hits"])
    bad = service.get("/api/search", params={"q": "china", "relation": "before"})
    assert bad.status_code == 400 and "background" in bad.text
