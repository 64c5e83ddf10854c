"""URL canonicalisation and article ids.

The article id is derived from the canonical URL, so one story reached through two
feeds, or through tracking-parameter variants of its link, is one article.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit, urlunsplit

from courlan import clean_url


class InvalidUrl(ValueError):
    """A link that cannot be fetched (not http(s), no host, unparseable)."""


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no default port, no fragment, no tracking parameters.

    courlan strips the tracking parameters (utm_*, fbclid, gclid, …) and sorts the
    query; fragments never select a different article, so they go too.
    """
    raw = (url or "").strip()
    try:
        parts = urlsplit(raw)
    except ValueError as exc:
        raise InvalidUrl(f"unparseable URL {raw[:200]!r}: {exc}") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidUrl(f"not an http(s) URL: {raw[:200]!r}")
    cleaned = clean_url(raw)
    if cleaned is None:
        raise InvalidUrl(f"unparseable URL {raw[:200]!r}")
    parts = urlsplit(cleaned)
    host = (parts.hostname or "").rstrip(".")
    port = parts.port
    default_port = {"http": 80, "https": 443}[parts.scheme]
    netloc = host if port in (None, default_port) else f"{host}:{port}"
    if ":" in host and not host.startswith("["):  # IPv6 literal
        netloc = f"[{host}]" if port in (None, default_port) else f"[{host}]:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def article_id(canonical: str) -> str:
    """A stable 32-hex-character id for a canonical URL."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def domain_of(url: str) -> str:
    """The host without a leading 'www.', for display and source filters."""
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host
