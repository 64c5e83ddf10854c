"""Reading sitemaps over the network: discovery from robots.txt, and streaming one file.

Every request goes through the guarded client (`pipeline.fetch.http`): the SSRF guard, the
size caps, robots.txt and a per-host gap. Backfill's settings are the fetch settings made
stricter (`backfill_fetch_settings`), so a backfill is never less polite than ingest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from pipeline.config import FetchSettings, Settings
from pipeline.feeds.sitemap_parse import SitemapEntry, SitemapKind, SitemapParser, SitemapRefused
from pipeline.fetch.errors import DownloadError
from pipeline.fetch.http import Throttle, download
from pipeline.fetch.robots import Robots

ACCEPT = "application/xml, text/xml;q=0.9, application/gzip;q=0.8, text/plain;q=0.5, */*;q=0.1"
Consumer = Callable[[list[SitemapEntry], list[SitemapEntry]], None]


def backfill_fetch_settings(settings: Settings, *, sitemaps: bool = False) -> FetchSettings:
    """Fetch settings for backfill requests: the larger of the two per-host gaps; for sitemap
    files, their own size cap and timeout."""
    update: dict[str, object] = {
        "per_host_delay_seconds": max(
            settings.fetch.per_host_delay_seconds, settings.backfill.per_host_delay_seconds
        )
    }
    if sitemaps:
        cap = settings.backfill.max_sitemap_bytes
        update |= {
            "max_body_bytes": cap,
            "max_decompressed_bytes": cap,
            "total_timeout_seconds": settings.backfill.sitemap_timeout_seconds,
        }
    return settings.fetch.model_copy(update=update)


def site_origin(url: str) -> str:
    """'https://www.example.org/news' → 'https://www.example.org'; ValueError if not a site."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"a site is an http(s) URL with a host, not {url!r}")
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclass(frozen=True)
class ReadOutcome:
    kind: SitemapKind | None
    error: str | None  # a download failure, a refusal, or where a malformed file stopped


class SitemapReader:
    """Reads sitemaps of any number of sites through one guarded client."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings) -> None:
        self._client = client
        self._fetch = backfill_fetch_settings(settings, sitemaps=True)
        self._max_bytes = settings.backfill.max_sitemap_bytes
        self._throttle = Throttle(self._fetch)
        self._robots = Robots(client, self._fetch, self._throttle)  # its Crawl-delay counts too

    async def roots(self, site: str) -> list[str]:
        """The site's root sitemaps: robots.txt's `Sitemap:` lines, else /sitemap.xml.

        Raises `DownloadError` when robots.txt cannot be read (the site then counts as
        disallowed, RFC 9309) or the site's host is refused.
        """
        origin = site_origin(site)
        async with self._throttle.slot(origin):
            declared = await self._robots.sitemaps(origin + "/robots.txt")
        return list(dict.fromkeys(declared)) or [origin + "/sitemap.xml"]

    async def read(self, url: str, consume: Consumer) -> ReadOutcome:
        """Stream one sitemap file, handing its entries to `consume` as they are parsed."""
        parser = SitemapParser(self._max_bytes)

        def sink(chunk: bytes) -> None:
            parser.feed(chunk)
            pages, children = parser.take()
            if pages or children:
                consume(pages, children)

        check = self._robots.require_allowed if self._fetch.respect_robots else None
        try:
            async with self._throttle.slot(url):
                await download(
                    self._client,
                    url,
                    settings=self._fetch,
                    headers={"Accept": ACCEPT},
                    check_url=check,
                    sink=sink,
                )
            parser.close()
        except DownloadError as exc:
            return ReadOutcome(parser.kind, f"{exc.error.value}: {exc.detail}")
        except SitemapRefused as exc:
            return ReadOutcome(None, str(exc))
        pages, children = parser.take()
        if pages or children:
            consume(pages, children)
        return ReadOutcome(parser.kind, parser.error)
