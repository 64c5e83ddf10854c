"""One parser for the search parameters of the CLI and the API: dates, bounds, relations."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline.index.base import SearchError
from pipeline.search.params import parse_when, search_query


def test_a_date_only_until_includes_that_whole_day() -> None:
    query = search_query("x", since="2020-07-01", until="2020-07-01")
    assert query.since == datetime(2020, 7, 1, tzinfo=UTC)
    assert query.until == datetime(2020, 7, 2, tzinfo=UTC)


def test_date_times_are_utc_unless_they_carry_an_offset() -> None:
    assert parse_when("2020-07-01T12:30", "since", end_of_day=False) == datetime(
        2020, 7, 1, 12, 30, tzinfo=UTC
    )
    assert parse_when("2020-07-01T12:30+02:00", "until", end_of_day=True) == datetime(
        2020, 7, 1, 10, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"until": "9999-12-31"}, "until '9999-12-31' is outside the dates"),
        ({"since": "0001-01-01T00:00:00+01:00"}, "since '0001-01-01T00:00:00+01:00' is outside"),
        ({"until": "9999-12-31T23:59:59-01:00"}, "is outside the dates"),
        ({"since": "2020-13-01"}, "since must be a date"),
        ({"until": "someday"}, "until must be a date"),
        (
            {"relation": "copy"},
            "relation must be one of duplicate, follow_up, background, unrelated",
        ),
        ({"sort": "popularity"}, "sort must be one of relevance, date"),
        ({"perspective": "UK"}, "perspective must be one of uk, china, international, not 'UK'"),
        ({"limit": 0}, "limit must be between 1 and 1000"),
        ({"limit": 101, "max_limit": 100}, "limit must be between 1 and 100, not 101"),
        ({"since": "2020-07-02", "until": "2020-07-01"}, "since must be earlier than until"),
    ],
)
def test_bad_parameters_are_search_errors_with_a_message(
    params: dict[str, Any], message: str
) -> None:
    with pytest.raises(SearchError, match=re.escape(message)):
        search_query("x", **params)


def test_the_last_representable_bounds_are_accepted() -> None:
    query = search_query(since="0001-01-01", until="9999-12-31T00:00:00")
    assert query.since == datetime(1, 1, 1, tzinfo=UTC)
    assert query.until == datetime(9999, 12, 31, tzinfo=UTC)


def test_blank_values_mean_no_filter() -> None:
    query = search_query(
        "", since="", until="", relation="", perspective="", sources=[" ", "Harbour Post "]
    )
    assert (query.since, query.until, query.relation, query.perspective) == (None,) * 4
    assert query.sources == ("Harbour Post",)


@pytest.mark.parametrize("perspective", ["uk", "china", "international"])
def test_each_feed_perspective_is_a_filter(perspective: str) -> None:
    assert search_query("x", perspective=perspective).perspective == perspective
