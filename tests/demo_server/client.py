"""A raw HTTP client for the newsroom: no redirects followed, so routes show as they are."""

from __future__ import annotations

import http.client
from email.message import Message
from urllib.parse import urlsplit

SLOW_SECONDS = 0.6  # the slow route's delay in these tests


def get(
    url: str, headers: dict[str, str] | None = None, timeout: float = 10.0
) -> tuple[int, Message, bytes]:
    """One GET without following redirects, so hostile routes can be observed as they are."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", target, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()
