"""robots.txt read once per host for a whole fetch stage, across its batches, while its
cache rules allow (SQLite and PostgreSQL, against a real server on 127.0.0.1)."""

from __future__ import annotations

from collections import Counter

import pytest
from pytest_httpserver import HTTPServer

from pipeline.config import Settings
from pipeline.fetch.robots import MAX_CACHE_SECONDS, RobotsCache, _Rules, fresh_for
from pipeline.fetch.stage import fetch_pending
from pipeline.store import Store
from pipeline.store.models import Article

PAGE = "<html><body><p>A story.</p></body></html>"


def robots_requests(httpserver: HTTPServer) -> int:
    return sum(1 for request, _ in httpserver.log if request.path == "/robots.txt")


def fetch_in_batches_of_one(
    store: Store, settings: Settings, httpserver: HTTPServer
) -> Counter[str]:
    """Three articles on one host, fetched one batch (one client) at a time."""
    for number in range(3):
        httpserver.expect_request(f"/news/{number}").respond_with_data(
            PAGE, content_type="text/html"
        )
    with store.sessions() as session, session.begin():
        for number in range(3):
            url = httpserver.url_for(f"/news/{number}")
            session.add(Article(id=f"a{number}", canonical_url=url, url=url))
    fetch = settings.fetch.model_copy(update={"batch_size": 1})
    return fetch_pending(store.sessions, fetch)


def test_robots_txt_is_read_once_for_all_batches(
    store: Store, settings: Settings, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data(
        "User-agent: *\nDisallow: /private/\n", content_type="text/plain"
    )
    assert fetch_in_batches_of_one(store, settings, httpserver) == {"fetched": 3}
    assert robots_requests(httpserver) == 1


def test_no_store_robots_txt_is_read_again_by_each_batch(
    store: Store, settings: Settings, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data(
        "User-agent: *\nAllow: /\n",
        content_type="text/plain",
        headers={"Cache-Control": "no-store"},
    )
    assert fetch_in_batches_of_one(store, settings, httpserver) == {"fetched": 3}
    assert robots_requests(httpserver) == 3


def test_unreachable_robots_txt_is_asked_again_by_the_next_batch(
    store: Store, settings: Settings, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("down", status=503)
    counts = fetch_in_batches_of_one(store, settings, httpserver)
    # each article is retried until its attempts run out, one batch at a time
    assert set(counts) == {"fetch_retry_http_server_error", "fetch_failed_http_server_error"}
    assert robots_requests(httpserver) == sum(counts.values())  # one per batch


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, MAX_CACHE_SECONDS),
        ("public, max-age=600", 600.0),
        ("max-age=999999999", MAX_CACHE_SECONDS),  # RFC 9309: 24 hours at most
        ("no-cache", 0.0),
        ("private, no-store", 0.0),
    ],
)
def test_freshness_follows_cache_control(header: str | None, seconds: float) -> None:
    assert fresh_for(header) == seconds


def test_cached_rules_expire() -> None:
    now = [1000.0]
    cache = RobotsCache(clock=lambda: now[0])
    rules = _Rules("http://example.test/robots.txt", fresh_for=600.0)
    cache.put("http://example.test", rules)
    now[0] += 599
    assert cache.get("http://example.test") is rules
    now[0] += 1
    assert cache.get("http://example.test") is None
