"""robots.txt, per origin, with RFC 9309 semantics (protego) and its failure rules.

protego gives the RFC's matching: the longest matching rule wins (Allow on a tie), `*`
matches any run of characters and `$` anchors the end. A `Crawl-delay` for our agent is a
floor on the per-host delay (clipped to fetch.max_crawl_delay_seconds).

Each origin's robots.txt is fetched once through the guarded client (even when many pages of
the site, or a feed and its pages, are requested at once) and kept for the lifetime of the
`Robots` object, which the fetcher and the feed poller create per client. A `RobotsCache`
carries the rules from one batch's `Robots` to the next, so a run reads each file once.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from protego import Protego

from pipeline.config import FetchSettings
from pipeline.fetch.errors import DownloadError
from pipeline.fetch.http import Throttle, download
from pipeline.records import FetchError

# The robots.txt itself is unusable but says nothing of the page: report the real cause.
_HOST_ERRORS = frozenset({FetchError.BLOCKED_ADDRESS, FetchError.DNS_ERROR, FetchError.INVALID_URL})
# "Unavailable" (4xx, or redirects beyond the limit): no restrictions (RFC 9309 §2.3.1.2-3).
_UNAVAILABLE = frozenset(
    {FetchError.HTTP_CLIENT_ERROR, FetchError.TOO_MANY_REDIRECTS, FetchError.REDIRECT_LOOP}
)


# RFC 9309 §2.4: a cached robots.txt should not be used for more than 24 hours.
MAX_CACHE_SECONDS = 24 * 3600.0
_MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)")


@dataclass(frozen=True)
class _Rules:
    robots_url: str
    parser: Protego | None = None  # None: everything is allowed (unavailable)
    unreachable: DownloadError | None = None  # 5xx/429/network: everything disallowed for now
    fresh_for: float = MAX_CACHE_SECONDS  # seconds a RobotsCache may reuse them


class RobotsCache:
    """robots.txt rules by origin, shared by the `Robots` of successive batches of a run.

    Rules are reused while fresh: up to 24 hours, less when the file's Cache-Control says
    so (a shorter max-age; no-store or no-cache: not reused). An unreachable robots.txt is
    not kept, so the next batch asks again, as it did without a cache.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[_Rules, float]] = {}

    def get(self, origin: str) -> _Rules | None:
        entry = self._entries.get(origin)
        if entry is None or entry[1] <= self._clock():
            return None
        return entry[0]

    def put(self, origin: str, rules: _Rules) -> None:
        if rules.unreachable is None and rules.fresh_for > 0:
            self._entries[origin] = (rules, self._clock() + rules.fresh_for)


def fresh_for(cache_control: str | None) -> float:
    """Seconds a robots.txt may be reused, from its Cache-Control header (capped at 24 h)."""
    directives = (cache_control or "").lower()
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    max_age = _MAX_AGE.search(directives)
    return min(float(max_age.group(1)), MAX_CACHE_SECONDS) if max_age else MAX_CACHE_SECONDS


class Robots:
    """Decides whether our user agent may fetch a URL."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: FetchSettings,
        throttle: Throttle | None = None,
        cache: RobotsCache | None = None,
    ) -> None:
        self._client = client
        self._settings = settings
        self._throttle = throttle  # told each host's Crawl-delay
        self._cache = cache  # rules read by earlier batches of the run
        # RFC 9309 matches groups on the product token, e.g. "newswatch" of "newswatch/0.1 (…)"
        self._agent = settings.user_agent.split("/")[0].strip()
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
        if rules.parser is not None and not rules.parser.can_fetch(url, self._agent):
            raise DownloadError(
                FetchError.ROBOTS_DISALLOWED,
                f"{rules.robots_url} disallows {parts.path or '/'} for user agent {self._agent}",
            )

    async def prepare(self, url: str) -> None:
        """Read `url`'s robots.txt now, before a throttle slot is taken, so that its
        Crawl-delay spaces out the very first requests to the host. Errors surface later,
        from `require_allowed`."""
        parts = urlsplit(url)
        with contextlib.suppress(DownloadError):
            await self._rules_for(f"{parts.scheme}://{parts.netloc}".lower())

    async def sitemaps(self, url: str) -> list[str]:
        """The `Sitemap:` lines of the robots.txt of `url`'s origin (none if it has none).

        Raises `DownloadError` as `require_allowed` does when the robots.txt is unreachable.
        """
        parts = urlsplit(url)
        rules = await self._rules_for(f"{parts.scheme}://{parts.netloc}".lower())
        if rules.unreachable is not None:
            raise rules.unreachable
        if rules.parser is None:
            return []
        return list(rules.parser.sitemaps)

    async def _rules_for(self, origin: str) -> _Rules:
        async with self._locks.setdefault(origin, asyncio.Lock()):
            if origin not in self._rules:
                rules = self._cache.get(origin) if self._cache is not None else None
                if rules is None:
                    rules = await self._fetch(f"{origin}/robots.txt")
                    if self._cache is not None:
                        self._cache.put(origin, rules)
                self._rules[origin] = rules
                if rules.parser is not None and self._throttle is not None:
                    delay = rules.parser.crawl_delay(self._agent)
                    if delay:
                        limit = self._settings.max_crawl_delay_seconds
                        self._throttle.at_least(origin, min(float(delay), limit))
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
        parser = Protego.parse(raw.body.decode("utf-8", "replace"))
        return _Rules(
            robots_url, parser=parser, fresh_for=fresh_for(raw.headers.get("cache-control"))
        )
