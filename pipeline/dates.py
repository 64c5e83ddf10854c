"""Which dates can be publication dates: one rule for feed entries and pages.

A date more than a day ahead of the clock (a day, because publishers stamp pages in time
zones ahead of UTC) or before `EARLIEST_PUBLICATION` is a typo, a placeholder (1970-01-01,
9999-12-31) or an attack, not a publication date. Accepting one would put the article at
the far end of every timeline and date-sorted list, and make a timeline span millennia.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# Before the web: no online news article is older. Documented in docs/statuses.md.
EARLIEST_PUBLICATION = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(days=1)


def implausible_reason(value: datetime, now: datetime) -> str | None:
    """Why `value` (aware) cannot be a publication date as of `now`, or None if it can."""
    if value < EARLIEST_PUBLICATION:
        return f"{value.isoformat()} is before {EARLIEST_PUBLICATION.date().isoformat()}"
    if value > now + FUTURE_TOLERANCE:
        return f"{value.isoformat()} is more than a day in the future"
    return None
