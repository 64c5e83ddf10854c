"""The guarded client against a real HTTP server on 127.0.0.1.

Addresses outside loopback are only ever handed to `LoopbackOnly`, the socket layer under
the guard in these tests: it records every connection attempt and refuses all but 127.x, so
even a broken guard could not send traffic anywhere else.
"""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import socket
import threading
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpcore
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipeline.config import FetchSettings, Settings
from pipeline.fetch.errors import DownloadError
from pipeline.fetch.guard import blocked_reason, parse_networks
from pipeline.fetch.http import RawResponse, download, make_client, parse_retry_after
from pipeline.records import FetchError


class LoopbackOnly(httpcore.AsyncNetworkBackend):
    """Records every connect the guard lets through; connects only to 127.x addresses."""

    def __init__(self) -> None:
        self.attempts: list[str] = []
        self._real = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.attempts.append(host)
        if not host.startswith("127."):
            raise httpcore.ConnectError(f"test backend refuses {host}")
        return await self._real.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )


def get(
    url: str, settings: FetchSettings, backend: LoopbackOnly | None = None, **kwargs: Any
) -> RawResponse | DownloadError:
    async def run() -> RawResponse | DownloadError:
        async with make_client(settings, network_backend=backend or LoopbackOnly()) as client:
            try:
                return await download(client, url, settings=settings, **kwargs)
            except DownloadError as exc:
                return exc

    return asyncio.run(run())


def failed(outcome: RawResponse | DownloadError) -> DownloadError:
    assert isinstance(outcome, DownloadError), f"expected a failure, got {outcome}"
    return outcome


def succeeded(outcome: RawResponse | DownloadError) -> RawResponse:
    assert isinstance(outcome, RawResponse), f"expected a response, got {outcome}"
    return outcome


