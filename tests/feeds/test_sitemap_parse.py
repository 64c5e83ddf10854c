"""The streaming sitemap parser: formats, chunking, gzip, malformed and hostile documents."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

import pytest

from pipeline.feeds.sitemap_parse import (
    SitemapEntry,
    SitemapParser,
    SitemapRefused,
    parse_w3c_datetime,
)
from pipeline.fetch.errors import DownloadError
from pipeline.records import FetchError

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url>
    <loc>https://news.example/world/2020/jul/22/ministers-weigh-5g-options</loc>
    <lastmod>2020-07-23T08:00:00+01:00</lastmod>
    <image:image><image:loc>https://cdn.example/pic.jpg</image:loc></image:image>
    <news:news>
      <news:publication><news:name>Example News</news:name><news:language>en</news:language>
      </news:publication>
      <news:publication_date>2020-07-22T18:30:00+01:00</news:publication_date>
      <news:title>Ministers weigh 5G options &amp; costs</news:title>
    </news:news>
  </url>
  <url><loc> https://news.example/about </loc><lastmod>2019-05</lastmod></url>
  <url><lastmod>2020-01-01</lastmod></url>
</urlset>
"""
INDEX = b"""<?xml version="1.0"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://news.example/sitemaps/2020-07.xml</loc><lastmod>2020-07-31</lastmod></sitemap>
  <sitemap><loc>https://news.example/sitemaps/2020-08.xml.gz</loc></sitemap>
</sitemapindex>
"""


def parse(body: bytes, chunk: int | None = None, max_bytes: int = 1_000_000) -> SitemapParser:
    parser = SitemapParser(max_bytes)
    step = chunk or max(len(body), 1)
    pages: list[SitemapEntry] = []
    children: list[SitemapEntry] = []
    for i in range(0, len(body), step):
        parser.feed(body[i : i + step])
        got = parser.take()
        pages += got[0]
        children += got[1]
    parser.close()
    got = parser.take()
    parser.pages, parser.children = pages + got[0], children + got[1]
    return parser


def test_urlset_with_news_and_image_entries() -> None:
    parser = parse(URLSET)
    assert parser.kind == "urlset" and parser.error is None
    first, second = parser.pages  # the entry without <loc> is dropped
    assert first.loc == "https://news.example/world/2020/jul/22/ministers-weigh-5g-options"
    assert first.title == "Ministers weigh 5G options & costs"
    assert first.published == datetime(2020, 7, 22, 17, 30, tzinfo=UTC)
    assert first.lastmod == datetime(2020, 7, 23, 7, 0, tzinfo=UTC)
    assert second == SitemapEntry("https://news.example/about", datetime(2019, 5, 1, tzinfo=UTC))


def test_fed_one_byte_at_a_time_gives_the_same_entries() -> None:
    assert parse(URLSET, chunk=1).pages == parse(URLSET).pages
    assert parse(INDEX, chunk=7).children == parse(INDEX).children


def test_index_lists_child_sitemaps() -> None:
    parser = parse(INDEX)
    assert parser.kind == "index"
    assert [c.loc for c in parser.children] == [
        "https://news.example/sitemaps/2020-07.xml",
        "https://news.example/sitemaps/2020-08.xml.gz",
    ]
    assert parser.children[0].lastmod == datetime(2020, 7, 31, tzinfo=UTC)
    assert parser.pages == []


def test_gzipped_sitemap_is_inflated_in_chunks() -> None:
    assert parse(gzip.compress(URLSET), chunk=16).pages == parse(URLSET).pages


def test_gzip_bomb_stops_at_the_cap() -> None:
    bomb = gzip.compress(b"<urlset>" + b" " * 5_000_000)
    with pytest.raises(DownloadError) as caught:
        parse(bomb, chunk=4096, max_bytes=100_000)
    assert caught.value.error == FetchError.TOO_LARGE


def test_malformed_document_keeps_entries_before_the_break() -> None:
    body = URLSET.replace(
        b"<url><loc> https://news.example/about", b"<url><loc>a&b</loc></url>\n<url><loc>x"
    )
    parser = parse(body)
    assert parser.kind == "urlset"
    assert [p.loc for p in parser.pages] == [
        "https://news.example/world/2020/jul/22/ministers-weigh-5g-options"
    ]
    assert parser.error is not None and "not well-formed" in parser.error


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY a "aaaa">]><urlset></urlset>',
        b'<?xml version="1.0"?><!DOCTYPE urlset SYSTEM "http://evil.example/x.dtd"><urlset/>',
    ],
)
def test_doctype_and_entities_are_refused(body: bytes) -> None:
    with pytest.raises(SitemapRefused, match="refused"):
        parse(body)


def test_html_and_other_roots_are_not_sitemaps() -> None:
    with pytest.raises(SitemapRefused, match="HTML"):
        parse(b"<html><body><p>Not found</p></body></html>")
    with pytest.raises(SitemapRefused, match="<rss>"):
        parse(b"<rss version='2.0'><channel/></rss>")


def test_unparseable_before_the_root_is_an_error_with_no_kind() -> None:
    parser = parse(b"<<not xml at all")
    assert parser.kind is None and parser.error is not None


def test_text_sitemap_one_url_per_line() -> None:
    body = b"https://news.example/a\r\n\nnot a url\nhttps://news.example/b"
    parser = parse(body, chunk=5)
    assert parser.kind == "text"
    assert [p.loc for p in parser.pages] == ["https://news.example/a", "https://news.example/b"]


def test_empty_document_is_an_error() -> None:
    parser = parse(b"   \n")
    assert parser.kind is None and parser.error == "empty document"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020", datetime(2020, 1, 1, tzinfo=UTC)),
        ("2020-07", datetime(2020, 7, 1, tzinfo=UTC)),
        ("2020-07-21", datetime(2020, 7, 21, tzinfo=UTC)),
        ("2020-07-21T19:05:00+01:00", datetime(2020, 7, 21, 18, 5, tzinfo=UTC)),
        ("2020-07-21T18:05:00Z", datetime(2020, 7, 21, 18, 5, tzinfo=UTC)),
        ("21 July 2020", None),
        ("2020-13", None),
        ("", None),
    ],
)
def test_w3c_datetimes(value: str, expected: datetime | None) -> None:
    assert parse_w3c_datetime(value) == expected
