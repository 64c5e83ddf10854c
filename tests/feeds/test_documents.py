"""Feed parsing, polling against a real server on 127.0.0.1, and the backoff schedule."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer

from pipeline.config import FeedConfig, FetchSettings, Settings
from pipeline.feeds.documents import (
    FeedRefused,
    FeedState,
    next_poll_at,
    parse_feed,
    poll_feeds_sync,
)
from pipeline.records import FeedPollResult, FeedStatus

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
<title>Example News</title><link>https://news.example/</link><description>News</description>
<item>
  <title>Huawei and 5G: the decision</title>
  <link>https://news.example/2020/huawei-5g</link>
  <guid isPermaLink="false">story-1</guid>
  <pubDate>Tue, 14 Jul 2020 17:30:00 +0100</pubDate>
</item>
<item>
  <title>No guid here</title>
  <link>/2020/relative-link</link>
</item>
<item>
  <title>A guid but no link</title>
  <guid isPermaLink="false">story-3</guid>
</item>
<item>
  <title>Neither guid nor link</title>
</item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Example Atom</title>
  <id>urn:uuid:feed</id>
  <updated>2020-07-15T08:00:00Z</updated>
  <entry>
    <title>Hong Kong: “national security” law</title>
    <link href="https://atom.example/hk"/>
    <id>urn:uuid:entry-1</id>
    <published>2020-07-01T09:15:00-04:00</published>
    <updated>2020-07-02T00:00:00Z</updated>
  </entry>
  <entry>
    <title>Only updated</title>
    <link href="https://atom.example/updated"/>
    <id>urn:uuid:entry-2</id>
    <updated>2020-07-03T10:00:00Z</updated>
  </entry>
</feed>""".encode()

# A raw "&" and an <item> never closed, as some small CMSs emit.
BROKEN = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Trade & Industry</title>
<item><title>First & foremost</title><link>https://broken.example/1</link><guid>b1</guid>
<item><title>Second</title><link>https://broken.example/2</link><guid>b2</guid></item>
</channel></rss>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<rss version="2.0"><channel><title>&lol3;</title>
<item><title>x</title><link>https://evil.example/1</link></item></channel></rss>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>&secret;</title>
<item><title>x</title><link>https://evil.example/1</link></item></channel></rss>"""

HTML = b"<!DOCTYPE html><html><head><title>Home</title></head><body><h1>News</h1></body></html>"


def parse(body: bytes, content_type: str | None = "application/rss+xml", max_entries: int = 100):
    return parse_feed("f", body, content_type=content_type, max_entries=max_entries)


# --- parsing ------------------------------------------------------------------------------


def test_rss_entries():
    parsed = parse_feed(
        "f", RSS, content_type="application/rss+xml", max_entries=100,
        base_url="https://news.example/feed.xml",
    )  # fmt: skip
    assert parsed.bozo_error is None
    assert [(e.entry_key, e.link) for e in parsed.entries] == [
        ("story-1", "https://news.example/2020/huawei-5g"),
        ("https://news.example/2020/relative-link", "https://news.example/2020/relative-link"),
        ("story-3", None),
    ]
    first = parsed.entries[0]
    assert first.feed_name == "f"
    assert first.title == "Huawei and 5G: the decision"
    assert first.published_at == datetime(2020, 7, 14, 16, 30, tzinfo=UTC)
    assert parsed.entries[1].published_at is None
    assert parsed.skipped_without_link == 2  # story-3 (kept, by its guid) and the keyless one


def test_atom_entries():
    parsed = parse(ATOM, "application/atom+xml")
    assert parsed.bozo_error is None
    hk, updated = parsed.entries
    assert hk.entry_key == "urn:uuid:entry-1"
    assert hk.link == "https://atom.example/hk"
    assert hk.title == "Hong Kong: “national security” law"
    assert hk.published_at == datetime(2020, 7, 1, 13, 15, tzinfo=UTC)  # published beats updated
    assert updated.published_at == datetime(2020, 7, 3, 10, 0, tzinfo=UTC)
    assert parsed.skipped_without_link == 0


def test_malformed_feed_still_yields_entries():
    parsed = parse(BROKEN)
    assert parsed.bozo_error
    assert [e.entry_key for e in parsed.entries] == ["b1", "b2"]
    assert parsed.entries[0].title == "First & foremost"


def test_max_entries():
    assert [e.entry_key for e in parse(RSS, max_entries=1).entries] == ["story-1"]


def test_served_as_text_xml_is_not_a_warning():
    assert parse(RSS, "text/xml").bozo_error is None


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE, BILLION_LAUGHS.decode().encode("utf-16")])
def test_entity_declarations_are_refused(body: bytes):
    with pytest.raises(FeedRefused, match="ENTITY"):
        parse(body)


def test_html_page_is_not_a_feed():
    with pytest.raises(FeedRefused, match="HTML page"):
        parse(HTML, "text/html")


