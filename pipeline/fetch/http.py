"""The guarded HTTP client: the one way newswatch talks to the network.

Connections go through the SSRF guard (guard.py). Redirects are followed here hop by hop,
bodies are streamed under size caps (body.py), and every failure is a `DownloadError`
carrying a `FetchError` (errors.py).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Protocol
from urllib.parse import urlsplit

import httpcore
import httpx

from pipeline.config import FetchSettings
from pipeline.fetch.body import ACCEPT_ENCODING, read_body
from pipeline.fetch.errors import DownloadError
from pipeline.fetch.guard import GuardedBackend, parse_networks
from pipeline.records import FetchError, utcnow

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class RawResponse:
    """A final (non-redirect) response: 2xx or 304, body already decompressed."""

    url: str
    final_url: str
    status_code: int
    headers: httpx.Headers
    body: bytes
    redirects: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str | None:
        value: str | None = self.headers.get("content-type")
        return value


def make_client(
    settings: FetchSettings, *, network_backend: httpcore.AsyncNetworkBackend | None = None
) -> httpx.AsyncClient:
    """The guarded client. `network_backend` replaces the socket layer under the guard."""
    guard = GuardedBackend(parse_networks(settings.allowed_networks), network_backend)
    # trust_env=False everywhere: an environment proxy would resolve and connect for us,
    # bypassing the guard.
    transport = httpx.AsyncHTTPTransport(verify=_ssl_context(), trust_env=False)
    # httpx has no public way to pass httpcore a network backend; give the transport a pool
    # built with ours (httpx is pinned <0.29 in pyproject.toml).
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=_ssl_context(),
        # The Throttle bounds requests in flight (robots.txt fetches run inside a page's slot,
        # hence the 2x); keep-alive as httpx's defaults.
        max_connections=max(100, 2 * settings.concurrency),
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=guard,
    )
    return httpx.AsyncClient(
        transport=transport,
        trust_env=False,
        follow_redirects=False,
        timeout=httpx.Timeout(
            settings.read_timeout_seconds, connect=settings.connect_timeout_seconds
        ),
        headers={"User-Agent": settings.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
    )


@cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs tens of milliseconds of CPU, and the fetch stage makes a
    # client per batch; one context serves every client of the process.
    return httpx.create_ssl_context(trust_env=False)


# --- politeness ---------------------------------------------------------------------------


@dataclass
class _Host:
    semaphore: asyncio.Semaphore
    gap: float = 0.0  # seconds between request starts
    next_start: float = 0.0


class HostClock(Protocol):
    """Spaces out requests to one host across processes (`pipeline.fetch.host_clock`)."""

    async def wait_turn(self, host: str, gap_seconds: float) -> None: ...


class Throttle:
    """Bounds requests in flight (overall and per host) and spaces out requests to one host;
    with a `HostClock`, also across every process that shares it."""

    def __init__(self, settings: FetchSettings, clock: HostClock | None = None) -> None:
        self._all = asyncio.Semaphore(settings.concurrency)
        self._per_host = settings.per_host_concurrency
        self._gap = settings.per_host_delay_seconds
        self._hosts: dict[str, _Host] = {}
        self._clock = clock

    def at_least(self, url: str, seconds: float) -> None:
        """Space requests to `url`'s host at least `seconds` apart (robots.txt Crawl-delay)."""
        host = self._host(url)
        host.gap = max(host.gap, seconds)

    def _host(self, url: str) -> _Host:
        name = (urlsplit(url).hostname or "").lower()
        return self._hosts.setdefault(name, _Host(asyncio.Semaphore(self._per_host), gap=self._gap))

    @asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        host = self._host(url)
        async with host.semaphore:
            # Reserve a start time before awaiting, so concurrent callers queue up in order
            # (and do not hold a global slot while they wait for their turn).
            now = asyncio.get_running_loop().time()
            start = max(now, host.next_start)
            host.next_start = start + host.gap
            await asyncio.sleep(start - now)
            # The host's gap (Crawl-delay too) across workers; with no gap there is nothing
            # to space out, so no reservation.
            if self._clock is not None and host.gap > 0:
                await self._clock.wait_turn(urlsplit(url).hostname or "", host.gap)
            async with self._all:
                yield


# --- download -----------------------------------------------------------------------------


def parse_retry_after(
    value: str | None, *, max_seconds: float, now: datetime | None = None
) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), clipped."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or utcnow())).total_seconds()
    return min(max(seconds, 0.0), float(max_seconds))


