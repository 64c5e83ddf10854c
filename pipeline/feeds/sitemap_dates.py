"""Which sitemap entries fall in a backfill's date range, and when each was published.

Evidence, best first: the news sitemap's publication date; a date in the URL path (per day
or per month, as in /2020/07/21/ or sitemap-2020-07.xml); `lastmod`. `lastmod` is when the
page last changed, so it can only rule a page out (changed before the range started means
published before it too); a page with no date at all is kept, and the relevance pre-filter
decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from pipeline.feeds.sitemap_parse import SitemapEntry

DateSource = Literal["news", "url", "lastmod", "none"]
_SEP = r"[-/_.]?"
# Years 1990-2099, bounded by non-digits so ids like 9120200721001 are not read as dates.
_DAY = re.compile(rf"(?<!\d)((?:19|20)\d\d)({_SEP})(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])(?!\d)")
_MONTH = re.compile(r"(?<!\d)((?:19|20)\d\d)[-/_](0[1-9]|1[0-2])(?![\d])")


@dataclass(frozen=True, slots=True)
class DateRange:
    """[since, until): aware UTC; the CLI's --until day is included (until is the next midnight)."""

    since: datetime
    until: datetime

    @classmethod
    def from_days(cls, since: date, until: date) -> DateRange:
        if until < since:
            raise ValueError(f"--until {until} is before --since {since}")
        start = datetime(since.year, since.month, since.day, tzinfo=UTC)
        end = datetime(until.year, until.month, until.day, tzinfo=UTC) + timedelta(days=1)
        return cls(start, end)

    def contains(self, moment: datetime) -> bool:
        return self.since <= moment < self.until

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return start < self.until and end > self.since


def url_path(url: str) -> str:
    """The path (and query) of an absolute URL; a string cut, as urlsplit is slow per URL
    when an archive has millions."""
    start = url.find("//")
    slash = url.find("/", start + 2 if start >= 0 else 0)
    return "" if slash < 0 else url[slash:].partition("#")[0]


def url_date_span(url: str) -> tuple[datetime, datetime] | None:
    """The day or month named in a URL's path, as [start, end), or None."""
    path = url_path(url)
    day = _DAY.search(path)
    if day:
        try:
            start = datetime(int(day[1]), int(day[3]), int(day[4]), tzinfo=UTC)
            return start, start + timedelta(days=1)
        except ValueError:  # 2021/02/30: no such day, but the month stands
            pass
    month = _MONTH.search(path)
    if month:
        year, number = int(month[1]), int(month[2])
        start = datetime(year, number, 1, tzinfo=UTC)
        end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
        return start, end
    return None


@dataclass(frozen=True, slots=True)
class Dating:
    in_range: bool
    published: datetime | None
    source: DateSource


def date_page(entry: SitemapEntry, window: DateRange) -> Dating:
    """Whether a page entry is in the range, with its best publication date."""
    if entry.published is not None:
        return Dating(window.contains(entry.published), entry.published, "news")
    span = url_date_span(entry.loc)
    if span is not None:
        return Dating(window.overlaps(*span), span[0], "url")
    if entry.lastmod is not None:
        return Dating(entry.lastmod >= window.since, entry.lastmod, "lastmod")
    return Dating(True, None, "none")


def child_out_of_range(entry: SitemapEntry, window: DateRange) -> str | None:
    """Why a child sitemap of an index cannot hold pages of the range, or None to read it."""
    span = url_date_span(entry.loc)
    if span is not None and not window.overlaps(*span):
        return f"named for {span[0]:%Y-%m-%d}..{span[1]:%Y-%m-%d}, outside the range"
    if entry.lastmod is not None and entry.lastmod < window.since:
        return f"lastmod {entry.lastmod:%Y-%m-%d} is before the range"
    return None