def test_random_bytes_are_not_a_feed():
    with pytest.raises(FeedRefused, match="no RSS/Atom/RDF"):
        parse(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png")


# --- polling ------------------------------------------------------------------------------


@pytest.fixture
def fetch(settings: Settings) -> FetchSettings:
    return settings.fetch


def poll(url: str, settings: FetchSettings, state: FeedState | None = None) -> FeedPollResult:
    [result] = poll_feeds_sync([(FeedConfig(name="f", url=url), state or FeedState())], settings)
    return result


def test_poll_ok(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/feed.xml").respond_with_data(
        RSS, content_type="application/rss+xml", headers={"ETag": '"e1"'}
    )
    result = poll(httpserver.url_for("/feed.xml"), fetch)
    assert result.status == FeedStatus.OK
    assert result.http_status == 200
    assert result.error is None
    assert result.etag == '"e1"'
    assert result.body_hash == hashlib.sha256(RSS).hexdigest()
    assert len(result.entries) == 3
    assert result.entries[1].link == httpserver.url_for("/2020/relative-link")
    assert result.skipped_without_link == 2


def test_poll_304(httpserver: HTTPServer, fetch: FetchSettings):
    since = "Tue, 14 Jul 2020 17:30:00 GMT"
    httpserver.expect_request(
        "/feed.xml", headers={"If-None-Match": '"e1"', "If-Modified-Since": since}
    ).respond_with_data("", 304)
    state = FeedState(etag='"e1"', last_modified=since, body_hash="abc")
    result = poll(httpserver.url_for("/feed.xml"), fetch, state)
    assert result.status == FeedStatus.NOT_MODIFIED
    assert result.http_status == 304
    assert (result.etag, result.last_modified, result.body_hash) == ('"e1"', since, "abc")
    assert result.entries == []


def test_unchanged_body_is_not_modified_even_on_200(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/feed.xml").respond_with_data(RSS, content_type="text/xml")
    state = FeedState(body_hash=hashlib.sha256(RSS).hexdigest())
    result = poll(httpserver.url_for("/feed.xml"), fetch, state)
    assert result.status == FeedStatus.NOT_MODIFIED
    assert result.http_status == 200
    assert result.entries == []


def test_malformed_feed_is_a_parse_warning(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/broken.xml").respond_with_data(BROKEN, content_type="text/xml")
    result = poll(httpserver.url_for("/broken.xml"), fetch)
    assert result.status == FeedStatus.PARSE_WARNING
    assert [e.entry_key for e in result.entries] == ["b1", "b2"]
    assert result.error is not None and result.error.startswith("malformed feed")


def test_entity_feed_is_an_error(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/evil.xml").respond_with_data(
        BILLION_LAUGHS, content_type="text/xml"
    )
    result = poll(httpserver.url_for("/evil.xml"), fetch)
    assert result.status == FeedStatus.ERROR
    assert result.error is not None and "<!ENTITY>" in result.error
    assert result.entries == []


def test_html_instead_of_feed_is_an_error(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/feed").respond_with_data(HTML, content_type="text/html")
    result = poll(httpserver.url_for("/feed"), fetch)
    assert result.status == FeedStatus.ERROR
    assert result.error is not None and "HTML page" in result.error


def test_rate_limited_feed(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/feed.xml").respond_with_data(
        "", 429, headers={"Retry-After": "3600"}
    )
    result = poll(httpserver.url_for("/feed.xml"), fetch)
    assert result.status == FeedStatus.ERROR
    assert result.http_status == 429
    assert result.retry_after_seconds == 3600
    assert result.error is not None and result.error.startswith("rate_limited")


def test_feed_on_blocked_address(httpserver: HTTPServer, fetch: FetchSettings):
    result = poll(
        httpserver.url_for("/feed.xml"), fetch.model_copy(update={"allowed_networks": []})
    )
    assert result.status == FeedStatus.ERROR
    assert result.error is not None and result.error.startswith("blocked_address")
    assert httpserver.log == []


def test_many_feeds_in_order(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/rss").respond_with_data(RSS, content_type="application/rss+xml")
    httpserver.expect_request("/atom").respond_with_data(ATOM, content_type="application/atom+xml")
    httpserver.expect_request("/gone").respond_with_data("", 404)
    feeds = [
        (FeedConfig(name=name, url=httpserver.url_for(f"/{name}")), FeedState())
        for name in ("atom", "gone", "rss")
    ]
    results = poll_feeds_sync(feeds, fetch)
    assert [(r.feed_name, r.status) for r in results] == [
        ("atom", FeedStatus.OK),
        ("gone", FeedStatus.ERROR),
        ("rss", FeedStatus.OK),
    ]
    assert results[1].http_status == 404


# --- schedule -----------------------------------------------------------------------------

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def schedule(status: FeedStatus, failures: int, retry_after: float | None = None) -> timedelta:
    result = FeedPollResult("f", status, retry_after_seconds=retry_after)
    return next_poll_at(NOW, result, failures, interval_minutes=30, max_backoff_minutes=240) - NOW


def test_healthy_feed_waits_one_interval():
    assert schedule(FeedStatus.OK, 0) == timedelta(minutes=30)
    assert schedule(FeedStatus.NOT_MODIFIED, 0) == timedelta(minutes=30)
    assert schedule(FeedStatus.PARSE_WARNING, 0) == timedelta(minutes=30)


def test_failing_feed_backs_off_exponentially_up_to_the_cap():
    delays = [schedule(FeedStatus.ERROR, n) for n in (1, 2, 3, 4, 50)]
    assert delays == [timedelta(minutes=m) for m in (60, 120, 240, 240, 240)]


def test_retry_after_is_never_undercut():
    assert schedule(FeedStatus.ERROR, 1, retry_after=6 * 3600) == timedelta(hours=6)
    assert schedule(FeedStatus.ERROR, 1, retry_after=10) == timedelta(minutes=60)
    assert schedule(FeedStatus.OK, 0, retry_after=7200) == timedelta(hours=2)
