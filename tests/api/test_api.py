"""The JSON API over a live server, on the embedded and the Elasticsearch backend.

Expected answers come from the newsroom's labels (which articles copy the seed, which
follow it up) and from the store (what the pipeline extracted and indexed).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from pipeline.index.query import words_of
from pipeline.store.models import Article
from tests.api.conftest import SAMPLE, SEED_COPIES, SEED_STORY, Service

ALL = {"limit": 100, "collapse": "false"}


def search(service: Service, **params: Any) -> dict[str, Any]:
    response = service.get("/api/search", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def hit_ids(body: dict[str, Any]) -> set[str]:
    return {hit["article_id"] for hit in body["hits"]}


def published(article: Article) -> datetime:
    assert article.published_at is not None
    return article.published_at


def containing(service: Service, *phrase: str) -> set[str]:
    """Indexed articles whose title or text holds these consecutive words."""
    found = set()
    for article in service.indexed():
        words = words_of(f"{article.title}\n{article.text}")
        n = len(phrase)
        if any(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1)):
            found.add(article.id)
    return found


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


# -- records ------------------------------------------------------------------------------


def test_article_has_its_cluster_seed_relation_and_revisions(service: Service) -> None:
    slug = "pompeo-urges-tory-backbenchers-tougher-beijing"
    response = service.get(f"/api/articles/{service.ids[slug]}")
    assert response.status_code == 200
    article = response.json()
    spec = SAMPLE[slug]
    assert article["title"] == spec.title
    assert article["outlet"] == "The Albion Herald"
    assert spec.blocks[1].text in article["text"]
    assert article["relation"] == "duplicate"
    assert {m["id"] for m in article["cluster"]["members"]} == service.ids_of(SEED_STORY)
    [relation] = article["seed_relations"]
    assert relation["seed_id"] == "seed_article"
    assert relation["relation"] == "duplicate"
    assert relation["evidence"]["reason"]
    assert relation["evidence"]["features"]["containment"] > 0
    assert [r["word_count"] for r in article["revisions"]] == [article["word_count"]]


def test_cluster_lists_members_earliest_first(service: Service) -> None:
    article = service.get(f"/api/articles/{service.ids['pompeo-grand-strategy-china']}").json()
    cluster = service.get(f"/api/clusters/{article['cluster']['id']}").json()
    assert cluster["size"] == len(SEED_STORY)
    first_seen = [m["published_at"] for m in cluster["members"]]
    assert first_seen == sorted(first_seen)
    assert cluster["representative_article_id"] == cluster["members"][0]["id"]
    assert set(cluster["outlets"]) == {m["outlet"] for m in cluster["members"]}


@pytest.mark.parametrize("path", ["/api/articles/0000", "/api/clusters/0000"])
def test_unknown_records_are_404(service: Service, path: str) -> None:
    response = service.get(path)
    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "not_found"
    assert "'0000'" in body["detail"]


def test_threads_count_articles_and_stories_and_show_the_latest(service: Service) -> None:
    threads = service.get("/api/threads").json()
    assert [t["name"] for t in threads][:2] == ["huawei-5g", "hong-kong"]
    for thread in threads:
        tagged = search(service, thread=thread["name"], **ALL)
        assert thread["articles"] == tagged["total"]
        stories = search(service, thread=thread["name"], limit=100)
        assert thread["stories"] == len(stories["hits"])
        newest = max(tagged["hits"], key=lambda hit: hit["published_at"])
        assert thread["latest"]["cluster_id"] == newest["cluster_id"]


def test_timeline_counts_articles_and_stories_per_bucket(service: Service) -> None:
    weekly = service.get("/api/timeline", params={"thread": "hong-kong"}).json()
    assert weekly["interval"] == "week"
    starts = [date.fromisoformat(b["start"]) for b in weekly["buckets"]]
    assert all(start.weekday() == 0 for start in starts)
    assert all(b - a == timedelta(weeks=1) for a, b in pairwise(starts))
    tagged = search(service, thread="hong-kong", **ALL)["total"]
    assert sum(b["articles"] for b in weekly["buckets"]) == tagged

    daily = service.get("/api/timeline", params={"q": "pompeo", "interval": "day"}).json()
    seed_day = next(b for b in daily["buckets"] if b["start"] == "2020-07-21")
    copies = [a for a in service.indexed() if a.id in service.ids_of(SEED_COPIES)]
    same_day = [a for a in copies if published(a).date() == date(2020, 7, 21)]
    assert seed_day["articles"] >= len(same_day) > 1
    assert seed_day["stories"] < seed_day["articles"]  # the copies are one story


def test_timeline_rejects_an_unknown_interval(service: Service) -> None:
    response = service.get("/api/timeline", params={"interval": "month"})
    assert response.status_code == 400
    assert "interval" in response.json()["detail"]


def test_followups_group_the_seeds_follow_ups_by_thread_in_date_order(service: Service) -> None:
    body = service.get("/api/followups").json()
    assert body["seed"]["id"] == "seed_article"
    assert body["seed"]["published"] == "2020-07-21"
    [copies] = body["copies"]
    assert copies["size"] == len(SEED_STORY)
    assert len(body["copy_outlets"]) == len({SAMPLE[s].outlet for s in SEED_STORY})
    follow_ups = service.follow_ups()
    assert body["followup_articles"] == len(follow_ups)
    listed = {story["article_id"] for group in body["threads"] for story in group["stories"]}
    assert listed <= follow_ups
    for group in body["threads"]:
        dates = [story["first_seen_at"] for story in group["stories"]]
        assert dates == sorted(dates)
        assert all(group["name"] in story["threads"] for story in group["stories"])
    assert service.get("/api/followups", params={"seed": "nope"}).status_code == 404


def test_alert_feeds_are_served_per_rule(service: Service) -> None:
    response = service.get("/alerts/huawei.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    assert "<feed" in response.text and "Huawei" in response.text
    assert service.get("/alerts/no-such-rule.atom").status_code == 404


# -- service ------------------------------------------------------------------------------


def test_probes(service: Service) -> None:
    assert service.get("/healthz").json() == {"status": "ok"}
    ready = service.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True
    assert body["store"]["ok"] and body["search"]["ok"]
    assert f"{len(service.indexed())} documents" in body["search"]["detail"]


def test_openapi_document_describes_every_route(service: Service) -> None:
    document = service.get("/openapi.json").json()
    assert {
        "/api/search",
        "/api/timeline",
        "/api/articles/{article_id}",
        "/api/clusters/{cluster_id}",
        "/api/threads",
        "/api/followups",
        "/api/articles/{article_id}/other-sides",
        "/healthz",
        "/readyz",
    } <= set(document["paths"])
    search_params = {p["name"] for p in document["paths"]["/api/search"]["get"]["parameters"]}
    assert {
        *("q", "since", "until", "source", "thread", "relation", "lang", "perspective", "sort")
    } <= search_params
    followup_params = {
        p["name"] for p in document["paths"]["/api/followups"]["get"]["parameters"]
    }
    assert followup_params == {"seed", "lang", "perspective"}
    assert "X-API-Key" in str(document["components"]["securitySchemes"])


def test_published_at_is_utc(service: Service) -> None:
    hit = search(service, q="pompeo", sort="date", limit=1)["hits"][0]
    parsed = datetime.fromisoformat(hit["published_at"].replace("Z", "+00:00"))
    assert parsed.utcoffset() == timedelta(0)
    assert parsed == published(
        next(a for a in service.indexed() if a.id == hit["article_id"])
    ).astimezone(UTC)


# -- web pages over the same backend ----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "marker"),
    [
        ("/", "See the seed's follow-ups"),
        ("/search?q=huawei&since=2020-08-01", "<mark>"),
        ("/followups", 'class="thread-group"'),
        ("/followups", 'class="developments"'),
        ("/timeline?thread=hong-kong", 'class="bar"'),
        ("/articles/{pompeo-grand-strategy-china}", "Relation to seed"),
    ],
)
def test_web_pages_render(service: Service, path: str, marker: str) -> None:
    path = path.replace("{pompeo-grand-strategy-china}", service.ids["pompeo-grand-strategy-china"])
    response = service.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert marker in response.text


def test_searching_huawei_in_chinese_finds_the_chinese_reports(service: Service) -> None:
    """华为 is two characters inside longer runs; the Chinese pages came in as GB18030."""
    found = search(service, q="华为", **ALL)
    expected = {
        slug for slug, spec in SAMPLE.items() if spec.language == "zh" and "华为" in spec.text
    }
    assert len(expected) >= 2
    assert hit_ids(found) == service.ids_of(expected)
    assert all("<mark>华为</mark>" in hit["snippet"] for hit in found["hits"])
    page = service.get("/search", params={"q": "华为", "lang": "zh"})
    assert page.status_code == 200
    titles = [SAMPLE[slug].title for slug in expected]
    assert all(title in page.text for title in titles)


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/articles/0000", 404, "no article with id"),
        ("/search?q=(huawei", 400, "unbalanced"),
        ("/timeline?since=someday", 400, "since must be a date"),
        ("/no-such-page", 404, "Not Found"),
    ],
)
def test_web_errors_are_pages_with_a_message(
    service: Service, path: str, status: int, message: str
) -> None:
    response = service.get(path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert message in response.text


def test_article_carries_the_perspective_of_its_feed(service: Service) -> None:
    state_media = service.get(f"/api/articles/{service.ids['huaxia-huawei-installation-deadline']}")
    assert state_media.json()["perspective"] == "china"
    chinese = service.get(
        f"/api/articles/{service.ids['zh-huawei-installation-ban-brought-forward']}"
    )
    assert chinese.json()["perspective"] == "international"
    assert chinese.json()["language"] == "zh"
    page = service.get(f"/articles/{service.ids['huaxia-huawei-installation-deadline']}")
    assert "perspective: Chinese official media" in page.text


def test_followups_group_follow_ups_into_named_developments(service: Service) -> None:
    body = service.get("/api/followups").json()
    developments = body["developments"]
    assert developments, "the sample's follow-ups form developments"
    listed = [s["cluster_id"] for d in developments for s in d["stories"]]
    threaded = {s["cluster_id"] for group in body["threads"] for s in group["stories"]}
    assert sorted(listed) == sorted(threaded)  # each follow-up story in exactly one
    for development in developments:
        assert development["name"] and development["terms"]
        assert development["first"] == development["stories"][0]
        dates = [s["first_seen_at"] for s in development["stories"]]
        assert dates == sorted(dates)
    firsts = [d["first_seen_at"] for d in developments]
    assert firsts == sorted(firsts)


def test_search_accepts_the_background_relation(service: Service) -> None:
    response = service.get("/api/search", params={"q": "china", "relation": "background"})
    assert response.status_code == 200
    assert all(hit["relation"] == "background" for hit in response.json()["hits"])
    bad = service.get("/api/search", params={"q": "china", "relation": "before"})
    assert bad.status_code == 400 and "background" in bad.text
