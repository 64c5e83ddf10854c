"""One feed item as every feed format yields it, and how items become entries.

RSS, Atom and RDF (through feedparser) and JSON Feed (pipeline/feeds/jsonfeed.py) are read
into `FeedItem`s; `entries_from` applies the shared rules: the entry cap, relative links,
identity, repeats and the bounds on publication dates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin

from pipeline.dates import implausible_reason
from pipeline.records import FeedEntry, utcnow


class FeedRefused(ValueError):
    """A document we will not read as a feed (entity declarations, HTML page, not a feed)."""


@dataclass(frozen=True)
class FeedItem:
    id: str | None
    link: str | None
    title: str | None
    summary: str | None
    published: datetime | None  # aware UTC


@dataclass
class ParsedFeed:
    entries: list[FeedEntry]
    bozo_error: str | None  # feedparser's complaint about a malformed document, if any
    skipped_without_link: int  # entries with no link: nothing to fetch (listed if they have an id)
    beyond_limit: int = 0  # entries after the first `max_entries`, not read
    dates_rejected: int = 0  # entry dates outside the plausible range (pipeline/dates.py)


def entries_from(
    feed_name: str,
    items: Sequence[FeedItem],
    *,
    max_entries: int,
    base_url: str | None,
    bozo_error: str | None = None,
    total: int | None = None,
) -> ParsedFeed:
    """Entries of the first `max_entries` items; `total` counts items not converted to `items`."""
    entries: dict[str, FeedEntry] = {}
    without_link = rejected = 0
    now = utcnow()
    for item in items[:max_entries]:
        link = item.link
        if link and base_url:
            link = urljoin(base_url, link)
        key = item.id or link
        if link is None:
            without_link += 1
        if key is None or key in entries:  # no identity at all, or a repeat within the document
            continue
        published = item.published
        if published is not None and implausible_reason(published, now) is not None:
            published, rejected = None, rejected + 1
        entries[key] = FeedEntry(
            feed_name=feed_name,
            entry_key=key,
            link=link,
            title=item.title,
            published_at=published,
            summary=item.summary,
        )
    return ParsedFeed(
        list(entries.values()),
        bozo_error,
        without_link,
        beyond_limit=max((len(items) if total is None else total) - max_entries, 0),
        dates_rejected=rejected,
    )
