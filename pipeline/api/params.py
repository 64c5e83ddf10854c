"""Query-string parameters of a search, shared by the JSON API and the web pages.

Web forms send empty strings for unset fields, so blank values mean "no filter". Every
problem becomes a SearchError with a message a person can act on (HTTP 400).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from pipeline.index.base import SearchError, SearchQuery
from pipeline.records import Relation, as_utc

DEFAULT_PAGE_SIZE = 20
RELATIONS = tuple(r.value for r in Relation)

Interval = Literal["day", "week"]


class SearchParams(BaseModel):
    q: str = Field(
        "",
        description='Query: words (all must match), "phrases", prefix*, AND, OR, NOT or -word, '
        "parentheses, and the fields title: and text:. Empty: everything, newest first.",
    )
    since: str | None = Field(
        None,
        description="Published on or after: YYYY-MM-DD, or an ISO 8601 date-time "
        "(UTC when it has no offset).",
    )
    until: str | None = Field(
        None,
        description="Published before this date-time; a plain YYYY-MM-DD includes that day.",
    )
    source: list[str] = Field(
        default_factory=list, description="Outlet name or domain; repeat it for any of several."
    )
    thread: list[str] = Field(
        default_factory=list, description="Storyline name (see /api/threads); repeat for any of."
    )
    relation: str | None = Field(
        None,
        description="Relation to the default seed: duplicate, follow_up, background or unrelated.",
    )
    lang: str | None = Field(None, description="Language code, e.g. en.")
    sort: Literal["relevance", "date"] = Field(
        "relevance", description="relevance, or date (newest first)."
    )
    limit: int = Field(
        DEFAULT_PAGE_SIZE, description="Stories per page, at most api.max_page_size."
    )
    cursor: str | None = Field(
        None, description="next_cursor of the previous page (with the same query)."
    )
    collapse: bool = Field(
        True,
        description='One hit per story cluster, with the other outlets in "also published by".',
    )

    def to_query(self, max_page_size: int) -> SearchQuery:
        if not 1 <= self.limit <= max_page_size:
            raise SearchError(f"limit must be between 1 and {max_page_size}, not {self.limit}")
        relation = self.relation or None
        if relation is not None and relation not in RELATIONS:
            raise SearchError(f"relation must be one of {', '.join(RELATIONS)}, not {relation!r}")
        since = parse_when(self.since, "since", end_of_day=False)
        until = parse_when(self.until, "until", end_of_day=True)
        if since is not None and until is not None and since >= until:
            raise SearchError("since must be earlier than until")
        return SearchQuery(
            text=self.q,
            since=since,
            until=until,
            sources=_present(self.source),
            threads=_present(self.thread),
            relation=relation,
            language=self.lang or None,
            sort=self.sort,
            limit=self.limit,
            cursor=self.cursor or None,
            collapse=self.collapse,
        )


class TimelineParams(SearchParams):
    interval: Interval = Field("week", description="Bucket size; weeks start Monday.")


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
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise SearchError(
            f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 date-time, not {value!r}"
        ) from None


def _present(values: list[str]) -> tuple[str, ...]:
    return tuple(v.strip() for v in values if v.strip())
