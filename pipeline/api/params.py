"""Query-string parameters of a search, shared by the JSON API and the web pages.

This model only declares and documents them (for OpenAPI); pipeline.search.params
validates them, the same way as for `newswatch search`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from pipeline.index.base import SearchQuery
from pipeline.search.params import perspective_value, search_query
from pipeline.search.perspectives import ReportFilter

DEFAULT_PAGE_SIZE = 20

Interval = Literal["day", "week"]
LANG = "Language code, as detected at extraction, e.g. en or zh."
PERSPECTIVE = (
    "Whose side the outlet's feed speaks for: uk (UK outlets), china (Chinese official and "
    "state media) or international (everyone else)."
)


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
    # Plain [] defaults (pydantic copies them), not default_factory: FastAPI asks for the
    # default of every absent parameter, and a factory's costs an inspect.signature each time.
    source: list[str] = Field(
        [], description="Outlet name or domain; repeat it for any of several."
    )
    thread: list[str] = Field(
        [], description="Storyline name (see /api/threads); repeat for any of."
    )
    relation: str | None = Field(
        None,
        description="Relation to the default seed: duplicate, follow_up, background or unrelated.",
    )
    lang: str | None = Field(None, description=LANG)
    perspective: str | None = Field(None, description=PERSPECTIVE)
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
        return search_query(
            self.q,
            since=self.since,
            until=self.until,
            sources=self.source,
            threads=self.thread,
            relation=self.relation,
            language=self.lang,
            perspective=self.perspective,
            sort=self.sort,
            limit=self.limit,
            max_limit=max_page_size,
            cursor=self.cursor,
            collapse=self.collapse,
        )


class TimelineParams(SearchParams):
    interval: Interval = Field("week", description="Bucket size; weeks start Monday.")


class FollowupParams(BaseModel):
    seed: str | None = Field(None, description="Seed id; default: the first seed.")
    lang: str | None = Field(None, description=f"Only stories with a report in it. {LANG}")
    perspective: str | None = Field(
        None, description=f"Only stories with a report from it. {PERSPECTIVE}"
    )

    def report_filter(self) -> ReportFilter:
        return ReportFilter(self.lang or None, perspective_value(self.perspective))
