"""Feeds beyond RSS/Atom and beyond reason: JSON Feed 1.1, oversized and mis-dated feeds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select

from pipeline.config import FeedConfig, Settings
from pipeline.feeds.documents import FeedState, parse_feed, poll_feeds_sync
from pipeline.feeds.items import FeedRefused
from pipeline.feeds.stage import poll_feeds
from pipeline.records import FeedStatus
from pipeline.store import Store
from pipeline.store.models import FeedEntryRow
from tests.conftest import make_test_settings

JSON_FEED: dict[str, Any] = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Harbour Gazette",
    "home_page_url": "https://harbour-gazette.example/",
    "items": [
        {
            "id": "hg-101",
            "url": "https://harbour-gazette.example/2024/ferry-timetable",
            "title": "Ferry timetable changes for the winter",
            "summary": "Two crossings a day are cut from November.",
            "content_text": "The harbour board cut two crossings a day.",
            "date_published": "2024-10-30T08:15:00+01:00",
        },
        {
            "id": 102,  # JSON Feed 1.0 allowed numbers
            "url": "/2024/pier-repairs",
            "content_html": "<p>Repairs to the north pier start in spring.</p>",
            "date_modified": "2024-10-31T12:00:00Z",
        },
        {"id": "hg-103", "content_text": "A note without a link."},
        "not an object",
    ],
}


def rss(count: int, pub_date: str = "Tue, 14 Jul 2020 17:30:00 +0100") -> bytes:
    items = "".join(
        f"<item><title>Story {n}</title><link>https://news.example/{n}</link>"
        f"<guid>s{n}</guid><pubDate>{pub_date}</pubDate></item>"
        for n in range(count)
    )
    channel = f"<channel><title>T</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def test_a_json_feed_1_1_is_read() -> None:
    parsed = parse_feed(
        "hg",
        json.dumps(JSON_FEED).encode(),
        content_type="application/feed+json",
        max_entries=100,
        base_url="https://harbour-gazette.example/feed.json",
    )
    first, second, third = parsed.entries
    assert (first.entry_key, first.link) == (
        "hg-101",
        "https://harbour-gazette.example/2024/ferry-timetable",
    )
    assert first.title == "Ferry timetable changes for the winter"
    assert first.summary == "Two crossings a day are cut from November."
    assert first.published_at == datetime(2024, 10, 30, 7, 15, tzinfo=UTC)
    assert (second.entry_key, second.link) == (
        "102",
        "https://harbour-gazette.example/2024/pier-repairs",
    )
    assert second.published_at == datetime(2024, 10, 31, 12, 0, tzinfo=UTC)
    assert third.link is None and parsed.skipped_without_link == 1
    assert parsed.bozo_error is None


def test_a_json_feed_is_polled(httpserver: HTTPServer, settings: Settings) -> None:
    httpserver.expect_request("/feed.json").respond_with_data(
        json.dumps(JSON_FEED), content_type="application/feed+json"
    )
    [result] = poll_feeds_sync(
        [(FeedConfig(name="hg", url=httpserver.url_for("/feed.json")), FeedState())],
        settings.fetch,
    )
    assert result.status == FeedStatus.OK, result.error
    assert [e.entry_key for e in result.entries] == ["hg-101", "102", "hg-103"]


@pytest.mark.parametrize(
    "body, why",
    [
        (
            b'{"version": "https://jsonfeed.org/version/1.1", "items": '
            + b"[" * 5000
            + b"]" * 5000
            + b"}",
            "nested",
        ),
        (b'{"version": "1.1", "items": []}', "version"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": {}}', "'items' list"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "invalid JSON"),
        (b"[1, 2, 3]", "version"),
    ],
)
def test_broken_json_feeds_are_refused(body: bytes, why: str) -> None:
    with pytest.raises(FeedRefused, match=why):
        parse_feed("x", body, content_type="application/json", max_entries=10)


def test_entries_beyond_the_cap_are_counted(
    httpserver: HTTPServer, store: Store, tmp_path: Path
) -> None:
    httpserver.expect_request("/big.xml").respond_with_data(
        rss(2000), content_type="application/rss+xml"
    )
    settings = make_test_settings(
        tmp_path,
        feeds=[{"name": "big", "url": httpserver.url_for("/big.xml")}],
        poll={"max_entries_per_poll": 300},
    )
    result = poll_feeds(store.sessions, settings)
    assert result.counts["feeds_ok"] == 1
    assert result.counts["entries_beyond_limit"] == 1700
    assert result.counts["entries_new"] == 300  # the configured cap, not the default 500
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(FeedEntryRow)) == 300


@pytest.mark.parametrize(
    "pub_date", ["Fri, 31 Dec 9999 23:59:59 GMT", "Thu, 01 Jan 1970 00:00:00 GMT"]
)
def test_implausible_entry_dates_are_dropped_and_counted(pub_date: str) -> None:
    parsed = parse_feed("f", rss(3, pub_date), content_type="application/rss+xml", max_entries=10)
    assert [e.published_at for e in parsed.entries] == [None, None, None]
    assert parsed.dates_rejected == 3


def test_a_json_feed_date_in_year_9999_is_dropped() -> None:
    feed = {
        **JSON_FEED,
        "items": [
            {"id": "x", "url": "https://a.example/x", "date_published": "9999-12-31T23:59:59-05:00"}
        ],
    }
    parsed = parse_feed(
        "f", json.dumps(feed).encode(), content_type="application/feed+json", max_entries=10
    )
    assert parsed.entries[0].published_at is None


# --- property tests: whatever the bytes, entries or FeedRefused, never another exception --


def _json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    )


json_items = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "id": _json_values(),
            "url": st.one_of(st.text(max_size=30), _json_values()),
            "title": _json_values(),
            "date_published": st.one_of(
                st.text(max_size=30), st.datetimes().map(lambda d: d.isoformat() + "+14:00")
            ),
            "date_modified": _json_values(),
        },
    ),
    max_size=5,
)


@pytest.mark.fuzz
@settings(max_examples=150, deadline=None)
@given(
    items=json_items,
    version=st.sampled_from(
        ["https://jsonfeed.org/version/1.1", "https://jsonfeed.org/version/1", "x"]
    ),
)
def test_any_json_feed_parses_or_is_refused(items: list[dict[str, Any]], version: str) -> None:
    body = json.dumps({"version": version, "items": items}).encode()
    try:
        parsed = parse_feed(
            "f",
            body,
            content_type="application/feed+json",
            max_entries=3,
            base_url="https://a.example/",
        )
    except FeedRefused:
        return
    assert len(parsed.entries) <= 3
    for entry in parsed.entries:
        assert entry.published_at is None or entry.published_at.tzinfo is not None


@pytest.mark.fuzz
@settings(max_examples=150, deadline=None)
@given(
    body=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)),
    content_type=st.sampled_from([None, "application/rss+xml", "application/json", "text/html"]),
)
def test_any_bytes_parse_or_are_refused(body: bytes, content_type: str | None) -> None:
    try:
        parsed = parse_feed("f", body, content_type=content_type, max_entries=5)
    except FeedRefused:
        return
    assert len(parsed.entries) <= 5


@pytest.mark.fuzz
@settings(max_examples=100, deadline=None)
@given(pub_date=st.text(max_size=40), title=st.text(max_size=30))
def test_any_rss_item_fields_parse(pub_date: str, title: str) -> None:
    from xml.sax.saxutils import escape

    item = f"<item><title>{escape(title)}</title><link>https://a.example/1</link><pubDate>{escape(pub_date)}</pubDate></item>"
    body = f'<?xml version="1.0"?><rss version="2.0"><channel>{item}</channel></rss>'.encode()
    try:
        parsed = parse_feed("f", body, content_type="application/rss+xml", max_entries=5)
    except FeedRefused:
        return
    for entry in parsed.entries:
        assert entry.published_at is None or entry.published_at.year >= 1990
