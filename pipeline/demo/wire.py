"""The newsroom's HTTP plumbing: one threaded server per host, the request log, and
responses with validators (ETag, Last-Modified) that answer conditional requests."""

from __future__ import annotations

import gzip
import hashlib
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pipeline.demo.content import Outlet


@dataclass(frozen=True)
class SeenRequest:
    method: str
    url: str  # absolute, with query string
    status: int
    conditional: bool  # carried If-None-Match or If-Modified-Since


class RequestLog:
    """Every request the newsroom received, safe to read while servers are running.

    A request is counted when it arrives and listed in ``entries`` once answered, so a
    request the client gave up on (the slow route) counts at once, not seconds later.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._arrived: Counter[str] = Counter()
        self._entries: list[SeenRequest] = []

    def arrive(self, url: str) -> None:
        with self._lock:
            self._arrived[url] += 1

    def add(self, entry: SeenRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    @property
    def entries(self) -> list[SeenRequest]:
        with self._lock:
            return list(self._entries)

    def counts(self) -> Counter[str]:
        """Requests received per absolute URL, answered or not."""
        with self._lock:
            return Counter(self._arrived)

    def count(self, url: str) -> int:
        return self.counts()[url]

    def clear(self) -> None:
        with self._lock:
            self._arrived.clear()
            self._entries.clear()


@dataclass
class Response:
    status: int
    content_type: str = "text/html; charset=utf-8"
    body: bytes | Iterator[bytes] = b""  # an iterator is streamed without Content-Length
    headers: dict[str, str] = field(default_factory=dict)
    compressible: bool = False  # may be gzipped when the client accepts it


# (outlet or None for the feed host, absolute URL, request headers) -> the response
Responder = Callable[[Outlet | None, str, Message], Response]


class QuietHTTPServer(ThreadingHTTPServer):
    """A threaded server for simulated sites (here and in the benchmarks) that takes a
    client dropping its connection in its stride."""

    daemon_threads = True  # a hung client must not keep the process alive

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client dropping a kept-alive connection (the fetcher on its size caps, a pooled
        # client when it closes) is normal for a news site; anything else is still printed.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class SiteServer(QuietHTTPServer):
    def __init__(
        self, address: tuple[str, int], respond: Responder, log: RequestLog, outlet: Outlet | None
    ) -> None:
        self.respond = respond
        self.log = log
        self.outlet = outlet  # None: the feeds-and-hostile-routes host
        super().__init__(address, _Handler)
        host, port = self.socket.getsockname()[:2]
        self.base_url = f"http://{host}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: SiteServer
    protocol_version = "HTTP/1.1"  # keep-alive, as real sites do

    def do_GET(self) -> None:
        url = self.server.base_url + self.path
        self.server.log.arrive(url)
        response = self.server.respond(self.server.outlet, url, self.headers)
        conditional = "If-None-Match" in self.headers or "If-Modified-Since" in self.headers
        self.server.log.add(SeenRequest("GET", url, response.status, conditional))
        try:
            self._send(response)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up, e.g. on hitting its size cap

    def _send(self, response: Response) -> None:
        body = response.body
        self.send_response(response.status)
        if response.status != 304:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if isinstance(body, bytes):
            accepts_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
            if response.compressible and accepts_gzip and body:
                body = gzip.compress(body)
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Vary", "Accept-Encoding")
            if response.status != 304:  # a 304 has no body and must not describe one
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            # Without a length the body ends when the connection closes.
            self.send_header("Connection", "close")
            self.close_connection = True
            self.end_headers()
            for chunk in body:
                self.wfile.write(chunk)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request log records what tests need, stderr noise helps nobody."""


def conditional(
    body: bytes, content_type: str, modified: datetime | None, headers: Message
) -> Response:
    """200 with validators, or 304 when the client's copy is current."""
    etag = f'"{hashlib.sha256(body).hexdigest()[:20]}"'
    validators = {"ETag": etag}
    if modified is not None:
        validators["Last-Modified"] = format_datetime(modified.astimezone(UTC), usegmt=True)
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        if etag in tags or "*" in tags:
            return Response(304, headers=validators)
    elif modified is not None and (since := headers.get("If-Modified-Since")):
        try:
            if modified.replace(microsecond=0) <= parsedate_to_datetime(since):
                return Response(304, headers=validators)
        except (TypeError, ValueError):
            pass  # an unparseable date is ignored, as RFC 9110 says
    return Response(200, content_type, body, validators, compressible=True)


def error_page(status: int) -> bytes:
    return (
        f"<!DOCTYPE html><html lang='en'><head><title>Error {status}</title></head>"
        f"<body><h1>Error {status}</h1><p>Sorry, something went wrong.</p></body></html>"
    ).encode()
