"""The search-index interface that both backends (SQLite FTS5, Elasticsearch) implement.

Callers (the index stage, the CLI, the HTTP API) only use these types, so the two
backends answer the same queries the same way; the contract tests check that.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol

from pipeline.records import IndexDocument


class SearchError(Exception):
    """A query the user must fix (bad syntax, unknown field); maps to HTTP 400."""


class BackendUnavailable(Exception):
    """The search backend cannot be reached or is overloaded; retry later."""


class BackendConfigError(ValueError):
    """The backend refused our credentials (401) or privileges (403): retrying cannot help,
    someone must fix the configuration (user, password, API key, role)."""


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""  # query syntax: see pipeline.index.query
    since: datetime | None = None  # published_at >= since
    until: datetime | None = None  # published_at < until
    sources: tuple[str, ...] = ()  # outlet name or domain, case-insensitive
    threads: tuple[str, ...] = ()
    relation: str | None = None  # relation to the default seed
    language: str | None = None
    perspective: str | None = None  # uk | china | international
    sort: Literal["relevance", "date"] = "relevance"
    limit: int = 20
    cursor: str | None = None  # opaque, from SearchPage.next_cursor
    collapse: bool = True  # one hit per story cluster


@dataclass
class SearchHit:
    article_id: str
    title: str
    url: str
    outlet: str
    domain: str
    published_at: datetime | None
    snippet: str  # HTML-escaped text with <mark>…</mark> around matches
    score: float
    cluster_id: str | None = None
    also_published_by: list[str] = field(default_factory=list)  # other outlets in the cluster
    threads: list[str] = field(default_factory=list)
    relation: str | None = None
    language: str | None = None
    perspective: str | None = None


@dataclass
class SearchPage:
    hits: list[SearchHit]
    total: int  # matching articles (before collapsing)
    next_cursor: str | None


@dataclass
class TimelineBucket:
    start: date
    articles: int
    stories: int  # distinct clusters


@dataclass
class IndexOutcome:
    article_id: str
    ok: bool
    error: str | None = None


class SearchIndex(Protocol):
    name: str

    def ensure_ready(self) -> None:
        """Create the index/tables if missing. Idempotent."""

    def index(self, docs: Sequence[IndexDocument]) -> list[IndexOutcome]:
        """Upsert documents by article_id; one outcome per document, in order.

        Raises BackendUnavailable if nothing could be sent at all.
        """

    def delete(self, article_ids: Sequence[str]) -> None: ...

    def rebuild(self, docs: Iterable[IndexDocument]) -> int:
        """Build a fresh index from `docs` and switch searchers to it only when complete.

        Returns the number of documents indexed. Searchers never see a half-built index.
        """

    def search(self, query: SearchQuery) -> SearchPage: ...

    def timeline(
        self, query: SearchQuery, interval: Literal["day", "week"] = "day"
    ) -> list[TimelineBucket]: ...

    def more_like_this(self, article_id: str, limit: int = 10) -> list[SearchHit]: ...

    def count(self) -> int: ...

    def health(self) -> dict[str, object]:
        """Backend health for `index status` and /readyz; raises BackendUnavailable."""
