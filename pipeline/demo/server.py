"""The sample newsroom served over real HTTP on loopback, for ``newswatch demo`` and tests.

Each outlet gets its own server (wire.py) on its own loopback address (127.0.0.2,
127.0.0.3, …), so per-host limits and "also published by" behave as on the real web. One
more server on 127.0.0.1 serves the feeds and the hostile routes (hostile.py).

Run ``python -m pipeline.demo.server`` to browse the newsroom by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import threading
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.demo.content import (
    NEWSROOM_DIR,
    ArticleSpec,
    Outlet,
    load_articles,
    load_feeds,
    load_outlets,
)
from pipeline.demo.hostile import PAYWALL_SLUG, ROBOTS_OUTLET, ROBOTS_TXT, HostileRoutes
from pipeline.demo.render import feed_items, make_environment, render_article, render_feed
from pipeline.demo.sitemaps import OutletSitemaps, robots_sitemap_lines
from pipeline.demo.wire import RequestLog, Response, SiteServer, conditional, error_page

FEED_HOST = "127.0.0.1"


@dataclass
class _Failure:
    remaining: int
    status: int
    retry_after: int | None


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
        self._archive = load_articles(self._outlets, directory, "archive")  # sitemaps only
        self._sitemaps: dict[str, OutletSitemaps] = {}
        self._feeds = load_feeds(directory)
        self._env = make_environment(directory)
        self._servers: list[SiteServer] = []
        self._bases: dict[str | None, str] = {}  # outlet key (None: feed host) -> base URL
        self._by_path: dict[tuple[str, str], ArticleSpec] = {}
        self._failures: dict[tuple[str | None, str], _Failure] = {}
        self._failures_lock = threading.Lock()
        self._stopping = threading.Event()  # wakes the slow route on close()
        self._hostile = HostileRoutes(directory, slow_seconds, self._stopping)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> NewsroomServer:
        if self._servers:
            return self
        self._stopping.clear()
        self._bind(FEED_HOST, None)
        for outlet in self._outlets.values():
            self._bind(outlet.ip, outlet)
        for collection in (self._articles, self._archive):
            for slug, article in collection.items():
                url = self._bases[article.outlet] + article.path
                collection[slug] = dataclasses.replace(article, url=url)
                self._by_path[(article.outlet, article.path)] = collection[slug]
        every = [*self._articles.values(), *self._archive.values()]
        for key, outlet in self._outlets.items():
            self._sitemaps[key] = OutletSitemaps(outlet, self._bases[key], every)
        return self

    def _bind(self, ip: str, outlet: Outlet | None) -> None:
        try:
            server = SiteServer((ip, self.port), self._respond, self.requests_seen, outlet)
        except OSError as exc:
            if exc.errno != errno.EADDRNOTAVAIL:
                raise
            # Some systems (macOS) only configure 127.0.0.1; an ephemeral port of its own
            # still gives every outlet a distinct host:port.
            server = SiteServer((FEED_HOST, 0), self._respond, self.requests_seen, outlet)
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

    def feed_configs(self) -> list[dict[str, str]]:
        """The feeds as FeedConfig values: name, absolute URL and perspective."""
        return [
            {"name": name, "url": url, "perspective": self._feeds[name].perspective}
            for name, url in self.feed_urls().items()
        ]

    def article_url(self, slug: str) -> str:
        article = self._articles.get(slug) or self._archive[slug]
        return self._base(article.outlet) + article.path

    def archive_manifest(self) -> list[ArticleSpec]:
        """The articles in no feed, found only through the outlets' sitemaps."""
        self._require_running()
        return list(self._archive.values())

    def sitemaps(self) -> dict[str, OutletSitemaps]:
        """Outlet key -> its sitemap tree (paths and documents; see pipeline.demo.sitemaps)."""
        self._require_running()
        return self._sitemaps

    def manifest(self) -> list[ArticleSpec]:
        """Every sample article, with its absolute URL and expected labels."""
        self._require_running()
        return list(self._articles.values())

    def outlet_urls(self) -> dict[str, str]:
        """Outlet key -> base URL (``http://127.0.0.N:PORT``)."""
        return {key: self._base(key) for key in self._outlets}

    def hostile_urls(self) -> dict[str, str]:
        """Hostile route name (the keys of ``HOSTILE_EXPECT``) -> absolute URL."""
        paywall = self.article_url(PAYWALL_SLUG)
        return self._hostile.urls(self._base(None), paywall, self._base(ROBOTS_OUTLET))

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

    def _respond(self, outlet: Outlet | None, url: str, headers: Message) -> Response:
        return self._injected_failure(url) or self._route(outlet, urlsplit(url).path, headers)

    def _injected_failure(self, url: str) -> Response | None:
        parts = urlsplit(url)
        with self._failures_lock:
            for key in ((parts.netloc, parts.path), (None, parts.path)):
                failure = self._failures.get(key)
                if failure and failure.remaining > 0:
                    failure.remaining -= 1
                    headers = {}
                    if failure.retry_after is not None:
                        headers["Retry-After"] = str(failure.retry_after)
                    return Response(
                        failure.status, body=error_page(failure.status), headers=headers
                    )
        return None

    def _route(self, outlet: Outlet | None, path: str, headers: Message) -> Response:
        if path == "/robots.txt":
            base = self._base(outlet.key if outlet else None)
            robots = ROBOTS_TXT + robots_sitemap_lines(outlet, base)
            return Response(200, "text/plain; charset=utf-8", robots.encode())
        if outlet is None:
            return self._route_feed_host(path, headers)
        sitemap = self._sitemaps[outlet.key].respond(path)
        if sitemap is not None:
            return Response(200, sitemap.content_type, sitemap.body, compressible=True)
        if path.startswith("/private/"):
            return self._hostile.embargoed()
        article = self._by_path.get((outlet.key, path))
        if article is None:
            return Response(404, body=error_page(404))
        related = [
            a for a in self._articles.values() if a.outlet == outlet.key and a is not article
        ]
        related.sort(key=lambda a: abs(a.published - article.published))
        page = render_article(self._env, outlet, article, related[:4]).encode(outlet.charset)
        # a legacy charset is declared only in the page's <meta>, as such sites often do
        content_type = "text/html; charset=utf-8" if outlet.charset == "utf-8" else "text/html"
        return conditional(page, content_type, article.updated or article.published, headers)

    def _route_feed_host(self, path: str, headers: Message) -> Response:
        name = path.removeprefix("/feeds/").removesuffix(".xml")
        if path.startswith("/feeds/") and name in self._feeds:
            return self._feed(name, headers)
        return self._hostile.respond(path, self._base(None)) or Response(404, body=error_page(404))

    def _feed(self, name: str, headers: Message) -> Response:
        spec = self._feeds[name]
        self_url = f"{self._base(None)}/feeds/{name}.xml"
        articles = [a for a in self._articles.values() if name in a.feeds]
        items = feed_items(spec, articles, self._resolve)
        document = render_feed(self._env, spec, self_url, items).encode(spec.charset)
        newest = max((a.updated or a.published for a in articles), default=None)
        return conditional(document, spec.content_type, newest, headers)

    def _resolve(self, reference: str) -> str:
        """'article:SLUG[?query][#fragment]' or 'hostile:NAME' -> absolute URL."""
        scheme, _, rest = reference.partition(":")
        if scheme == "hostile":
            return self.hostile_urls()[rest]
        if scheme == "article":
            cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
            return self.article_url(rest[:cut]) + rest[cut:]
        raise ValueError(f"bad feed link reference {reference!r}")


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
