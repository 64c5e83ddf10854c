"""Search arguments, cursors and hits, checked, encoded and built the same way by both backends.

A cursor is the sort key of the last hit shown (``[key, article_id]``) plus a fingerprint
of the query it came from, as URL-safe base64 JSON. It is user input: decoding it raises
only ``SearchError``, whatever the bytes, and its size and values are bounded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from pipeline.index.base import SearchError, SearchHit, SearchQuery
from pipeline.records import as_utc

Sort = Literal["relevance", "date"]
SortKey = int | float | str  # a score, an epoch (Elasticsearch) or a timestamp (SQLite)

MAX_LIMIT = 1000
MAX_CURSOR_CHARS = 1024  # ours are about 150; an article id is far shorter than this
_INT64 = 2**63  # sort values are 64-bit in both engines
_FLOAT32_MAX = 3.4028234663852886e38  # Lucene scores are float32

_INVALID = "invalid cursor; start from page 1"


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise SearchError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")


def effective_sort(query: SearchQuery, has_text: bool) -> Sort:
    """The order results come in: without words, relevance means nothing, so date."""
    if query.sort not in ("relevance", "date"):
        raise SearchError(f"unknown sort {query.sort!r}; use 'relevance' or 'date'")
    return query.sort if has_text else "date"


def date_bounds(query: SearchQuery) -> tuple[datetime | None, datetime | None]:
    """since and until in UTC; refuses a range that ends before it starts."""
    since, until = as_utc(query.since), as_utc(query.until)
    if since is not None and until is not None and since > until:
        raise SearchError("'since' is after 'until'")
    return since, until


def also_published_by(own_outlet: str, outlets: Iterable[str]) -> list[str]:
    """The other outlets of a story, once each, sorted case-insensitively."""
    own = own_outlet.casefold()
    return sorted({o for o in outlets if o.casefold() != own}, key=str.casefold)


def search_hit(
    fields: Mapping[str, Any],
    *,
    published_at: datetime | None,
    snippet: str,
    score: float,
    threads: list[str],
    also: list[str],
) -> SearchHit:
    """A hit from a stored document's fields; the backend decodes the ones it stores its way."""
    return SearchHit(
        article_id=fields["article_id"],
        title=fields["title"],
        url=fields["canonical_url"],
        outlet=fields["outlet"],
        domain=fields["domain"],
        published_at=published_at,
        snippet=snippet,
        score=score,
        cluster_id=fields.get("cluster_id"),
        also_published_by=also,
        threads=threads,
        relation=fields.get("relation"),
        language=fields.get("language"),
        perspective=fields.get("perspective"),
    )


def fingerprint(query: SearchQuery, sort: Sort) -> str:
    """What a cursor is tied to: everything that decides the order of results, not limit."""
    since, until = date_bounds(query)
    parts = [
        query.text,
        since.isoformat() if since else "",
        until.isoformat() if until else "",
        sorted(s.strip().casefold() for s in query.sources),
        sorted(query.threads),
        query.relation,
        query.language,
        query.perspective,
        sort,
        query.collapse,
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def encode_cursor(query_fingerprint: str, key: SortKey, article_id: str) -> str:
    payload = json.dumps(
        {"q": query_fingerprint, "after": [key, article_id]}, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(
    cursor: str, query_fingerprint: str, key_types: tuple[type, ...]
) -> tuple[SortKey, str]:
    """The sort key and article id a cursor points after; SearchError for anything else.

    `key_types` are the types the backend's sort key can have for this query's sort.
    """
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_CHARS:
        raise SearchError(_INVALID)
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, RecursionError) as exc:  # RecursionError: [[[[…
        raise SearchError(_INVALID) from exc
    after = payload.get("after") if isinstance(payload, dict) else None
    if not (isinstance(after, list) and len(after) == 2 and _valid_key(after[0], key_types)):
        raise SearchError(_INVALID)
    if not isinstance(after[1], str):
        raise SearchError(_INVALID)
    if payload.get("q") != query_fingerprint:
        raise SearchError("this cursor belongs to a different query; start from page 1")
    return after[0], after[1]


def _valid_key(value: object, key_types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) or not isinstance(value, key_types):
        return False
    if isinstance(value, int):
        return -_INT64 <= value < _INT64
    if isinstance(value, float):
        return math.isfinite(value) and abs(value) <= _FLOAT32_MAX
    return isinstance(value, str)
