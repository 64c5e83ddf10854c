"""The sample newsroom's hostile routes, and the hooks tests use to script failures."""

from __future__ import annotations

import ipaddress
import socket
import time
from urllib.parse import urlsplit

import pytest

from pipeline.demo.content import ArticleSpec
from pipeline.demo.hostile import HOSTILE_EXPECT
from pipeline.demo.server import NewsroomServer
from tests.demo_server.client import SLOW_SECONDS, get

# -- hostile routes ------------------------------------------------------------------------


def test_hostile_routes_are_all_listed(newsroom: NewsroomServer) -> None:
    assert set(newsroom.hostile_urls()) == set(HOSTILE_EXPECT)


def test_redirect_loop(newsroom: NewsroomServer) -> None:
    first = newsroom.hostile_urls()["redirect_loop"]
    status, headers, _ = get(first)
    assert status == 302
    second = headers["Location"]
    assert second != first
    status, headers, _ = get(second)
    assert (status, headers["Location"]) == (302, first)


def test_error_routes(newsroom: NewsroomServer) -> None:
    urls = newsroom.hostile_urls()
    assert get(urls["not_found"])[0] == 404
    assert [get(urls["server_error"])[0] for _ in range(3)] == [500, 500, 500]


def test_slow_route_outlasts_a_shorter_read_timeout(newsroom: NewsroomServer) -> None:
    url = newsroom.hostile_urls()["slow"]
    with pytest.raises(TimeoutError):
        get(url, timeout=SLOW_SECONDS / 3)
    started = time.monotonic()
    assert get(url)[0] == 200
    assert time.monotonic() - started >= SLOW_SECONDS * 0.9


def test_pdf_is_served_as_pdf(newsroom: NewsroomServer) -> None:
    status, headers, body = get(newsroom.hostile_urls()["not_html"])
    assert (status, headers["Content-Type"]) == (200, "application/pdf")
    assert body.startswith(b"%PDF-") and body.rstrip().endswith(b"%%EOF")


def test_oversized_bodies_exceed_the_default_cap(newsroom: NewsroomServer) -> None:
    default_cap = 5_000_000
    status, headers, body = get(newsroom.hostile_urls()["oversized"])
    assert status == 200 and int(headers["Content-Length"]) == len(body) > default_cap
    status, headers, body = get(newsroom.hostile_urls()["oversized_stream"])
    assert status == 200 and headers["Content-Length"] is None and len(body) > default_cap
    assert body.startswith(b"<!DOCTYPE html>")


def test_mislabelled_charset_page_is_windows_1252(newsroom: NewsroomServer) -> None:
    status, headers, body = get(newsroom.hostile_urls()["mislabelled_charset"])
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    text = body.decode("windows-1252")
    assert all(ch in text for ch in ("£", "é", "’", "“"))


def test_paywall_stub_is_an_article_page(
    newsroom: NewsroomServer, articles: dict[str, ArticleSpec]
) -> None:
    url = newsroom.hostile_urls()["paywall"]
    stub = next(a for a in articles.values() if a.url == url)
    assert stub.kind == "stub"
    status, _, body = get(url)
    assert status == 200 and b"Subscribe to read" in body


def test_private_address_is_private_and_never_served(newsroom: NewsroomServer) -> None:
    url = newsroom.hostile_urls()["private_address"]
    host = ipaddress.ip_address(urlsplit(url).hostname or "")
    assert host.is_private and not host.is_loopback
    assert all(urlsplit(e.url).hostname != str(host) for e in newsroom.requests_seen.entries)


# -- test hooks ------------------------------------------------------------------------------


def test_fail_next_then_recover(newsroom: NewsroomServer, articles: dict[str, ArticleSpec]) -> None:
    url = articles["china-mars-probe-launch"].url
    newsroom.fail_next(url, times=2, status=503, retry_after=7)
    first, second = get(url), get(url)
    assert [first[0], second[0]] == [503, 503]
    assert first[1]["Retry-After"] == "7"
    assert get(url)[0] == 200


def test_fail_next_by_path_matches_any_host(newsroom: NewsroomServer) -> None:
    url = newsroom.feed_urls()["asia-pacific"]
    newsroom.fail_next(urlsplit(url).path, times=1, status=500)
    assert [get(url)[0], get(url)[0]] == [500, 200]


def test_requests_seen_counts_each_request(
    newsroom: NewsroomServer, articles: dict[str, ArticleSpec]
) -> None:
    url = articles["yangtze-floods-displaced"].url
    before = newsroom.requests_seen.count(url)
    etag = get(url)[1]["ETag"]
    get(url, {"If-None-Match": etag})
    assert newsroom.requests_seen.count(url) == before + 2
    last = [e for e in newsroom.requests_seen.entries if e.url == url][-1]
    assert (last.method, last.status, last.conditional) == ("GET", 304, True)


def test_a_request_counts_when_it_arrives_not_when_answered() -> None:
    # A client that gave up on the slow route was counted only once the server answered
    # it, seconds later, inside whatever the test did next (a "second run" then looked
    # like it had fetched the page again).
    with NewsroomServer(slow_seconds=60) as newsroom:  # close() wakes the slow route
        url = newsroom.hostile_urls()["slow"]
        with pytest.raises(TimeoutError):
            get(url, timeout=0.2)
        assert newsroom.requests_seen.count(url) == 1
        assert all(e.url != url for e in newsroom.requests_seen.entries)  # not answered yet


def test_urls_need_a_running_server() -> None:
    server = NewsroomServer()
    with pytest.raises(RuntimeError):
        server.feed_urls()
    with server:
        assert server.manifest()
    with pytest.raises(RuntimeError):
        server.hostile_urls()


def test_fixed_port_gives_stable_urls() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with NewsroomServer(port=port) as first:
        urls = [a.url for a in first.manifest()]
        assert {urlsplit(url).port for url in first.outlet_urls().values()} == {port}
    with NewsroomServer(port=port) as second:
        assert [a.url for a in second.manifest()] == urls
