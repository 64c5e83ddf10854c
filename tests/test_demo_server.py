"""The sample newsroom: its content labels, its pages and feeds, and its hostile routes."""

from __future__ import annotations

import gzip
import http.client
import ipaddress
import socket
import time
import urllib.request
import urllib.robotparser
from collections import Counter
from collections.abc import Iterator
from email.message import Message
from urllib.parse import urlsplit

import feedparser
import httpx
import pytest
from markupsafe import escape

from pipeline.demo.content import KINDS, SEED, THREADS, ArticleSpec, load_outlets, parse_article
from pipeline.demo.hostile import HOSTILE_EXPECT
from pipeline.demo.server import NewsroomServer

SLOW_SECONDS = 0.6


@pytest.fixture(scope="module")
def newsroom() -> Iterator[NewsroomServer]:
    with NewsroomServer(slow_seconds=SLOW_SECONDS) as server:
        yield server


@pytest.fixture(scope="module")
def articles(newsroom: NewsroomServer) -> dict[str, ArticleSpec]:
    return {a.slug: a for a in newsroom.manifest()}


@pytest.fixture(scope="module")
def parsed_feeds(newsroom: NewsroomServer) -> dict[str, feedparser.FeedParserDict]:
    parsed = {}
    for name, url in newsroom.feed_urls().items():
        with urllib.request.urlopen(url, timeout=10) as response:
            parsed[name] = feedparser.parse(response.read())
    return parsed


