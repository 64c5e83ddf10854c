"""robots.txt, per origin, with urllib.robotparser semantics and RFC 9309 failure rules.

Each origin's robots.txt is fetched once through the guarded client (even when many pages of
the site are requested at once) and kept for the lifetime of the `Robots` object, which the
fetcher creates per client.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from pipeline.config import FetchSettings
from pipeline.fetch.errors import DownloadError
from pipeline.fetch.http import download
from pipeline.records import FetchError

# The robots.txt itself is unusable but says nothing of the page: report the real cause.
_HOST_ERRORS = frozenset({FetchError.BLOCKED_ADDRESS, FetchError.DNS_ERROR, FetchError.INVALID_URL})
# "Unavailable" (4xx, or redirects beyond the limit): no restrictions (RFC 9309 §2.3.1.2-3).
_UNAVAILABLE = frozenset(
    {FetchError.HTTP_CLIENT_ERROR, FetchError.TOO_MANY_REDIRECTS, FetchError.REDIRECT_LOOP}
)


@dataclass(frozen=True)
class _Rules:
    robots_url: str
    parser: RobotFileParser | None = None  # None: everything is allowed (unavailable)
    unreachable: DownloadError | None = None  # 5xx/429/network: everything disallowed for now


class Robots:
    """Decides whether our user agent may fetch a URL."""

    def __init__(self, client: httpx.AsyncClient, settings: FetchSettings) -> None:
        self._client = client
        self._settings = settings
        self._rules: dict[str, _Rules] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def require_allowed(self, url: str) -> None:
        """Return if robots.txt lets us fetch `url`; else raise `DownloadError`.

        A disallowed URL raises ROBOTS_DISALLOWED. An unreachable robots.txt means "disallow
        everything for now" (RFC 9309 §2.3.1.4), raised with the cause's own (retryable) error
        so the page is tried again in a later run.
        """
        parts = urlsplit(url)
        rules = await self._rules_for(f"{parts.scheme}://{parts.netloc}".lower())
        if rules.unreachable is not None:
            cause = rules.unreachable
            raise DownloadError(
                cause.error,
                f"{rules.robots_url} unreachable ({cause.detail}); the site counts as "
                "disallowed until it can be read (RFC 9309)",
                http_status=cause.http_status,
                retry_after_seconds=cause.retry_after_seconds,
            )
        if rules.parser is not None and not rules.parser.can_fetch(self._settings.user_agent, url):
            agent = self._settings.user_agent.split("/")[0]
            raise DownloadError(
                FetchError.ROBOTS_DISALLOWED,
                f"{rules.robots_url} disallows {parts.path or '/'} for user agent {agent}",
            )

    async def _rules_for(self, origin: str) -> _Rules:
        async with self._locks.setdefault(origin, asyncio.Lock()):
            if origin not in self._rules:
                self._rules[origin] = await self._fetch(f"{origin}/robots.txt")
        return self._rules[origin]

    async def _fetch(self, robots_url: str) -> _Rules:
        try:
            raw = await download(self._client, robots_url, settings=self._settings)
        except DownloadError as exc:
            if exc.error in _HOST_ERRORS:
                raise
            if exc.error in _UNAVAILABLE:
                return _Rules(robots_url)
            return _Rules(robots_url, unreachable=exc)
        parser = RobotFileParser(robots_url)
        parser.parse(raw.body.decode("utf-8", "replace").splitlines())
        return _Rules(robots_url, parser=parser)
