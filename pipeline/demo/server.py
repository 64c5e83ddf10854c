"""The sample newsroom served over real HTTP on loopback, for ``newswatch demo`` and tests.

Each outlet gets its own ``ThreadingHTTPServer`` on its own loopback address (127.0.0.2,
127.0.0.3, …), so per-host limits and "also published by" behave as on the real web. One
more server on 127.0.0.1 serves the feeds and the hostile routes.

The hostile routes (``HOSTILE_EXPECT`` says what the pipeline should make of each) exist so
that the real fetch path meets redirect loops, errors, slow and oversized bodies, wrong
content types and charsets. For the ``slow`` route to time out, the demo's
``fetch.read_timeout_seconds`` must be below ``slow_seconds``.

Run ``python -m pipeline.demo.server`` to browse the newsroom by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import gzip
import hashlib
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeline.demo.content import (
    NEWSROOM_DIR,
    ArticleSpec,
    Outlet,
    load_articles,
    load_feeds,
    load_outlets,
)
from pipeline.demo.render import feed_items, make_environment, render_article, render_feed

FEED_HOST = "127.0.0.1"
# Never served: a link to it must be refused by the fetcher's SSRF guard before connecting.
PRIVATE_ADDRESS_URL = "http://10.23.45.67/news/story.html"
OVERSIZED_BYTES = 6 * 1024 * 1024  # above the default 5 MB fetch.max_body_bytes
ROBOTS_TXT = """# Sample newsroom robots.txt
User-agent: *
Disallow: /private/