def get(
    url: str, headers: dict[str, str] | None = None, timeout: float = 10.0
) -> tuple[int, Message, bytes]:
    """One GET without following redirects, so hostile routes can be observed as they are."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", target, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


# -- content labels ------------------------------------------------------------------------


def test_manifest_labels_are_consistent(articles: dict[str, ArticleSpec]) -> None:
    assert len(articles) >= 30
    for article in articles.values():
        assert article.kind in KINDS, article.slug
        assert set(article.threads) <= set(THREADS), article.slug
        assert article.published.utcoffset() is not None, article.slug
        if article.copy_of is not None:
            assert article.copy_of == SEED or article.copy_of in articles, article.slug
        if article.kind in ("seed_copy", "seed_edited"):
            assert article.copy_of == SEED, article.slug


def test_every_thread_has_at_least_two_follow_ups(articles: dict[str, ArticleSpec]) -> None:
    per_thread = Counter(
        thread for a in articles.values() if a.kind == "follow_up" for thread in a.threads
    )
    assert {thread: per_thread[thread] >= 2 for thread in THREADS} == dict.fromkeys(THREADS, True)


def test_kinds_cover_the_scenarios(articles: dict[str, ArticleSpec]) -> None:
    kinds = Counter(a.kind for a in articles.values())
    assert kinds["seed_copy"] + kinds["seed_edited"] >= 4
    assert kinds["unrelated"] >= 6
    assert kinds["stub"] == 1
    # A follow-up syndicated on a second outlet: a duplicate cluster other than the seed's.
    pairs = [a for a in articles.values() if a.kind == "follow_up" and a.copy_of]
    assert pairs
    for copy in pairs:
        original = articles[copy.copy_of or ""]
        assert copy.outlet != original.outlet
        shared = set(copy.text.splitlines()) & set(original.text.splitlines())
        assert len(shared) >= len(original.blocks) - 2


def test_real_articles_have_realistic_length(articles: dict[str, ArticleSpec]) -> None:
    real = [a for a in articles.values() if a.kind in ("follow_up", "unrelated")]
    assert len(real) >= 10  # the loop below must check something
    for article in real:
        assert 250 <= article.word_count <= 600, (article.slug, article.word_count)
    stub = next(a for a in articles.values() if a.kind == "stub")
    assert stub.word_count < 60
    assert "Subscribe to read" in stub.text


def test_seed_variants_differ_as_described(articles: dict[str, ArticleSpec]) -> None:
    copies = [a for a in articles.values() if a.kind == "seed_copy"]
    edited = [a for a in articles.values() if a.kind == "seed_edited"]
    # Verbatim copies share one body whatever their headline.
    assert len({a.text for a in copies}) == 1
    assert len({a.title for a in copies}) == 2
    full = copies[0].text
    teaser = next(a for a in edited if a.text.endswith("Read more »"))
    assert 0.3 < teaser.word_count / copies[0].word_count < 0.5
    updated = next(a for a in edited if a.blocks[0].text.startswith("UPDATE:"))
    assert updated.updated is not None and updated.updated > updated.published
    assert "\n".join(b.text for b in updated.blocks[1:]) == full
    reworded = next(a for a in edited if a not in (teaser, updated))
    assert reworded.text != full and reworded.word_count < copies[0].word_count


def test_unrelated_traps_mention_trigger_words_only_in_passing(
    articles: dict[str, ArticleSpec],
) -> None:
    unrelated = [a for a in articles.values() if a.kind == "unrelated"]
    listing = [a for a in unrelated if "HKEX" in a.text]
    assert listing and all("Hong Kong" not in a.text for a in listing)
    review = [a for a in unrelated if "Huawei" in a.text]
    assert len(review) == 1 and review[0].text.count("Huawei") == 1


def test_each_outlet_has_its_own_host(newsroom: NewsroomServer) -> None:
    hosts = [urlsplit(url).netloc for url in newsroom.outlet_urls().values()]
    assert len(hosts) == len(set(hosts)) >= 6
    feed_host = urlsplit(next(iter(newsroom.feed_urls().values()))).netloc
    assert feed_host not in hosts


# -- feeds ---------------------------------------------------------------------------------


def test_valid_feeds_parse_cleanly(parsed_feeds: dict[str, feedparser.FeedParserDict]) -> None:
    versions = {name: d.version for name, d in parsed_feeds.items() if not d.bozo}
    assert versions == {
        "uk-politics": "rss20",
        "asia-pacific": "atom10",
        "business": "rss20",
        "china-english": "rss20",
        "zh-news": "rss20",
    }
    for name in versions:
        entries = parsed_feeds[name].entries
        assert entries, name
        assert all(e.get("id") and e.get("published_parsed") for e in entries), name


def test_malformed_feed_is_bozo_but_entries_are_recovered(
    newsroom: NewsroomServer,
    parsed_feeds: dict[str, feedparser.FeedParserDict],
    articles: dict[str, ArticleSpec],
) -> None:
    broken = parsed_feeds["regional-broken"]
    assert broken.bozo
    links = {e.link for e in broken.entries}
    expected = {a.url for a in articles.values() if "regional-broken" in a.feeds}
    assert expected <= links
    assert newsroom.hostile_urls()["mislabelled_charset"] in links
    assert not any(e.get("published_parsed") for e in broken.entries)  # bad dates stay bad


def test_every_article_is_in_a_feed_and_every_link_resolves(
    newsroom: NewsroomServer,
    parsed_feeds: dict[str, feedparser.FeedParserDict],
    articles: dict[str, ArticleSpec],
) -> None:
    links = [e.get("link") for d in parsed_feeds.values() for e in d.entries]
    assert links.count(None) == 1  # the live-blog entry without a link
    present = [link for link in links if link]
    known = {a.url for a in articles.values()} | set(newsroom.hostile_urls().values())
    for link in present:
        stripped = link.split("#")[0].split("?")[0]
        assert stripped in known, link
    assert {a.url for a in articles.values()} <= set(present)
    assert set(newsroom.hostile_urls().values()) <= set(present)


def test_feeds_carry_the_same_story_twice_and_tracking_variants(
    parsed_feeds: dict[str, feedparser.FeedParserDict], articles: dict[str, ArticleSpec]
) -> None:
    in_two = [a for a in articles.values() if len(a.feeds) >= 2]
    assert in_two
    for article in in_two:
        for feed in article.feeds:
            assert article.url in {e.get("link") for e in parsed_feeds[feed].entries}
    links = [e.get("link") or "" for d in parsed_feeds.values() for e in d.entries]
    assert any("utm_source=rss&utm_medium=feed" in link for link in links)
    assert any("fbclid=" in link for link in links)
    assert any(link.endswith("#comments") for link in links)


# -- pages ---------------------------------------------------------------------------------


def test_every_article_page_renders_with_its_title(articles: dict[str, ArticleSpec]) -> None:
    assert len(articles) >= 30  # the loop below must check something
    for article in articles.values():
        assert article.blocks, article.slug
        status, headers, body = get(article.url)
        assert status == 200, article.url
        legacy = article.language == "zh"  # the Chinese outlet: GB18030, declared in <meta>
        assert headers["Content-Type"] == ("text/html" if legacy else "text/html; charset=utf-8")
        page = body.decode("gb18030" if legacy else "utf-8")
        assert "<h1" in page and str(escape(article.title)) in page, article.slug
        assert '<html lang="' in page and 'property="og:site_name"' in page
        assert str(escape(article.author)) in page
        for block in article.blocks:
            assert str(escape(block.text)) in page, (article.slug, block.text[:40])


def test_templates_vary_their_date_metadata(
    newsroom: NewsroomServer, articles: dict[str, ArticleSpec]
) -> None:
    pages = {
        a.outlet: get(a.url)[2].decode("gb18030" if a.language == "zh" else "utf-8")
        for a in articles.values()
    }
    assert '"datePublished"' in pages["northgate-courier"]
    assert 'property="article:published_time"' in pages["westminster-wire"]
    assert '"NewsArticle"' not in pages["westminster-wire"]
    compact = pages["fenwick-gazette"]
    assert "datePublished" not in compact and "published_time" not in compact
    assert "<time" not in compact
    bradwell = articles["bradwell-b-campaigners-chinese-plan"]
    assert "Thursday 20 August 2020 12:10 BST" in get(bradwell.url)[2].decode()
    chinese = pages["jiangpan-daily"]  # only a visible 发布时间 stamp, in Beijing time
    assert "发布时间：" in chinese and "datePublished" not in chinese and "<time" not in chinese


def test_unknown_path_is_404(newsroom: NewsroomServer) -> None:
    base = newsroom.outlet_urls()["northgate-courier"]
    assert get(base + "/politics/no-such-story.html")[0] == 404


def test_conditional_get_on_article_and_feed(
    newsroom: NewsroomServer, articles: dict[str, ArticleSpec]
) -> None:
    for url in (articles["bno-visa-route-opens"].url, newsroom.feed_urls()["business"]):
        status, headers, _ = get(url)
        assert status == 200
        etag, modified = headers["ETag"], headers["Last-Modified"]
        assert etag and modified.endswith("GMT")
        status, headers, body = get(url, {"If-None-Match": etag})
        assert (status, body, headers["ETag"]) == (304, b"", etag)
        assert get(url, {"If-Modified-Since": modified})[0] == 304
        assert get(url, {"If-None-Match": '"stale"'})[0] == 200


def test_gzip_when_the_client_accepts_it(articles: dict[str, ArticleSpec]) -> None:
    url = articles["hinkley-point-c-delay-costs"].url
    plain = get(url)[2]
    status, headers, body = get(url, {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == plain


def test_robots_txt_disallows_only_private(
    newsroom: NewsroomServer, articles: dict[str, ArticleSpec]
) -> None:
    outlets = newsroom.outlet_urls()
    assert len(outlets) >= 6  # the loop below must check something
    checked = 0
    for key, base in outlets.items():
        parser = urllib.robotparser.RobotFileParser(base + "/robots.txt")
        parser.read()
        assert not parser.can_fetch("newswatch/0.1", base + "/private/anything.html"), key
        for article in articles.values():
            if article.outlet == key:
                assert parser.can_fetch("newswatch/0.1", article.url), article.url
                checked += 1
    assert checked == len(articles)  # every article's page was checked against its outlet
    disallowed = newsroom.hostile_urls()["robots_disallowed"]
    assert urlsplit(disallowed).path.startswith("/private/")
    assert get(disallowed)[0] == 200  # served, for feeds allowed to ignore robots.txt


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


# -- the Chinese-language outlet -----------------------------------------------------------


def test_chinese_outlet_serves_gb18030_pages_and_feed(newsroom: NewsroomServer) -> None:
    feed = httpx.get(newsroom.feed_urls()["zh-news"])
    assert feed.content.startswith(b'<?xml version="1.0" encoding="gb18030"?>')
    parsed = feedparser.parse(feed.content)
    assert not parsed.bozo
    titles = {e.title for e in parsed.entries}
    assert "英国提前禁止安装华为5G设备 明年9月起生效" in titles
    page = httpx.get(newsroom.article_url("zh-huawei-installation-ban-brought-forward"))
    assert page.headers["content-type"] == "text/html"  # declared only in the page
    with pytest.raises(UnicodeDecodeError):
        page.content.decode("utf-8")
    html = page.content.decode("gb18030")
    assert 'charset=gb18030"' in html
    assert "发布时间：2020-12-01 09:15" in html  # Beijing time, as the header's +08:00 says


def test_other_language_items_say_which_relation_a_reader_would_give(
    articles: dict[str, ArticleSpec],
) -> None:
    chinese = [a for a in articles.values() if a.language == "zh"]
    assert {a.relation for a in chinese} == {"duplicate", "follow_up", "unrelated"}
    assert all(a.kind == "other_language" for a in chinese)
    state_media = [a for a in articles.values() if a.outlet == "huaxia-news-agency"]
    assert state_media and all(a.language == "en" for a in state_media)


def test_chinese_invalid_relation_header_is_refused() -> None:
    outlets = load_outlets()
    text = (
        "slug: x\noutlet: jiangpan-daily\ntitle: t\nauthor: a\n"
        "published: 2020-07-22T08:30:00+08:00\nsection: 国际\nkind: other_language\n"
        "relation: background\n---\n正文。"
    )
    with pytest.raises(ValueError, match="relation 'background'"):
        parse_article(text, outlets)
