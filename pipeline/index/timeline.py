"""Timeline buckets from the first to the last non-empty one, gaps as zeros, for both backends.

The span is bounded: a timeline of more than ``MAX_BUCKETS`` buckets cannot be drawn and
would cost memory for nothing (one misdated article in year 1 or 9999 would ask for
millions), so it is refused with SearchError, telling the user to narrow the dates or
use weeks. Buckets are counted before any is made, and no date past the last bucket is
computed, so year 9999 never overflows.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from pipeline.index.base import SearchError, TimelineBucket

Interval = Literal["day", "week"]
MAX_BUCKETS = 10_000  # 27 years of days, 190 years of weeks
_DAYS = {"day": 1, "week": 7}


def step_days(interval: str) -> int:
    """Days in one bucket; SearchError for an interval neither backend knows."""
    if interval not in _DAYS:
        raise SearchError(f"unknown timeline interval {interval!r}; use 'day' or 'week'")
    return _DAYS[interval]


def with_gaps(found: dict[date, tuple[int, int]], interval: str) -> list[TimelineBucket]:
    """Buckets (start -> (articles, stories)) with the empty ones between them as zeros."""
    step = step_days(interval)
    if not found:
        return []
    first, last = min(found), max(found)
    count = (last - first).days // step + 1
    if count > MAX_BUCKETS:
        raise SearchError(
            f"the timeline would have {count} {interval}s from {first} to {last}, more than "
            f"{MAX_BUCKETS}; narrow it with since/until"
            + (" or use interval=week" if interval == "day" else "")
        )
    buckets = []
    for n in range(count):
        start = first + timedelta(days=n * step)
        articles, stories = found.get(start, (0, 0))
        buckets.append(TimelineBucket(start=start, articles=articles, stories=stories))
    return buckets
