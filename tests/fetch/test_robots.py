"""robots.txt rules and RFC 9309 failure handling, against a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipeline.config import FeedConfig, FetchSettings, Settings
from pipeline.feeds.documents import FeedState, poll_feeds_sync
from pipeline.fetch.errors import DownloadError
from pipeline.fetch.http import make_client
from pipeline.fetch.pages import PageRequest, fetch_pages_sync
from pipeline.fetch.robots import Robots
from pipeline.records import FeedPollResult, FeedStatus, FetchError

PAGE = "<html><body><p>A story.</p></body></html>"


def check(settings: FetchSettings, urls: Sequence[str]) -> list[DownloadError | None]:
    """Ask one Robots (one client lifetime) about each URL, concurrently."""

    async def run() -> list[DownloadError | None]:
        async with make_client(settings) as client:
            robots = Robots(client, settings)

            async def one(url: str) -> DownloadError | None:
                try:
                    await robots.require_allowed(url)
                except DownloadError as exc:
                    return exc
                return None

            return list(await asyncio.gather(*(one(u) for u in urls)))

    return asyncio.run(run())


def robots_requests(httpserver: HTTPServer) -> int:
    return sum(1 for request, _ in httpserver.log if request.path == "/robots.txt")


@pytest.fixture
def fetch(settings: Settings) -> FetchSettings:
    return settings.fetch


def test_disallowed_and_allowed_paths(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/robots.txt").respond_with_data(
        "User-agent: *\nDisallow: /private/\n", content_type="text/plain"
    )
    denied, allowed = check(
        fetch, [httpserver.url_for("/private/story"), httpserver.url_for("/news/story")]
    )
    assert allowed is None
    assert denied is not None
    assert denied.error == FetchError.ROBOTS_DISALLOWED
    assert httpserver.url_for("/robots.txt") in denied.detail
    assert "/private/story" in denied.detail


def test_group_for_our_user_agent_wins(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/robots.txt").respond_with_data(
        "User-agent: newswatch\nDisallow: /\n\nUser-agent: *\nAllow: /\n"
    )
    (denied,) = check(fetch, [httpserver.url_for("/news/story")])
    assert denied is not None
    assert denied.error == FetchError.ROBOTS_DISALLOWED
    assert "newswatch" in denied.detail


def test_one_robots_fetch_per_origin_under_concurrency(
    httpserver: HTTPServer, fetch: FetchSettings
):
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /x/\n")
    outcomes = check(fetch, [httpserver.url_for(f"/news/{i}") for i in range(6)])
    assert outcomes == [None] * 6
    assert robots_requests(httpserver) == 1


def test_missing_robots_allows_everything(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/robots.txt").respond_with_data("not here", 404)
    assert check(fetch, [httpserver.url_for("/anything")]) == [None]


def test_server_error_on_robots_disallows_everything_for_now(
    httpserver: HTTPServer, fetch: FetchSettings
):
    httpserver.expect_request("/robots.txt").respond_with_data("oops", 500)
    first, second = check(fetch, [httpserver.url_for("/a"), httpserver.url_for("/b")])
    for outcome in (first, second):
        assert outcome is not None
        assert outcome.error == FetchError.HTTP_SERVER_ERROR  # retryable in a later run
        assert "robots.txt unreachable (HTTP 500" in outcome.detail
        assert "RFC 9309" in outcome.detail
    assert robots_requests(httpserver) == 1  # the failure is cached too


def test_rate_limited_robots_is_not_an_allow(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/robots.txt").respond_with_data(
        "", 429, headers={"Retry-After": "90"}
    )
    (outcome,) = check(fetch, [httpserver.url_for("/a")])
    assert outcome is not None
    assert outcome.error == FetchError.RATE_LIMITED
    assert outcome.retry_after_seconds == 90


def test_blocked_host_is_reported_as_blocked(httpserver: HTTPServer, fetch: FetchSettings):
    no_loopback = fetch.model_copy(update={"allowed_networks": []})
    (outcome,) = check(no_loopback, [httpserver.url_for("/a")])
    assert outcome is not None
    assert outcome.error == FetchError.BLOCKED_ADDRESS  # the page's real problem, not robots
    assert httpserver.log == []


def pages(
    httpserver: HTTPServer, settings: FetchSettings, ignore_robots: bool = False
) -> list[str | None]:
    """Fetch /private/story through fetch_pages; the page's error value or None."""
    url = httpserver.url_for("/private/story")
    results = fetch_pages_sync([PageRequest("a1", url, ignore_robots=ignore_robots)], settings)
    return [result.error.value if result.error else None for _, result in results]


