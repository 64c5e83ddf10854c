"""The JSON API's records (articles, clusters, threads, timeline, follow-ups), probes and
web pages over a live server, on the embedded and the Elasticsearch backend.

Expected answers come from the newsroom's labels (which articles copy the seed, which
follow it up) and from the store (what the pipeline extracted and indexed).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest

from tests.api.api_queries import ALL, hit_ids, published, search
from tests.api.conftest import SAMPLE, SEED_COPIES, SEED_STORY, Service

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
    followup_params = {p["name"] for p in document["paths"]["/api/followups"]["get"]["parameters"]}
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
