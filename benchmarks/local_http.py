"""Serve prepared documents over real HTTP on loopback addresses, one address per site.

Each site gets its own address (127.0.0.x), so per-host politeness limits apply per site
as they would on the web. A fixed latency can be added to every answer (feeds benchmark).
ETag / If-None-Match is honoured, so a repeated poll gets `304 Not Modified`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any

from pipeline.demo.wire import QuietHTTPServer

Documents = Mapping[str, tuple[bytes, str]]  # path -> (body, content type)


class _Server(QuietHTTPServer):
    request_queue_size = 512

    def __init__(self, address: tuple[str, int], latency: float) -> None:
        super().__init__(address, _Handler)
        self.documents: dict[str, tuple[bytes, str]] = {}
        self.latency = latency


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.server.latency:
            time.sleep(self.server.latency)
        path = self.path.split("?", 1)[0]
        found = self.server.documents.get(path)
        if found is None:
            self._reply(404, b"not found", "text/plain", None)
            return
        body, content_type = found
        etag = f'"{hashlib.sha1(body).hexdigest()}"'
        if self.headers.get("If-None-Match") == etag:
            self._reply(304, b"", content_type, etag)
            return
        self._reply(200, body, content_type, etag)

    def _reply(self, status: int, body: bytes, content_type: str, etag: str | None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if etag:
            self.send_header("ETag", etag)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Sites:
    """One threaded HTTP server per site, on 127.0.0.{first_octet + i}.

    The addresses are bound on entry (`bases`), then `serve` gives each site its documents,
    which can name their own absolute URLs.
    """

    def __init__(self, count: int, *, latency: float = 0.0, first_octet: int = 20) -> None:
        self._count = count
        self._latency = latency
        self._first = first_octet
        self._servers: list[_Server] = []
        self.bases: list[str] = []

    def __enter__(self) -> Sites:
        for number in range(self._count):
            host = f"127.0.0.{self._first + number}"
            server = _Server((host, 0), self._latency)
            self._servers.append(server)
            self.bases.append(f"http://{host}:{server.server_address[1]}")
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def serve(self, number: int, documents: Documents) -> None:
        self._servers[number].documents = dict(documents)

    def __exit__(self, *exc_info: object) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