@pytest.fixture
def disallowing_site(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /\n")
    httpserver.expect_request("/private/story").respond_with_data(PAGE, content_type="text/html")
    return httpserver


def test_fetch_obeys_robots(disallowing_site: HTTPServer, fetch: FetchSettings):
    assert pages(disallowing_site, fetch) == ["robots_disallowed"]
    assert [r.path for r, _ in disallowing_site.log] == ["/robots.txt"]


def test_ignore_robots_override(disallowing_site: HTTPServer, fetch: FetchSettings):
    assert pages(disallowing_site, fetch, ignore_robots=True) == [None]
    assert [r.path for r, _ in disallowing_site.log] == ["/private/story"]


def test_respect_robots_setting_off(disallowing_site: HTTPServer, fetch: FetchSettings):
    assert pages(disallowing_site, fetch.model_copy(update={"respect_robots": False})) == [None]
    assert robots_requests(disallowing_site) == 0


def test_each_redirect_hop_meets_its_own_robots(httpserver: HTTPServer, fetch: FetchSettings):
    # localhost:PORT and 127.0.0.1:PORT are two origins served by one test server.
    other = httpserver.url_for("/story").replace("localhost", "127.0.0.1")
    other_host = other.split("/")[2]
    httpserver.expect_request("/robots.txt", headers={"Host": other_host}).respond_with_data(
        "User-agent: *\nDisallow: /story\n"
    )
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    httpserver.expect_request("/moved").respond_with_data("", 301, headers={"Location": other})
    results = fetch_pages_sync([PageRequest("a1", httpserver.url_for("/moved"))], fetch)
    (_, result) = results[0]
    assert result.error == FetchError.ROBOTS_DISALLOWED
    assert result.final_url == other
    assert "/story" not in [r.path for r, _ in httpserver.log]


# --- RFC 9309 matching (protego), Crawl-delay, feeds ------------------------------------


def serve_robots(httpserver: HTTPServer, text: str) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data(text, content_type="text/plain")


def test_the_longest_matching_rule_wins(httpserver: HTTPServer, fetch: FetchSettings):
    serve_robots(httpserver, "User-agent: *\nDisallow: /\nAllow: /news/\n")
    news, other = check(fetch, [httpserver.url_for("/news/x"), httpserver.url_for("/sport/y")])
    assert news is None  # urllib.robotparser took the first rule and refused this
    assert other is not None and other.error == FetchError.ROBOTS_DISALLOWED


def test_wildcards_and_end_anchors(httpserver: HTTPServer, fetch: FetchSettings):
    serve_robots(httpserver, "User-agent: *\nDisallow: /*.pdf$\nDisallow: /drafts/*/edit\n")
    pdf, pdf_like, edit, story = check(
        fetch,
        [
            httpserver.url_for("/files/report.pdf"),
            httpserver.url_for("/files/report.pdf.html"),
            httpserver.url_for("/drafts/42/edit"),
            httpserver.url_for("/drafts/42/view"),
        ],
    )
    assert pdf is not None and pdf.error == FetchError.ROBOTS_DISALLOWED
    assert edit is not None and edit.error == FetchError.ROBOTS_DISALLOWED
    assert pdf_like is None and story is None


def test_crawl_delay_is_a_floor_on_the_per_host_delay(httpserver: HTTPServer, fetch: FetchSettings):
    serve_robots(httpserver, "User-agent: *\nCrawl-delay: 1\nAllow: /\n")
    started: list[float] = []

    def page(_request: Request) -> Response:
        started.append(time.monotonic())
        return Response(PAGE, content_type="text/html")

    for n in range(3):
        httpserver.expect_request(f"/p{n}").respond_with_handler(page)
    assert fetch.per_host_delay_seconds == 0.0
    requests = [PageRequest(f"a{n}", httpserver.url_for(f"/p{n}")) for n in range(3)]
    results = fetch_pages_sync(requests, fetch)
    assert all(result.ok for _, result in results)
    gaps = [b - a for a, b in itertools.pairwise(sorted(started))]
    assert len(gaps) == 2 and min(gaps) >= 0.9, gaps


def test_a_crawl_delay_is_clipped_to_the_setting(httpserver: HTTPServer, fetch: FetchSettings):
    serve_robots(httpserver, "User-agent: *\nCrawl-delay: 86400\n")
    httpserver.expect_request("/a").respond_with_data(PAGE, content_type="text/html")
    httpserver.expect_request("/b").respond_with_data(PAGE, content_type="text/html")
    clipped = fetch.model_copy(update={"max_crawl_delay_seconds": 0.5})
    begun = time.monotonic()
    results = fetch_pages_sync(
        [PageRequest("a", httpserver.url_for("/a")), PageRequest("b", httpserver.url_for("/b"))],
        clipped,
    )
    assert all(result.ok for _, result in results)
    assert 0.4 <= time.monotonic() - begun < 5


def poll_one(
    httpserver: HTTPServer, fetch: FetchSettings, *, ignore_robots: bool
) -> FeedPollResult:
    feed = FeedConfig(
        name="f", url=httpserver.url_for("/feeds/all.xml"), ignore_robots=ignore_robots
    )
    [result] = poll_feeds_sync([(feed, FeedState())], fetch)
    return result


def test_robots_txt_applies_to_feed_urls(httpserver: HTTPServer, fetch: FetchSettings):
    serve_robots(httpserver, "User-agent: *\nDisallow: /feeds/\n")
    httpserver.expect_request("/feeds/all.xml").respond_with_data(
        FEED, content_type="application/rss+xml"
    )
    refused = poll_one(httpserver, fetch, ignore_robots=False)
    assert refused.status == FeedStatus.ERROR
    assert refused.error is not None and refused.error.startswith("robots_disallowed")
    assert not any(r.path == "/feeds/all.xml" for r, _ in httpserver.log)
    # The per-feed override, for outlets that have given permission.
    allowed = poll_one(httpserver, fetch, ignore_robots=True)
    assert allowed.status == FeedStatus.OK and len(allowed.entries) == 1


FEED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    "<item><title>One</title><link>https://news.example/1</link><guid>1</guid></item>"
    "</channel></rss>"
)
