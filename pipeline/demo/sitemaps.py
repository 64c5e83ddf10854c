"""The sample newsroom's sitemaps: every outlet's tree, and the hostile parts of one of them.

Each outlet serves `/sitemap.xml`, an index of monthly sitemaps (`/sitemaps/YYYY-MM.xml`,
one per month with articles, feed and archive alike) and a news sitemap of its newest
articles with titles and publication dates. The showcase outlet (`SHOWCASE`) is harder: its
robots.txt names its index (`/sitemaps/index.xml`; it has no /sitemap.xml), one month is
gzipped, one is malformed part-way (entries before the break are readable), and an older
archive index points back at the root index (a loop), beside a 2019 month.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

from pipeline.demo.content import ArticleSpec, Outlet

SHOWCASE = "northgate-courier"
SHOWCASE_ROOT = "/sitemaps/index.xml"
GZIPPED_MONTH = "2020-11"
MALFORMED_MONTH = "2020-12"
ARCHIVE_INDEX = "/sitemaps/archive.xml"
ARCHIVE_BEFORE = "2020"  # months before this year are only in the archive index
NEWS_ARTICLES = 3
_XML = "application/xml; charset=utf-8"
_NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
_NEWS_NS = 'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'
_IMAGE_NS = 'xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"'


@dataclass(frozen=True)
class SitemapDocument:
    content_type: str
    body: bytes


def robots_sitemap_lines(outlet: Outlet | None, base: str) -> str:
    """The `Sitemap:` lines of an outlet's robots.txt (the showcase only)."""
    if outlet is not None and outlet.key == SHOWCASE:
        return f"\nSitemap: {base}{SHOWCASE_ROOT}\n"
    return ""


def root_path(outlet: Outlet) -> str:
    return SHOWCASE_ROOT if outlet.key == SHOWCASE else "/sitemap.xml"


def _month(article: ArticleSpec) -> str:
    return f"{article.published:%Y-%m}"


def _lastmod(article: ArticleSpec) -> datetime:
    return article.updated or article.published


def _month_path(outlet: Outlet, month: str) -> str:
    suffix = ".xml.gz" if outlet.key == SHOWCASE and month == GZIPPED_MONTH else ".xml"
    return f"/sitemaps/{month}{suffix}"


def _index(base: str, entries: Iterable[tuple[str, datetime | None]]) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f"<sitemapindex {_NS}>"]
    for path, lastmod in entries:
        lastmod_xml = f"<lastmod>{lastmod.isoformat()}</lastmod>" if lastmod else ""
        lines.append(f"  <sitemap><loc>{escape(base + path)}</loc>{lastmod_xml}</sitemap>")
    lines.append("</sitemapindex>")
    return "\n".join(lines).encode()


def _url(article: ArticleSpec, news: bool = False) -> str:
    parts = [
        f"<loc>{escape(article.url)}</loc>",
        f"<lastmod>{_lastmod(article).isoformat()}</lastmod>",
    ]
    # An image entry has a <loc> of its own, which must not be taken for the page's.
    parts.append(f"<image:image><image:loc>{escape(article.url)}.jpg</image:loc></image:image>")
    if news:
        parts.append(
            "<news:news><news:publication><news:name>sample</news:name>"
            "<news:language>en</news:language></news:publication>"
            f"<news:publication_date>{article.published.isoformat()}</news:publication_date>"
            f"<news:title>{escape(article.title)}</news:title></news:news>"
        )
    return f"  <url>{''.join(parts)}</url>"


def _urlset(articles: Iterable[ArticleSpec], *, news: bool = False, break_after: int = -1) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f"<urlset {_NS} {_NEWS_NS} {_IMAGE_NS}>"]
    for i, article in enumerate(articles):
        if i == break_after:
            # What a hand-rolled CMS emits: a raw ampersand, which ends the parse here.
            lines.append("  <url><loc>https://example.invalid/a&b</loc></url>")
        lines.append(_url(article, news))
    lines.append("</urlset>")
    return "\n".join(lines).encode()


class OutletSitemaps:
    """Answers one outlet's sitemap paths from its articles (with absolute URLs)."""

    def __init__(self, outlet: Outlet, base: str, articles: Iterable[ArticleSpec]) -> None:
        self.outlet = outlet
        self.base = base
        self.articles = sorted(
            (a for a in articles if a.outlet == outlet.key), key=lambda a: (a.published, a.slug)
        )
        self.months: dict[str, list[ArticleSpec]] = {}
        for article in self.articles:
            self.months.setdefault(_month(article), []).append(article)

    def paths(self) -> list[str]:
        """Every sitemap path the outlet serves (root first)."""
        paths = [root_path(self.outlet), "/sitemaps/news.xml"]
        paths += [_month_path(self.outlet, month) for month in self.months]
        if self.outlet.key == SHOWCASE:
            paths.append(ARCHIVE_INDEX)
        return paths

    def respond(self, path: str) -> SitemapDocument | None:
        showcase = self.outlet.key == SHOWCASE
        if path == root_path(self.outlet):
            return SitemapDocument(_XML, self._root())
        if path == "/sitemaps/news.xml":
            return SitemapDocument(_XML, _urlset(self.articles[-NEWS_ARTICLES:], news=True))
        if showcase and path == ARCHIVE_INDEX:
            old = [(m, a) for m, a in self.months.items() if m < ARCHIVE_BEFORE]
            # The loop: back to the root index.
            entries: list[tuple[str, datetime | None]] = [(SHOWCASE_ROOT, None)]
            entries += [(_month_path(self.outlet, m), max(map(_lastmod, a))) for m, a in old]
            return SitemapDocument(_XML, _index(self.base, entries))
        for month, articles in self.months.items():
            if path != _month_path(self.outlet, month):
                continue
            if path.endswith(".gz"):
                return SitemapDocument("application/x-gzip", gzip.compress(_urlset(articles)))
            broken = 1 if showcase and month == MALFORMED_MONTH else -1
            return SitemapDocument(_XML, _urlset(articles, break_after=broken))
        return None

    def _root(self) -> bytes:
        showcase = self.outlet.key == SHOWCASE
        entries: list[tuple[str, datetime | None]] = [
            (_month_path(self.outlet, month), max(map(_lastmod, articles)))
            for month, articles in self.months.items()
            if not (showcase and month < ARCHIVE_BEFORE)
        ]
        entries.append(("/sitemaps/news.xml", None))
        if showcase:
            entries.append((ARCHIVE_INDEX, None))
        return _index(self.base, entries)
