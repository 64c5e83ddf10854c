"""Date evidence for sitemap entries: news dates, URL path dates, lastmod, child sitemaps."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pipeline.feeds.sitemap_dates import DateRange, child_out_of_range, date_page, url_date_span
from pipeline.feeds.sitemap_parse import SitemapEntry

WINDOW = DateRange.from_days(date(2020, 7, 1), date(2020, 12, 31))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "span"),
    [
        ("https://x.example/world/2020/07/21/story.html", (utc(2020, 7, 21), utc(2020, 7, 22))),
        ("https://x.example/hk/article/20200728/extradition", (utc(2020, 7, 28), utc(2020, 7, 29))),
        ("https://x.example/news/story-20210131.html", (utc(2021, 1, 31), utc(2021, 2, 1))),
        ("https://x.example/sitemaps/2020-12.xml", (utc(2020, 12, 1), utc(2021, 1, 1))),
        ("https://x.example/energy/2020/12/sizewell", (utc(2020, 12, 1), utc(2021, 1, 1))),
        ("https://x.example/sitemap/2020-07-21.xml", (utc(2020, 7, 21), utc(2020, 7, 22))),
        ("https://x.example/story/9120200721001", None),  # an id, not a date
        ("https://x.example/news/2021/02/30/bad-day", (utc(2021, 2, 1), utc(2021, 3, 1))),
        ("https://2020-07-21.example/story", None),  # the host is not the path
    ],
)
def test_url_date_span(url: str, span: tuple[datetime, datetime] | None) -> None:
    assert url_date_span(url) == span


def test_news_date_wins_over_the_url_and_lastmod() -> None:
    entry = SitemapEntry(
        "https://x.example/2019/01/01/old-path", lastmod=utc(2021, 5, 1), published=utc(2020, 8, 1)
    )
    dating = date_page(entry, WINDOW)
    assert (dating.in_range, dating.published, dating.source) == (True, utc(2020, 8, 1), "news")


def test_url_date_outside_the_range() -> None:
    dating = date_page(SitemapEntry("https://x.example/2021/01/06/arrests"), WINDOW)
    assert not dating.in_range and dating.source == "url"


def test_until_day_is_included() -> None:
    assert date_page(SitemapEntry("https://x.example/2020/12/31/eve"), WINDOW).in_range
    assert not date_page(SitemapEntry("https://x.example/2021/01/01/day"), WINDOW).in_range


def test_lastmod_only_rules_out() -> None:
    before = date_page(SitemapEntry("https://x.example/a", lastmod=utc(2020, 6, 30)), WINDOW)
    after = date_page(SitemapEntry("https://x.example/b", lastmod=utc(2022, 1, 1)), WINDOW)
    assert not before.in_range
    assert after.in_range and after.source == "lastmod"  # changed later; may be older


def test_undated_pages_are_kept() -> None:
    dating = date_page(SitemapEntry("https://x.example/about-us"), WINDOW)
    assert dating.in_range and dating.source == "none" and dating.published is None


def test_child_sitemaps_out_of_range_are_skipped_unread() -> None:
    assert child_out_of_range(SitemapEntry("https://x.example/sitemaps/2019-11.xml"), WINDOW)
    assert child_out_of_range(SitemapEntry("https://x.example/s.xml", utc(2020, 6, 1)), WINDOW)
    assert (
        child_out_of_range(SitemapEntry("https://x.example/sitemaps/2020-07.xml"), WINDOW) is None
    )
    assert child_out_of_range(SitemapEntry("https://x.example/news.xml"), WINDOW) is None


def test_until_before_since_is_bad_input() -> None:
    with pytest.raises(ValueError, match="before"):
        DateRange.from_days(date(2021, 1, 1), date(2020, 1, 1))