async def download(
    client: httpx.AsyncClient,
    url: str,
    *,
    settings: FetchSettings,
    headers: dict[str, str] | None = None,
    check_url: Callable[[str], Awaitable[None]] | None = None,
    sink: Callable[[bytes], None] | None = None,
) -> RawResponse:
    """GET `url`, following redirects; return a 2xx/304 response or raise `DownloadError`.

    `check_url` is awaited before each hop (robots.txt); it raises `DownloadError` to refuse.
    `sink`, if given, receives the decoded body chunk by chunk as it arrives (for parsing
    while streaming) and the response's `body` is empty.
    """
    hops: list[str] = []
    try:
        async with asyncio.timeout(settings.total_timeout_seconds):
            return await _follow(client, url, hops, settings, headers, check_url, sink)
    except (DownloadError, TimeoutError, httpx.HTTPError, httpx.InvalidURL) as exc:
        error = _as_download_error(exc, settings)
        error.final_url = hops[-1] if hops else url
        error.redirects = hops
        if error is exc:
            raise
        raise error from exc


async def _follow(
    client: httpx.AsyncClient,
    url: str,
    hops: list[str],
    settings: FetchSettings,
    headers: dict[str, str] | None,
    check_url: Callable[[str], Awaitable[None]] | None,
    sink: Callable[[bytes], None] | None = None,
) -> RawResponse:
    current = url
    while True:
        target = _checked_url(current)
        if check_url is not None:
            await check_url(current)
        request = client.build_request("GET", target, headers=headers)
        response = await client.send(request, stream=True)
        try:
            status = response.status_code
            location = response.headers.get("location")
            if status in REDIRECT_STATUSES and location:
                current = _next_hop(url, hops, str(target.join(location)), settings)
                continue
            if status >= 300 and status != 304:
                raise _status_error(response, settings)
            body = b"" if status == 304 else await read_body(response, settings, sink)
        finally:
            await response.aclose()
        return RawResponse(url, current, status, response.headers, body, list(hops))


def _checked_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise DownloadError(FetchError.INVALID_URL, f"{url!r}: {exc}") from exc
    if parsed.scheme not in ("http", "https"):
        shown = parsed.scheme or "no scheme"
        raise DownloadError(FetchError.INVALID_URL, f"only http(s) is fetched, not {shown}: {url}")
    if not parsed.host:
        raise DownloadError(FetchError.INVALID_URL, f"no host in {url!r}")
    return parsed


def _next_hop(start: str, hops: list[str], target: str, settings: FetchSettings) -> str:
    if target == start or target in hops:
        chain = " -> ".join([start, *hops, target])
        raise DownloadError(FetchError.REDIRECT_LOOP, f"redirect loop: {chain}")
    if len(hops) >= settings.max_redirects:
        raise DownloadError(
            FetchError.TOO_MANY_REDIRECTS,
            f"more than max_redirects={settings.max_redirects} redirects (next: {target})",
        )
    hops.append(target)
    return target


def _status_error(response: httpx.Response, settings: FetchSettings) -> DownloadError:
    status = response.status_code
    retry_after = parse_retry_after(
        response.headers.get("retry-after"), max_seconds=settings.max_retry_after_seconds
    )
    detail = f"HTTP {status} {response.reason_phrase}".strip()
    if status == 429 or (status == 503 and retry_after is not None):
        error = FetchError.RATE_LIMITED
    elif status == 408:
        error = FetchError.TIMEOUT
    elif status >= 500:
        error = FetchError.HTTP_SERVER_ERROR
    else:
        error = FetchError.HTTP_CLIENT_ERROR
        if status < 400:
            detail += " (a redirect without a Location header)"
    return DownloadError(error, detail, http_status=status, retry_after_seconds=retry_after)


def _as_download_error(exc: Exception, settings: FetchSettings) -> DownloadError:
    if isinstance(exc, DownloadError):
        return exc
    if isinstance(exc, TimeoutError):
        return DownloadError(
            FetchError.TIMEOUT,
            f"download took longer than total_timeout_seconds={settings.total_timeout_seconds}",
        )
    if isinstance(exc, httpx.ConnectTimeout):
        return DownloadError(
            FetchError.TIMEOUT,
            f"no connection within connect_timeout_seconds={settings.connect_timeout_seconds}",
            connect_failed=True,
        )
    if isinstance(exc, httpx.ReadTimeout):
        return DownloadError(
            FetchError.TIMEOUT,
            f"no data for read_timeout_seconds={settings.read_timeout_seconds}",
        )
    if isinstance(exc, httpx.TimeoutException):
        return DownloadError(FetchError.TIMEOUT, f"{type(exc).__name__}: {exc}".rstrip(": "))
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return DownloadError(FetchError.INVALID_URL, str(exc))
    return DownloadError(
        FetchError.CONNECTION_ERROR,
        f"{type(exc).__name__}: {exc}".rstrip(": "),
        connect_failed=isinstance(exc, httpx.ConnectError),
    )
