"""A feed's perspective (uk, china, international) is validated and stored with its articles."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from pipeline.config import FeedConfig, default_feeds
from pipeline.feeds.stage import poll_feeds, sync_feed_rows
from pipeline.store import Store
from pipeline.store.models import Article
from tests.conftest import make_test_settings


def rss(*links: str) -> bytes:
    items = "".join(
        f"<item><title>Story {i}</title><link>{link}</link><guid>{link}</guid></item>"
        for i, link in enumerate(links)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed</title><link>https://x.example/</link>{items}</channel></rss>"
    ).encode()


def test_articles_carry_the_perspective_of_the_feed_that_found_them(
    httpserver: HTTPServer, store: Store, tmp_path: Path
):
    httpserver.expect_request("/uk.xml").respond_with_data(
        rss("https://london.example/a", "https://both.example/shared"),
        content_type="application/rss+xml",
    )
    httpserver.expect_request("/cn.xml").respond_with_data(
        rss("https://beijing.example/b"), content_type="application/rss+xml"
    )
    httpserver.expect_request("/other.xml").respond_with_data(
        rss("https://elsewhere.example/c"), content_type="application/rss+xml"
    )
    feeds = [
        {"name": "uk", "url": httpserver.url_for("/uk.xml"), "perspective": "uk"},
        {"name": "cn", "url": httpserver.url_for("/cn.xml"), "perspective": "china"},
        {"name": "other", "url": httpserver.url_for("/other.xml")},
    ]
    settings = make_test_settings(tmp_path, feeds=feeds)
    sync_feed_rows(store.sessions, settings.feeds)
    poll_feeds(store.sessions, settings)
    with store.sessions() as session:
        stored = dict(session.execute(select(Article.canonical_url, Article.perspective)).all())
    assert stored == {
        "https://london.example/a": "uk",
        "https://both.example/shared": "uk",
        "https://beijing.example/b": "china",
        "https://elsewhere.example/c": "international",  # the default
    }


def test_an_unknown_perspective_is_refused_with_the_allowed_values():
    with pytest.raises(ValidationError, match="'uk', 'china' or 'international'"):
        FeedConfig(name="x", url="https://x.example/feed", perspective="beijing")  # type: ignore[arg-type]


def test_default_feeds_cover_all_three_perspectives_and_chinese_language_outlets():
    feeds = default_feeds()
    by_perspective = {p: [f.name for f in feeds if f.perspective == p] for p in ("uk", "china")}
    assert {"xinhua-china-en", "chinadaily-china-en", "globaltimes-en", "cgtn-world-en"} <= set(
        by_perspective["china"]
    )
    assert {"people-world-zh", "chinanews-world-zh"} <= set(by_perspective["china"])
    assert {"bbc-china", "bbc-zhongwen-simp"} <= set(by_perspective["uk"])
    assert any(f.perspective == "international" for f in feeds)
    assert len({f.name for f in feeds}) == len(feeds)
