"""The sample newsroom's feeds and article pages, as a polite client sees them."""

from __future__ import annotations

import gzip
import urllib.request
import urllib.robotparser
from urllib.parse import urlsplit

import feedparser
from markupsafe import escape

from pipeline.demo.content import ArticleSpec
from pipeline.demo.server import NewsroomServer
from tests.demo_server.client import get

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
