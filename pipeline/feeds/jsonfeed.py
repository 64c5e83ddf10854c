"""JSON Feed (jsonfeed.org, versions 1 and 1.1), read safely: feedparser does not know it.

The caps are the XML path's: the body was already size-capped by the download, entries
beyond `max_entries` are counted and dropped, and a document nested deeper than any JSON
Feed needs is refused rather than recursed into.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pipeline.feeds.items import FeedItem, FeedRefused
from pipeline.records import as_utc

VERSION_PREFIX = "https://jsonfeed.org/version/"
# A JSON Feed nests 4 levels (feed → items → item → authors/attachments → object).
MAX_DEPTH = 16


def looks_like_json_feed(body: bytes, content_type: str | None) -> bool:
    """JSON by media type (application/feed+json, application/json) or by its first byte."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media in ("application/feed+json", "application/json"):
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def parse_json_feed(body: bytes) -> list[FeedItem]:
    """The items of a JSON Feed document; `FeedRefused` for anything that is not one."""
    if _too_deep(body):
        raise FeedRefused(f"not a feed: JSON nested more than {MAX_DEPTH} levels deep")
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FeedRefused(f"not a feed: invalid JSON ({exc})") from None
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith(
        VERSION_PREFIX
    ):
        raise FeedRefused(f"not a feed: a JSON document without a {VERSION_PREFIX}… version")
    items = document.get("items")
    if not isinstance(items, list):
        raise FeedRefused("not a feed: a JSON Feed needs an 'items' list")
    return [_item(raw) for raw in items if isinstance(raw, dict)]


def _too_deep(body: bytes) -> bool:
    """Bracket depth outside strings, in one pass (json.loads would recurse first)."""
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def _item(raw: dict[str, Any]) -> FeedItem:
    # 1.0 allowed numeric ids; 1.1 asks for strings. Both are identities.
    ident = raw.get("id")
    return FeedItem(
        id=str(ident) if isinstance(ident, str | int) and not isinstance(ident, bool) else None,
        link=_text(raw.get("url")) or _text(raw.get("external_url")),
        title=_text(raw.get("title")),
        summary=_text(raw.get("summary")) or _text(raw.get("content_text")),
        published=_date(raw.get("date_published")) or _date(raw.get("date_modified")),
    )


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _date(value: Any) -> datetime | None:
    """RFC 3339 as aware UTC; anything unreadable is no date."""
    if not isinstance(value, str):
        return None
    try:
        return as_utc(datetime.fromisoformat(value.strip()))
    except (ValueError, OverflowError):
        return None
