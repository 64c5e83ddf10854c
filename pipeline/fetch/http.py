"""The guarded HTTP client: the one way newswatch talks to the network.

Every TCP connection is vetted after DNS resolution (the SSRF guard) and made to the vetted
address, so a DNS answer that changes between check and connect (rebinding) cannot reach a
private address. Redirects are followed here hop by hop, bodies are streamed under size caps
(wire and decompressed), and every failure is a `DownloadError` carrying a `FetchError`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from pipeline.config import FetchSettings
from pipeline.records import FetchError, utcnow

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# We decode bodies ourselves (to bound decompression), so only offer what we can decode.
ACCEPT_ENCODING = "gzip, deflate"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class DownloadError(Exception):
    """A download that gave no usable response, with its typed reason.

    `final_url` and `redirects` are filled in by `download` with the hops taken so far.
    """

    def __init__(
        self,
        error: FetchError,
        detail: str,
        *,
        http_status: int | None = None,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(f"{error.value}: {detail}")
        self.error = error
        self.detail = detail
        self.http_status = http_status
        self.retry_after_seconds = retry_after_seconds
        self.final_url: str | None = None
        self.redirects: list[str] = []


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
        return self.headers.get("content-type")


# --- SSRF guard ---------------------------------------------------------------------------


def parse_networks(cidrs: Iterable[str]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def blocked_reason(address: IPAddress, allowed: Sequence[IPNetwork]) -> str | None:
    """Why the guard refuses `address` (e.g. 'private'), or None if it may be contacted."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:a.b.c.d reaches a.b.c.d: judge that
    if any(address in network for network in allowed):
        return None
    embedded = address.sixtofour if isinstance(address, ipaddress.IPv6Address) else None
    for candidate in (address, embedded):
        if candidate is None:
            continue
        for category, hit in (
            ("unspecified", candidate.is_unspecified),
            ("loopback", candidate.is_loopback),
            ("link-local", candidate.is_link_local),
            ("multicast", candidate.is_multicast),
            ("private", candidate.is_private),
            ("reserved", candidate.is_reserved),
            ("not globally routable", not candidate.is_global),
        ):
            if hit:
                return category if candidate is address else f"6to4 for {candidate}, {category}"
    return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves, vets and then connects to the vetted address.

    TLS still verifies the certificate against the URL's host name: httpcore passes the
    origin host as SNI/server_hostname to `start_tls`, independently of the address used here.
    """

    def __init__(
        self, allowed: Sequence[IPNetwork], inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._allowed = tuple(allowed)
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolve(host, port, timeout)
        for address in addresses:
            reason = blocked_reason(address, self._allowed)
            if reason is not None:
                shown = host if host == str(address) else f"{host} resolves to {address}, which"
                raise DownloadError(
                    FetchError.BLOCKED_ADDRESS,
                    f"refused: {shown} is {reason}; add its network to "
                    "fetch.allowed_networks to allow it",
                )
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:  # try the host's next address
                last_error = exc
        assert last_error is not None  # _resolve never returns an empty list
        raise last_error

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)

    async def _resolve(self, host: str, port: int, timeout: float | None) -> list[IPAddress]:
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass  # a name, not a literal
        try:
            async with asyncio.timeout(timeout):
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"DNS lookup of {host} timed out") from exc
        except socket.gaierror as exc:
            raise DownloadError(
                FetchError.DNS_ERROR, f"cannot resolve {host}: {exc.strerror}"
            ) from exc
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        if not addresses:
            raise DownloadError(FetchError.DNS_ERROR, f"{host} has no addresses")
        return list(dict.fromkeys(addresses))


def make_client(
    settings: FetchSettings, *, network_backend: httpcore.AsyncNetworkBackend | None = None
) -> httpx.AsyncClient:
    """The guarded client. `network_backend` replaces the socket layer under the guard."""
    guard = GuardedBackend(parse_networks(settings.allowed_networks), network_backend)
    # trust_env=False everywhere: an environment proxy would resolve and connect for us,
    # bypassing the guard.
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    # httpx has no public way to pass httpcore a network backend; give the transport a pool
    # built with ours (httpx is pinned <0.29 in pyproject.toml).
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
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


# --- politeness ---------------------------------------------------------------------------


@dataclass
class _Host:
    semaphore: asyncio.Semaphore
    next_start: float = 0.0


class Throttle:
    """Bounds requests in flight (overall and per host) and spaces out requests to one host."""

    def __init__(self, settings: FetchSettings) -> None:
        self._all = asyncio.Semaphore(settings.concurrency)
        self._per_host = settings.per_host_concurrency
        self._gap = settings.per_host_delay_seconds
        self._hosts: dict[str, _Host] = {}

    @asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        name = (urlsplit(url).hostname or "").lower()
        host = self._hosts.setdefault(name, _Host(asyncio.Semaphore(self._per_host)))
        async with host.semaphore:
            # Reserve a start time before awaiting, so concurrent callers queue up in order
            # (and do not hold a global slot while they wait for their turn).
            now = asyncio.get_running_loop().time()
            start = max(now, host.next_start)
            host.next_start = start + self._gap
            await asyncio.sleep(start - now)
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
            body = b"" if status == 304 else await _read_body(response, settings, sink)
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
    return DownloadError(FetchError.CONNECTION_ERROR, f"{type(exc).__name__}: {exc}".rstrip(": "))


async def _read_body(
    response: httpx.Response,
    settings: FetchSettings,
    sink: Callable[[bytes], None] | None = None,
) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.max_body_bytes:
        raise DownloadError(
            FetchError.TOO_LARGE,
            f"Content-Length {declared} exceeds max_body_bytes={settings.max_body_bytes}",
            http_status=response.status_code,
        )
    decoder = _Decoder(response.headers.get("content-encoding"), settings.max_decompressed_bytes)
    chunks: list[bytes] = []
    wire = 0
    async for raw in response.aiter_raw():
        wire += len(raw)
        if wire > settings.max_body_bytes:
            raise DownloadError(
                FetchError.TOO_LARGE,
                f"body exceeds max_body_bytes={settings.max_body_bytes} (stopped reading)",
                http_status=response.status_code,
            )
        chunks.append(decoder.feed(raw))
        if sink is not None:
            sink(b"".join(chunks))
            chunks.clear()
    chunks.append(decoder.flush())
    if sink is not None:
        sink(b"".join(chunks))
        return b""
    return b"".join(chunks)


class _Decoder:
    """Content-Encoding decoding that never inflates past `limit` bytes (zip bombs).

    zlib's `max_length` bounds each step's output, so memory stays bounded even when one
    small wire chunk would inflate to gigabytes.
    """

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise DownloadError(
                FetchError.DECODE_ERROR,
                f"unsupported Content-Encoding {content_encoding!r} (we ask for {ACCEPT_ENCODING})",
            )
        self._remaining = limit
        self._limit = limit
        # wbits | 32 accepts both gzip and zlib headers; raw deflate is tried on a header error.
        self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 32) if codings else None
        self._started = False

    def feed(self, data: bytes) -> bytes:
        if self._inflater is None:
            return self._count(data)
        try:
            # At most one byte past the cap: enough to tell that the cap was crossed.
            out = self._inflater.decompress(data, self._remaining + 1)
        except zlib.error as exc:
            if self._started:
                raise DownloadError(FetchError.DECODE_ERROR, f"bad compressed body: {exc}") from exc
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # deflate without zlib header
            self._started = True
            return self.feed(data)
        self._started = True
        return self._count(out)

    def flush(self) -> bytes:
        if self._inflater is None:
            return b""
        try:
            return self._count(self._inflater.flush())
        except zlib.error as exc:
            raise DownloadError(FetchError.DECODE_ERROR, f"bad compressed body: {exc}") from exc

    def _count(self, out: bytes) -> bytes:
        if len(out) > self._remaining:
            raise DownloadError(
                FetchError.TOO_LARGE,
                f"body exceeds max_decompressed_bytes={self._limit} once decompressed",
            )
        self._remaining -= len(out)
        return out
