"""Publication dates are bounded: too far in the future or before the floor is no date, and
the article's date evidence says why (pipeline/dates.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import ExtractSettings
from pipeline.dates import EARLIEST_PUBLICATION, FUTURE_TOLERANCE, implausible_reason
from pipeline.extract.extractor import _parse_page_date, extract, publication_date
from pipeline.index.base import SearchError
from pipeline.records import DateSource, ExtractedPage
from pipeline.search.params import parse_when

FIXTURES = Path(__file__).parents[1] / "fixtures" / "extract"
URL = "https://www.coastline-weekly.example/news/story"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def extracted(html: str, feed_published_at: datetime | None) -> ExtractedPage:
    result = extract(html, URL, feed_published_at=feed_published_at, settings=ExtractSettings())
    assert isinstance(result, ExtractedPage), result
    return result


@pytest.mark.parametrize(
    "feed_date, why",
    [
        (datetime(9999, 12, 31, 23, 59, tzinfo=UTC), "more than a day in the future"),
        (datetime(1970, 1, 1, tzinfo=UTC), "is before 1990-01-01"),
        (datetime(1, 1, 1, tzinfo=UTC), "is before 1990-01-01"),
    ],
)
def test_an_implausible_feed_date_is_not_the_publication_date(
    feed_date: datetime, why: str
) -> None:
    result = extracted((FIXTURES / "article_undated.html").read_text(), feed_date)
    assert result.published_at is None
    assert result.date_source is DateSource.NONE
    assert result.date_note is not None
    assert result.date_note.startswith("feed date rejected") and why in result.date_note


def test_a_page_date_in_year_9999_falls_back_to_the_feed_date() -> None:
    html = (FIXTURES / "article_jsonld.html").read_text()
    assert '"datePublished": "2023-11-07"' in html
    html = html.replace('"datePublished": "2023-11-07"', '"datePublished": "9999-12-31"')
    html = html.replace('"dateModified": "2023-11-09T12:00:00Z"', '"dateModified": "9999-12-31"')
    feed_date = datetime(2023, 11, 8, 6, 0, tzinfo=UTC)
    result = extracted(html, feed_date)
    assert result.published_at == feed_date and result.date_source is DateSource.FEED


def test_the_page_date_is_checked_before_it_wins() -> None:
    page = datetime(2999, 1, 1, tzinfo=UTC)
    feed = datetime(2026, 11, 29, tzinfo=UTC)
    assert publication_date(page, feed, NOW) == (
        feed,
        DateSource.FEED,
        "page date rejected: 2999-01-01T00:00:00+00:00 is more than a day in the future",
    )


def test_tomorrow_is_still_a_publication_date() -> None:
    """Pages stamped in time zones ahead of UTC can be a few hours 'in the future'."""
    tomorrow = NOW + timedelta(hours=20)
    assert publication_date(tomorrow, None, NOW) == (tomorrow, DateSource.PAGE, None)
    assert publication_date(EARLIEST_PUBLICATION, None, NOW)[0] == EARLIEST_PUBLICATION


# --- property tests: any date in, a bounded date or none out, never an exception ----------

aware = st.datetimes(timezones=st.just(UTC))


@pytest.mark.fuzz
@settings(max_examples=200, deadline=None)
@given(page=st.one_of(st.none(), aware), feed=st.one_of(st.none(), st.datetimes(), aware))
def test_publication_date_is_always_bounded(page: datetime | None, feed: datetime | None) -> None:
    value, source, note = publication_date(page, feed, NOW)
    if value is None:
        assert source is DateSource.NONE
    else:
        assert value.tzinfo is not None
        assert EARLIEST_PUBLICATION <= value <= NOW + FUTURE_TOLERANCE
        assert implausible_reason(value, NOW) is None
    if note is not None:
        assert "rejected" in note


@pytest.mark.fuzz
@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=40), st.datetimes().map(lambda d: d.isoformat())))
def test_page_date_parsing_never_raises(text: str) -> None:
    parsed = _parse_page_date(text)
    assert parsed is None or parsed.tzinfo is not None


@pytest.mark.fuzz
@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=40),
        st.dates().map(date.isoformat),
        st.datetimes(
            timezones=st.sampled_from(
                [UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12))]
            )
        ).map(datetime.isoformat),
    ),
    end_of_day=st.booleans(),
)
def test_search_date_parameters_parse_or_are_search_errors(text: str, end_of_day: bool) -> None:
    """The CLI's and the API's since/until (pipeline/search/params.py): a UTC datetime or a
    SearchError (HTTP 400, exit 2), never OverflowError at the calendar's ends."""
    try:
        parsed = parse_when(text, "since", end_of_day=end_of_day)
    except SearchError as exc:
        assert "since" in str(exc)
        return
    assert parsed is None or parsed.utcoffset() == timedelta(0)
