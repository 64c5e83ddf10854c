"""Search parameters as people type them, turned into a SearchQuery: one parser for the CLI
and the HTTP API, so `newswatch search` and `/api/search` mean the same thing.

Blank values mean "no filter" (web forms send empty strings for unset fields). Every
problem becomes a SearchError with a message a person can act on (HTTP 400, CLI exit 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import get_args

from pipeline.config import Perspective
from pipeline.index.base import SearchError, SearchQuery
from pipeline.index.paging import MAX_LIMIT
from pipeline.records import Relation

RELATIONS = tuple(r.value for r in Relation)
SORTS = ("relevance", "date")
PERSPECTIVES: tuple[str, ...] = get_args(Perspective)


def search_query(
    text: str = "",
    *,
    since: str | None = None,
    until: str | None = None,
    sources: Sequence[str] = (),
    threads: Sequence[str] = (),
    relation: str | None = None,
    language: str | None = None,
    perspective: str | None = None,
    sort: str = "relevance",
    limit: int = 20,
    max_limit: int = MAX_LIMIT,
    cursor: str | None = None,
    collapse: bool = True,
) -> SearchQuery:
    """Validate the parameters; a date-only `until` includes that whole (UTC) day."""
    if not 1 <= limit <= max_limit:
        raise SearchError(f"limit must be between 1 and {max_limit}, not {limit}")
    if sort not in SORTS:
        raise SearchError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
    relation = relation or None
    if relation is not None and relation not in RELATIONS:
        raise SearchError(f"relation must be one of {', '.join(RELATIONS)}, not {relation!r}")
    perspective = perspective_value(perspective)
    start = parse_when(since, "since", end_of_day=False)
    end = parse_when(until, "until", end_of_day=True)
    if start is not None and end is not None and start >= end:
        raise SearchError("since must be earlier than until")
    return SearchQuery(
        text=text,
        since=start,
        until=end,
        sources=_present(sources),
        threads=_present(threads),
        relation=relation,
        language=language or None,
        perspective=perspective,
        sort="date" if sort == "date" else "relevance",
        limit=limit,
        cursor=cursor or None,
        collapse=collapse,
    )


def perspective_value(value: str | None) -> str | None:
    """A perspective filter: uk, china or international; blank is none."""
    if not value:
        return None
    if value not in PERSPECTIVES:
        raise SearchError(f"perspective must be one of {', '.join(PERSPECTIVES)}, not {value!r}")
    return value


def parse_when(value: str | None, name: str, *, end_of_day: bool) -> datetime | None:
    """A date (the start of that UTC day; with end_of_day, the start of the next) or a
    date-time (UTC unless it carries an offset)."""
    if not value:
        return None
    try:
        if len(value) == len("YYYY-MM-DD"):
            day = date.fromisoformat(value)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if end_of_day else start
        moment = datetime.fromisoformat(value)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except ValueError:
        raise SearchError(
            f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 date-time, not {value!r}"
        ) from None
    except OverflowError:
        # e.g. the day after 9999-12-31, or 0001-01-01T00:00+01:00 in UTC
        raise SearchError(
            f"{name} {value!r} is outside the dates that can be represented (years 1 to 9999 UTC)"
        ) from None


def _present(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(v.strip() for v in values if v.strip())
