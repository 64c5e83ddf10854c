"""The SSRF guard: every TCP connection is vetted after DNS resolution and made to the
vetted address, so a DNS answer that changes between check and connect (rebinding)
cannot reach a private address. Networks in fetch.allowed_networks are let through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from typing import Any

import httpcore

from pipeline.fetch.errors import DownloadError
from pipeline.records import FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


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