@pytest.fixture
def fetch(settings: Settings) -> FetchSettings:
    return settings.fetch


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at teardown so slow handlers stop holding the (single-threaded) test server."""
    event = threading.Event()
    yield event
    event.set()


# --- SSRF guard ---------------------------------------------------------------------------


def test_loopback_name_is_refused_without_allow_list(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/").respond_with_data("hello")
    backend = LoopbackOnly()
    error = failed(
        get(httpserver.url_for("/"), fetch.model_copy(update={"allowed_networks": []}), backend)
    )
    assert httpserver.url_for("/").startswith("http://localhost:")
    assert error.error == FetchError.BLOCKED_ADDRESS
    assert "localhost resolves to 127.0.0.1" in error.detail and "loopback" in error.detail
    assert backend.attempts == []
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("url", "category"),
    [
        ("http://10.0.0.1/", "private"),
        ("http://192.168.1.1/admin", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]:8080/", "loopback"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://[2002:a00:1::]/", "6to4 for 10.0.0.1"),
        ("http://0.0.0.0:8080/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://100.64.0.1/", "not globally routable"),
        ("http://[fe80::1]/", "link-local"),
    ],
)
def test_blocked_literal_addresses_are_refused_before_connecting(
    url: str, category: str, fetch: FetchSettings
):
    backend = LoopbackOnly()
    error = failed(get(url, fetch, backend))
    assert error.error == FetchError.BLOCKED_ADDRESS
    assert category in error.detail
    assert "fetch.allowed_networks" in error.detail
    assert backend.attempts == []


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass_the_guard(address: str):
    assert blocked_reason(ipaddress.ip_address(address), ()) is None


def test_allow_list_admits_only_its_networks():
    allowed = parse_networks(["127.0.0.0/8"])
    assert blocked_reason(ipaddress.ip_address("127.0.0.1"), allowed) is None
    assert blocked_reason(ipaddress.ip_address("::ffff:127.0.0.1"), allowed) is None
    assert blocked_reason(ipaddress.ip_address("10.0.0.1"), allowed) == "private"


def test_allowed_loopback_is_fetched_with_user_agent(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/page", headers={"User-Agent": fetch.user_agent}).respond_with_data(
        "hello", content_type="text/plain"
    )
    response = succeeded(get(httpserver.url_for("/page"), fetch))
    assert response.status_code == 200
    assert response.body == b"hello"
    assert response.redirects == []


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/file", "file:///etc/passwd", "http:///nohost"])
def test_non_http_urls_are_invalid(url: str, fetch: FetchSettings):
    backend = LoopbackOnly()
    error = failed(get(url, fetch, backend))
    assert error.error == FetchError.INVALID_URL
    assert backend.attempts == []


def test_closed_port_is_a_connection_error(fetch: FetchSettings):
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = failed(get(f"http://127.0.0.1:{port}/", fetch))
    assert error.error == FetchError.CONNECTION_ERROR
    assert error.error.retryable


# --- redirects ----------------------------------------------------------------------------


def test_redirects_are_followed_and_listed(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/old").respond_with_data("", 301, headers={"Location": "/mid"})
    httpserver.expect_request("/mid").respond_with_data(
        "", 302, headers={"Location": httpserver.url_for("/new")}
    )
    httpserver.expect_request("/new").respond_with_data("moved here")
    response = succeeded(get(httpserver.url_for("/old"), fetch))
    assert response.body == b"moved here"
    assert response.redirects == [httpserver.url_for("/mid"), httpserver.url_for("/new")]
    assert response.final_url == httpserver.url_for("/new")


def test_redirect_loop(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/a").respond_with_data("", 302, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data("", 302, headers={"Location": "/a"})
    error = failed(get(httpserver.url_for("/a"), fetch))
    assert error.error == FetchError.REDIRECT_LOOP
    assert error.redirects == [httpserver.url_for("/b")]
    assert "/a -> " in error.detail


def test_too_many_redirects(httpserver: HTTPServer, fetch: FetchSettings):
    for i in range(10):
        httpserver.expect_request(f"/r{i}").respond_with_data(
            "", 307, headers={"Location": f"/r{i + 1}"}
        )
    error = failed(get(httpserver.url_for("/r0"), fetch.model_copy(update={"max_redirects": 3})))
    assert error.error == FetchError.TOO_MANY_REDIRECTS
    assert error.redirects == [httpserver.url_for(f"/r{i}") for i in (1, 2, 3)]
    assert len(httpserver.log) == 4


def test_redirect_to_blocked_address_is_refused(httpserver: HTTPServer, fetch: FetchSettings):
    metadata = "http://169.254.169.254/latest/meta-data/"
    httpserver.expect_request("/go").respond_with_data("", 302, headers={"Location": metadata})
    backend = LoopbackOnly()
    error = failed(get(httpserver.url_for("/go"), fetch, backend))
    assert error.error == FetchError.BLOCKED_ADDRESS
    assert error.final_url == metadata
    assert backend.attempts == ["127.0.0.1"]  # the first hop only


def test_redirect_without_location_is_an_error(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/odd").respond_with_data("", 302)
    error = failed(get(httpserver.url_for("/odd"), fetch))
    assert error.error == FetchError.HTTP_CLIENT_ERROR
    assert "Location" in error.detail


# --- statuses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (404, FetchError.HTTP_CLIENT_ERROR),
        (410, FetchError.HTTP_CLIENT_ERROR),
        (408, FetchError.TIMEOUT),
        (500, FetchError.HTTP_SERVER_ERROR),
        (503, FetchError.HTTP_SERVER_ERROR),
    ],
)
def test_error_statuses(
    status: int, expected: FetchError, httpserver: HTTPServer, fetch: FetchSettings
):
    httpserver.expect_request("/x").respond_with_data("nope", status)
    error = failed(get(httpserver.url_for("/x"), fetch))
    assert error.error == expected
    assert error.http_status == status
    assert error.detail.startswith(f"HTTP {status}")


def test_429_carries_retry_after_seconds(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/busy").respond_with_data("", 429, headers={"Retry-After": "120"})
    error = failed(get(httpserver.url_for("/busy"), fetch))
    assert error.error == FetchError.RATE_LIMITED
    assert error.retry_after_seconds == 120


def test_503_with_retry_after_is_rate_limited_and_clipped(
    httpserver: HTTPServer, fetch: FetchSettings
):
    httpserver.expect_request("/down").respond_with_data("", 503, headers={"Retry-After": "999999"})
    error = failed(
        get(httpserver.url_for("/down"), fetch.model_copy(update={"max_retry_after_seconds": 600}))
    )
    assert error.error == FetchError.RATE_LIMITED
    assert error.retry_after_seconds == 600


def test_retry_after_http_date():
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    date = "Wed, 01 May 2024 12:02:30 GMT"
    assert parse_retry_after(date, max_seconds=3600, now=now) == 150
    assert parse_retry_after(date, max_seconds=60, now=now) == 60
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", max_seconds=60, now=now) == 0
    assert parse_retry_after("soon", max_seconds=60, now=now) is None
    assert parse_retry_after(None, max_seconds=60, now=now) is None


def test_not_modified_is_a_response(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/c", headers={"If-None-Match": '"v1"'}).respond_with_data("", 304)
    response = succeeded(get(httpserver.url_for("/c"), fetch, headers={"If-None-Match": '"v1"'}))
    assert response.status_code == 304
    assert response.body == b""


# --- timeouts -----------------------------------------------------------------------------


def test_slow_response_times_out(
    httpserver: HTTPServer, fetch: FetchSettings, release: threading.Event
):
    def slow(request: Request) -> Response:
        release.wait(5)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    error = failed(
        get(httpserver.url_for("/slow"), fetch.model_copy(update={"read_timeout_seconds": 0.2}))
    )
    assert error.error == FetchError.TIMEOUT
    assert "read_timeout_seconds=0.2" in error.detail


def test_slow_drip_body_hits_total_timeout(
    httpserver: HTTPServer, fetch: FetchSettings, release: threading.Event
):
    def drip(request: Request) -> Response:
        def chunks() -> Iterator[bytes]:
            while not release.wait(0.05):  # a byte every 50 ms: no single read times out
                yield b"<"

        return Response(chunks(), content_type="text/html")

    httpserver.expect_request("/drip").respond_with_handler(drip)
    # Bytes keep arriving well within the read timeout; only the wall-clock cap can end it.
    settings = fetch.model_copy(update={"read_timeout_seconds": 0.3, "total_timeout_seconds": 0.8})
    error = failed(get(httpserver.url_for("/drip"), settings))
    assert error.error == FetchError.TIMEOUT
    assert "total_timeout_seconds=0.8" in error.detail


# --- size limits and decoding -------------------------------------------------------------


def test_content_length_over_the_cap_is_refused_before_reading(
    httpserver: HTTPServer, fetch: FetchSettings
):
    httpserver.expect_request("/big").respond_with_data(b"x" * 50_000)
    error = failed(
        get(httpserver.url_for("/big"), fetch.model_copy(update={"max_body_bytes": 10_000}))
    )
    assert error.error == FetchError.TOO_LARGE
    assert "Content-Length 50000" in error.detail


def test_streamed_body_over_the_cap_is_cut_off(httpserver: HTTPServer, fetch: FetchSettings):
    def endless(request: Request) -> Response:  # chunked, no Content-Length
        return Response((b"x" * 4096 for _ in range(100)), content_type="text/html")

    httpserver.expect_request("/stream").respond_with_handler(endless)
    error = failed(
        get(httpserver.url_for("/stream"), fetch.model_copy(update={"max_body_bytes": 10_000}))
    )
    assert error.error == FetchError.TOO_LARGE
    assert "max_body_bytes=10000" in error.detail


def test_gzip_bomb_is_stopped(httpserver: HTTPServer, fetch: FetchSettings):
    bomb = gzip.compress(b"\0" * 20_000_000)
    assert len(bomb) < 100_000  # small on the wire...
    httpserver.expect_request("/bomb").respond_with_data(
        bomb, headers={"Content-Encoding": "gzip"}, content_type="text/html"
    )
    settings = fetch.model_copy(update={"max_decompressed_bytes": 1_000_000})
    error = failed(get(httpserver.url_for("/bomb"), settings))  # ...huge once inflated
    assert error.error == FetchError.TOO_LARGE
    assert "max_decompressed_bytes=1000000" in error.detail


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send
    ],
)
def test_compressed_bodies_are_decoded(
    encoding: str, compress: Any, httpserver: HTTPServer, fetch: FetchSettings
):
    page = b"<html><body>" + b"news " * 1000 + b"</body></html>"
    httpserver.expect_request("/z").respond_with_data(
        compress(page), headers={"Content-Encoding": encoding}, content_type="text/html"
    )
    assert succeeded(get(httpserver.url_for("/z"), fetch)).body == page


def test_unsupported_content_encoding(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/br").respond_with_data(
        b"\x0b\x02", headers={"Content-Encoding": "br"}
    )
    error = failed(get(httpserver.url_for("/br"), fetch))
    assert error.error == FetchError.DECODE_ERROR
    assert "'br'" in error.detail
