"""Typed records that pass between the stages, and the status vocabularies.

Stages are plain functions over these records; the store persists them. Every
status value is explained in docs/statuses.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


def utcnow() -> datetime:
    """The only clock the pipeline uses: timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """Normalise a datetime to aware UTC; naive values are taken to be UTC already.

    SQLite hands back naive datetimes, so every read from the store goes through this.
    """
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class ArticleStatus(StrEnum):
    DISCOVERED = "discovered"  # known from a feed entry (or given directly), not yet downloaded
    FETCHED = "fetched"  # HTML downloaded and stored, waiting for extraction
    FETCH_FAILED = "fetch_failed"  # download failed; retried while next_attempt_at is set
    EXTRACTED = "extracted"  # text and metadata extracted, waiting for dedup/classification
    NO_CONTENT = "no_content"  # page had too little body text (paywall stub, index page)
    CLASSIFIED = "classified"  # deduplicated, clustered, related to the seeds; waiting for index
    INDEXED = "indexed"  # in the search index


class IndexState(StrEnum):
    PENDING = "pending"  # must be (re)indexed; the outbox
    INDEXED = "indexed"
    FAILED = "failed"  # gave up after index.max_attempts; reason in index_error


class FeedStatus(StrEnum):
    NEVER_POLLED = "never_polled"
    OK = "ok"  # fetched and parsed
    NOT_MODIFIED = "not_modified"  # 304, or body hash unchanged
    PARSE_WARNING = "parse_warning"  # malformed (bozo) but entries were recovered
    ERROR = "error"  # nothing usable: HTTP error, network error, unparseable, refused


class RunState(StrEnum):
    RUNNING = "running"  # in progress, or the process died (the next run picks the work up)
    SUCCEEDED = "succeeded"  # every stage ran; articles may still have failed
    FAILED = "failed"  # a stage raised


class FetchError(StrEnum):
    """Why a page download failed. `retryable` tells whether another run may succeed."""

    INVALID_URL = "invalid_url"
    BLOCKED_ADDRESS = "blocked_address"  # SSRF guard: private/loopback/link-local/...
    DNS_ERROR = "dns_error"
    ROBOTS_DISALLOWED = "robots_disallowed"
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    REDIRECT_LOOP = "redirect_loop"
    HTTP_CLIENT_ERROR = "http_client_error"  # 4xx other than 408/429
    HTTP_SERVER_ERROR = "http_server_error"  # 5xx
    RATE_LIMITED = "rate_limited"  # 429, or 503 with Retry-After
    NOT_HTML = "not_html"
    TOO_LARGE = "too_large"
    DECODE_ERROR = "decode_error"

    @property
    def retryable(self) -> bool:
        return self in {
            FetchError.DNS_ERROR,
            FetchError.TIMEOUT,
            FetchError.CONNECTION_ERROR,
            FetchError.HTTP_SERVER_ERROR,
            FetchError.RATE_LIMITED,
        }


class DateSource(StrEnum):
    PAGE = "page"  # the page's own metadata (trafilatura/htmldate)
    FEED = "feed"  # the feed entry's published/updated date
    NONE = "none"


class Relation(StrEnum):
    DUPLICATE = "duplicate"  # the seed's story: a copy, or the same event reported independently
    FOLLOW_UP = "follow_up"  # related, published after the seed
    BACKGROUND = "background"  # related, published before the seed
    UNRELATED = "unrelated"


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed document, as parsed."""

    feed_name: str
    entry_key: str  # guid/id, else the link: stable identity within the feed
    link: str | None
    title: str | None
    published_at: datetime | None
    summary: str | None = None


@dataclass
class FeedPollResult:
    feed_name: str
    status: FeedStatus
    http_status: int | None = None
    entries: list[FeedEntry] = field(default_factory=list)
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    retry_after_seconds: float | None = None
    skipped_without_link: int = 0
    entries_beyond_limit: int = 0  # listed after poll.max_entries_per_poll: not read
    dates_rejected: int = 0  # entry dates too far in the future or past (pipeline/dates.py)
    parsed: bool = False  # the document was given to the parser (not a 304, not unchanged)


@dataclass
class FetchResult:
    """Outcome of downloading one page. Exactly one of `html` / `error` is set, unless 304."""

    url: str
    final_url: str | None = None
    http_status: int | None = None
    html: str | None = None
    content_type: str | None = None
    encoding: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    error: FetchError | None = None
    error_detail: str | None = None
    retry_after_seconds: float | None = None
    redirects: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and (self.html is not None or self.not_modified)


@dataclass
class ExtractedPage:
    """What trafilatura recovered from one page."""

    text: str
    title: str | None
    author: str | None
    published_at: datetime | None
    date_source: DateSource
    site_name: str | None
    language: str | None
    word_count: int
    description: str | None = None
    date_note: str | None = None  # why a date that was found is not the publication date


@dataclass(frozen=True)
class IndexDocument:
    """One article as the search backends see it (built from the store)."""

    article_id: str
    canonical_url: str
    title: str
    text: str
    published_at: datetime | None
    date_source: str
    indexed_at: datetime
    outlet: str
    domain: str
    language: str | None
    threads: tuple[str, ...] = ()
    relation: str | None = None  # relation to the default seed
    seed_similarity: float | None = None
    cluster_id: str | None = None
    author: str | None = None
    discovered_at: datetime | None = None  # the age of an undated article (retention)
    embedding: tuple[float, ...] | None = None  # the stored sentence embedding, if any
    embedding_model: str | None = None  # the model that made it (never mix two models)
    perspective: str | None = None  # uk | china | international, from the feed