User-agent: ExampleScraperBot
Disallow: /
"""

# Hostile route name -> the outcome the pipeline should record for a feed entry linking to it:
# a FetchError value, or the article status reached.
HOSTILE_EXPECT: dict[str, str] = {
    "redirect_loop": "redirect_loop",
    "not_found": "http_client_error",
    "server_error": "http_server_error",
    "slow": "timeout",
    "not_html": "not_html",
    "oversized": "too_large",  # declares its Content-Length
    "oversized_stream": "too_large",  # no Content-Length: only a streaming cap catches it
    "mislabelled_charset": "extracted",  # header says utf-8, body is windows-1252
    "paywall": "no_content",
    "private_address": "blocked_address",
    "robots_disallowed": "robots_disallowed",
}
_HOSTILE_PATHS = {
    "redirect_loop": "/hostile/loop-a",
    "not_found": "/hostile/missing-story.html",
    "server_error": "/hostile/server-error.html",
    "slow": "/hostile/slow-story.html",
    "not_html": "/hostile/briefing-paper",
    "oversized": "/hostile/oversized.html",
    "oversized_stream": "/hostile/oversized-stream.html",
    "mislabelled_charset": "/hostile/mislabelled-charset.html",
}
_HOSTILE_BY_PATH = {path: name for name, path in _HOSTILE_PATHS.items()}
_LOOP_TARGETS = {"/hostile/loop-a": "/hostile/loop-b", "/hostile/loop-b": "/hostile/loop-a"}
_PAYWALL_SLUG = "huawei-broadband-rollout-analysis"
_ROBOTS_OUTLET = "westminster-wire"
_ROBOTS_PATH = "/private/embargoed-briefing.html"


@dataclass(frozen=True)
class SeenRequest:
    method: str
    url: str  # absolute, with query string
    status: int
    conditional: bool  # carried If-None-Match or If-Modified-Since


class RequestLog:
    """Every request the newsroom answered, safe to read while servers are running."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[SeenRequest] = []

    def add(self, entry: SeenRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    @property
    def entries(self) -> list[SeenRequest]:
        with self._lock:
            return list(self._entries)

    def counts(self) -> Counter[str]:
        """Requests per absolute URL."""
        return Counter(entry.url for entry in self.entries)

    def count(self, url: str) -> int:
        return self.counts()[url]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass
class _Response:
    status: int
    content_type: str = "text/html; charset=utf-8"
    body: bytes | Iterator[bytes] = b""  # an iterator is streamed without Content-Length
    headers: dict[str, str] = field(default_factory=dict)
    compressible: bool = False  # may be gzipped when the client accepts it


@dataclass
class _Failure:
    remaining: int
    status: int
    retry_after: int | None


class _SiteServer(ThreadingHTTPServer):
    daemon_threads = True  # a hung client must not keep the process alive

    def __init__(self, address: tuple[str, int], newsroom: NewsroomServer, outlet: Outlet | None):
        self.newsroom = newsroom
        self.outlet = outlet  # None: the feeds-and-hostile-routes host
        super().__init__(address, _Handler)
        host, port = self.socket.getsockname()[:2]
        self.base_url = f"http://{host}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: _SiteServer
    protocol_version = "HTTP/1.1"  # keep-alive, as real sites do

    def do_GET(self) -> None:
        newsroom = self.server.newsroom
        url = self.server.base_url + self.path
        response = newsroom._respond(self.server.outlet, url, self.headers)
        conditional = "If-None-Match" in self.headers or "If-Modified-Since" in self.headers
        newsroom.requests_seen.add(SeenRequest("GET", url, response.status, conditional))
        try:
            self._send(response)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up, e.g. on hitting its size cap

    def _send(self, response: _Response) -> None:
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


class NewsroomServer:
    """The sample newsroom on loopback. Use as ``with NewsroomServer() as nr: ...``."""

    def __init__(
        self, slow_seconds: float = 3.0, port: int = 0, directory: Path = NEWSROOM_DIR
    ) -> None:
        """``port`` 0 picks ephemeral ports; a fixed port (the same on every loopback address)
        keeps article URLs, and so article ids, stable from one run to the next."""
        self.slow_seconds = slow_seconds
        self.port = port
        self.requests_seen = RequestLog()
        self._directory = directory
        self._outlets = load_outlets(directory)
        self._articles = load_articles(self._outlets, directory)
        self._feeds = load_feeds(directory)
        self._env = make_environment(directory)
        self._servers: list[_SiteServer] = []
        self._bases: dict[str | None, str] = {}  # outlet key (None: feed host) -> base URL
        self._by_path: dict[tuple[str, str], ArticleSpec] = {}
        self._failures: dict[tuple[str | None, str], _Failure] = {}
        self._failures_lock = threading.Lock()
        self._stopping = threading.Event()  # wakes the slow route on close()
        self._oversized: bytes | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> NewsroomServer:
        if self._servers:
            return self
        self._stopping.clear()
        self._bind(FEED_HOST, None)
        for outlet in self._outlets.values():
            self._bind(outlet.ip, outlet)
        for slug, article in self._articles.items():
            url = self._bases[article.outlet] + article.path
            self._articles[slug] = dataclasses.replace(article, url=url)
            self._by_path[(article.outlet, article.path)] = self._articles[slug]
        return self

    def _bind(self, ip: str, outlet: Outlet | None) -> None:
        try:
            server = _SiteServer((ip, self.port), self, outlet)
        except OSError as exc:
            if exc.errno != errno.EADDRNOTAVAIL:
                raise
            # Some systems (macOS) only configure 127.0.0.1; an ephemeral port of its own
            # still gives every outlet a distinct host:port.
            server = _SiteServer((FEED_HOST, 0), self, outlet)
        self._bases[outlet.key if outlet else None] = server.base_url
        self._servers.append(server)
        name = f"newsroom-{server.base_url}"
        threading.Thread(target=server.serve_forever, name=name, daemon=True).start()

    def close(self) -> None:
        self._stopping.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()

    def __enter__(self) -> NewsroomServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- what tests and the demo need to know --------------------------------------------

    def _require_running(self) -> None:
        if not self._servers:
            raise RuntimeError("NewsroomServer is not running; use start() or a with block")

    def _base(self, outlet_key: str | None) -> str:
        self._require_running()
        return self._bases[outlet_key]

    def feed_urls(self) -> dict[str, str]:
        """Feed name -> absolute feed URL."""
        base = self._base(None)
        return {name: f"{base}/feeds/{name}.xml" for name in self._feeds}

    def feed_perspectives(self) -> dict[str, str]:
        """Feed name -> its perspective (uk, china, international), for FeedConfig."""
        return {name: spec.perspective for name, spec in self._feeds.items()}

    def article_url(self, slug: str) -> str:
        article = self._articles[slug]
        return self._base(article.outlet) + article.path

    def manifest(self) -> list[ArticleSpec]:
        """Every sample article, with its absolute URL and expected labels."""
        self._require_running()
        return list(self._articles.values())

    def outlet_urls(self) -> dict[str, str]:
        """Outlet key -> base URL (``http://127.0.0.N:PORT``)."""
        return {key: self._base(key) for key in self._outlets}

    def hostile_urls(self) -> dict[str, str]:
        """Hostile route name (the keys of ``HOSTILE_EXPECT``) -> absolute URL."""
        base = self._base(None)
        urls = {name: base + path for name, path in _HOSTILE_PATHS.items()}
        urls["paywall"] = self.article_url(_PAYWALL_SLUG)
        urls["private_address"] = PRIVATE_ADDRESS_URL
        urls["robots_disallowed"] = self._base(_ROBOTS_OUTLET) + _ROBOTS_PATH
        return urls

    def fail_next(
        self, url_or_path: str, times: int = 1, status: int = 503, retry_after: int | None = None
    ) -> None:
        """Answer the next ``times`` requests for a URL (or a path, on any host) with ``status``.

        For retry tests: after the failures are used up the route behaves normally again.
        """
        parts = urlsplit(url_or_path)
        key = (parts.netloc or None, parts.path)
        with self._failures_lock:
            self._failures[key] = _Failure(times, status, retry_after)

    # -- request handling ----------------------------------------------------------------

    def _respond(self, outlet: Outlet | None, url: str, headers: Message) -> _Response:
        return self._injected_failure(url) or self._route(outlet, urlsplit(url).path, headers)

    def _injected_failure(self, url: str) -> _Response | None:
        parts = urlsplit(url)
        with self._failures_lock:
            for key in ((parts.netloc, parts.path), (None, parts.path)):
                failure = self._failures.get(key)
                if failure and failure.remaining > 0:
                    failure.remaining -= 1
                    headers = {}
                    if failure.retry_after is not None:
                        headers["Retry-After"] = str(failure.retry_after)
                    return _Response(
                        failure.status, body=_error_page(failure.status), headers=headers
                    )
        return None

    def _route(self, outlet: Outlet | None, path: str, headers: Message) -> _Response:
        if path == "/robots.txt":
            return _Response(200, "text/plain; charset=utf-8", ROBOTS_TXT.encode())
        if outlet is None:
            return self._route_feed_host(path, headers)
        if path.startswith("/private/"):
            return _Response(200, body=self._hostile_bytes("embargoed.html"))
        article = self._by_path.get((outlet.key, path))
        if article is None:
            return _Response(404, body=_error_page(404))
        related = [
            a for a in self._articles.values() if a.outlet == outlet.key and a is not article
        ]
        related.sort(key=lambda a: abs(a.published - article.published))
        page = render_article(self._env, outlet, article, related[:4]).encode(outlet.charset)
        # a legacy charset is declared only in the page's <meta>, as such sites often do
        content_type = "text/html; charset=utf-8" if outlet.charset == "utf-8" else "text/html"
        return _conditional(page, content_type, article.updated or article.published, headers)

    def _route_feed_host(self, path: str, headers: Message) -> _Response:
        name = path.removeprefix("/feeds/").removesuffix(".xml")
        if path.startswith("/feeds/") and name in self._feeds:
            return self._feed(name, headers)
        if path in _LOOP_TARGETS:
            target = self._base(None) + _LOOP_TARGETS[path]
            return _Response(302, headers={"Location": target}, body=b"")
        hostile = _HOSTILE_BY_PATH.get(path)
        if hostile == "server_error":
            return _Response(500, body=_error_page(500))
        if hostile == "slow":
            self._stopping.wait(self.slow_seconds)
            return _Response(200, body=self._hostile_bytes("slow.html"))
        if hostile == "not_html":
            return _Response(200, "application/pdf", self._hostile_bytes("briefing-paper.pdf"))
        if hostile == "oversized":
            return _Response(200, body=self._oversized_page())
        if hostile == "oversized_stream":
            page = self._oversized_page()
            return _Response(200, body=(page[i : i + 65536] for i in range(0, len(page), 65536)))
        if hostile == "mislabelled_charset":
            text = self._hostile_bytes("mislabelled-charset.html").decode("utf-8")
            # The lie under test: the header claims UTF-8, the bytes are windows-1252.
            return _Response(200, "text/html; charset=utf-8", text.encode("windows-1252"))
        return _Response(404, body=_error_page(404))

    def _feed(self, name: str, headers: Message) -> _Response:
        spec = self._feeds[name]
        self_url = f"{self._base(None)}/feeds/{name}.xml"
        articles = [a for a in self._articles.values() if name in a.feeds]
        items = feed_items(spec, articles, self._resolve)
        document = render_feed(self._env, spec, self_url, items).encode(spec.charset)
        newest = max((a.updated or a.published for a in articles), default=None)
        return _conditional(document, spec.content_type, newest, headers)

    def _resolve(self, reference: str) -> str:
        """'article:SLUG[?query][#fragment]' or 'hostile:NAME' -> absolute URL."""
        scheme, _, rest = reference.partition(":")
        if scheme == "hostile":
            return self.hostile_urls()[rest]
        if scheme == "article":
            cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
            return self.article_url(rest[:cut]) + rest[cut:]
        raise ValueError(f"bad feed link reference {reference!r}")

    def _hostile_bytes(self, name: str) -> bytes:
        return (self._directory / "hostile" / name).read_bytes()

    def _oversized_page(self) -> bytes:
        # Built once on first use: 6 MB is fine to hold, wasteful to rebuild per request.
        if self._oversized is None:
            paragraph = (
                b"<p>The committee noted the minutes of the previous meeting, agreed the "
                b"schedule of works for the coming quarter and deferred item fourteen.</p>\n"
            )
            head = b"<!DOCTYPE html><html lang='en'><head><title>Annual report</title></head><body>"
            repeats = OVERSIZED_BYTES // len(paragraph) + 1
            self._oversized = head + paragraph * repeats + b"</body></html>"
        return self._oversized


def _conditional(
    body: bytes, content_type: str, modified: datetime | None, headers: Message
) -> _Response:
    """200 with validators, or 304 when the client's copy is current."""
    etag = f'"{hashlib.sha256(body).hexdigest()[:20]}"'
    validators = {"ETag": etag}
    if modified is not None:
        validators["Last-Modified"] = format_datetime(modified.astimezone(UTC), usegmt=True)
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        if etag in tags or "*" in tags:
            return _Response(304, headers=validators)
    elif modified is not None and (since := headers.get("If-Modified-Since")):
        try:
            if modified.replace(microsecond=0) <= parsedate_to_datetime(since):
                return _Response(304, headers=validators)
        except (TypeError, ValueError):
            pass  # an unparseable date is ignored, as RFC 9110 says
    return _Response(200, content_type, body, validators, compressible=True)


def _error_page(status: int) -> bytes:
    return (
        f"<!DOCTYPE html><html lang='en'><head><title>Error {status}</title></head>"
        f"<body><h1>Error {status}</h1><p>Sorry, something went wrong.</p></body></html>"
    ).encode()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the newswatch sample newsroom on loopback.")
    parser.add_argument("--slow-seconds", type=float, default=3.0, help="delay of the slow route")
    parser.add_argument("--port", type=int, default=0, help="port on every address (0: ephemeral)")
    args = parser.parse_args(argv)
    with NewsroomServer(slow_seconds=args.slow_seconds, port=args.port) as newsroom:
        print("Feeds:")
        for name, url in newsroom.feed_urls().items():
            print(f"  {name:16} {url}")
        print("Outlets:")
        for key, url in newsroom.outlet_urls().items():
            print(f"  {key:20} {url}")
        print(f"{len(newsroom.manifest())} articles. Hostile routes:")
        for name, url in newsroom.hostile_urls().items():
            print(f"  {name:20} {url}")
        print("Serving until Ctrl-C.")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
