"""Streaming sitemap parsing: XML sitemaps, sitemap indexes, news sitemaps and text sitemaps.

The parser is fed the body chunk by chunk as it downloads and hands back each entry as soon
as its element closes, so a 50 MB sitemap never sits in memory whole. It is expat (C, fast)
with the defences of defusedxml: a DOCTYPE or entity declaration is refused outright
(sitemaps never need one; they enable billion-laughs and external-entity attacks). A
malformed document keeps every entry read before the error. Gzipped files (`.xml.gz`, served
as application/gzip rather than with Content-Encoding) are inflated here, under a cap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from xml.parsers import expat

from pipeline.fetch.body import BodyDecoder
from pipeline.fetch.errors import DownloadError

GZIP_MAGIC = b"\x1f\x8b"
SitemapKind = Literal["index", "urlset", "text"]
_W3C_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2}))?$")  # "2020" or "2020-07" (W3C datetime)


class SitemapRefused(ValueError):
    """A document that is not read as a sitemap (entity declarations, HTML, another root)."""


@dataclass(frozen=True, slots=True)
class SitemapEntry:
    """A `<url>` (a page) or a `<sitemap>` (a child of an index), or a line of a text sitemap."""

    loc: str
    lastmod: datetime | None = None
    title: str | None = None  # news:title
    published: datetime | None = None  # news:publication_date


def parse_w3c_datetime(value: str | None) -> datetime | None:
    """A W3C datetime (YYYY, YYYY-MM, YYYY-MM-DD, or full with offset) as aware UTC."""
    if not value:
        return None
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        partial = _W3C_PARTIAL.match(value)
        try:
            return (
                datetime(int(partial[1]), int(partial[2] or 1), 1, tzinfo=UTC) if partial else None
            )
        except ValueError:  # month 13
            return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _local(name: str) -> str:
    return name.rpartition(" ")[2]  # expat gives "namespace-uri local-name"


class SitemapParser:
    """Incremental parser of one sitemap file. Feed bytes; collect entries as they complete.

    `kind` is known once the root element (or the first text line) has been read; `pages` and
    `children` fill up as entries close and are emptied by `take()`.
    """

    def __init__(self, max_bytes: int) -> None:
        self.kind: SitemapKind | None = None
        self.error: str | None = None  # malformed: where parsing stopped
        self.pages: list[SitemapEntry] = []
        self.children: list[SitemapEntry] = []
        self._max_bytes = max_bytes
        self._gunzip: BodyDecoder | None = None
        self._sniffed = False  # gzip or not
        self._format_known = False  # XML or text
        self._text_rest = b""
        self._stack: list[str] = []
        self._fields: dict[str, str] = {}
        self._chars: list[str] = []
        self._xml = expat.ParserCreate(namespace_separator=" ")
        self._xml.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self._xml.StartDoctypeDeclHandler = self._refuse_doctype
        self._xml.EntityDeclHandler = self._refuse_entity
        self._xml.StartElementHandler = self._start
        self._xml.EndElementHandler = self._end
        self._xml.CharacterDataHandler = self._chars.append
        self._xml.buffer_text = True

    def take(self) -> tuple[list[SitemapEntry], list[SitemapEntry]]:
        """The pages and child sitemaps completed since the last call."""
        pages, children = self.pages, self.children
        self.pages, self.children = [], []
        return pages, children

    def feed(self, data: bytes) -> None:
        if not self._sniffed and data:
            self._sniffed = True
            if data.startswith(GZIP_MAGIC):
                self._gunzip = BodyDecoder("gzip", self._max_bytes)
        if self._gunzip is not None:
            data = self._gunzip.feed(data)
        self._parse(data, final=False)

    def close(self) -> None:
        if self._gunzip is not None:
            try:
                self._parse(self._gunzip.flush(), final=False)
            except DownloadError as exc:
                self.error = self.error or f"bad gzip data: {exc.detail}"
        self._parse(b"", final=True)

    def _parse(self, data: bytes, *, final: bool) -> None:
        if self.error is not None:
            return  # stopped at a malformation: what was read before it stands
        if not self._format_known:
            head = data.lstrip()
            if not head:
                if final:
                    self.error = "empty document"
                return  # the format shows in the first non-blank byte
            self._format_known = True
            if head and not head.startswith((b"<", b"\xef\xbb\xbf<")):
                self.kind = "text"
        if self.kind == "text":
            self._parse_text(data, final=final)
            return
        try:
            self._xml.Parse(data, final)
        except expat.ExpatError as exc:
            self.error = f"malformed XML: {expat.ErrorString(exc.code)} at line {exc.lineno}"

    def _parse_text(self, data: bytes, *, final: bool) -> None:
        lines = (self._text_rest + data).split(b"\n")
        self._text_rest = b"" if final else lines.pop()
        for raw in lines:
            line = raw.strip().decode("utf-8", "replace")
            if line.startswith(("http://", "https://")):
                self.pages.append(SitemapEntry(line))

    # -- expat handlers ------------------------------------------------------------------

    def _refuse_doctype(self, *_args: object) -> None:
        raise SitemapRefused(
            "refused: the document has a DOCTYPE; sitemaps need none, and DTDs enable "
            "entity-expansion and external-entity attacks"
        )

    def _refuse_entity(self, *_args: object) -> None:
        raise SitemapRefused("refused: the document declares XML entities (<!ENTITY>)")

    def _start(self, name: str, _attrs: dict[str, str]) -> None:
        local = _local(name)
        if not self._stack:
            if local == "urlset":
                self.kind = "urlset"
            elif local == "sitemapindex":
                self.kind = "index"
            elif local == "html":
                raise SitemapRefused("not a sitemap: got an HTML page")
            else:
                raise SitemapRefused(f"not a sitemap: the root element is <{local}>")
        elif local in ("url", "sitemap") and len(self._stack) == 1:
            self._fields = {}
        self._stack.append(local)
        self._chars.clear()

    def _end(self, name: str) -> None:
        local = self._stack.pop()
        depth = len(self._stack)
        if depth == 2 or (depth == 3 and self._stack[2] == "news"):
            # url/loc, url/lastmod, url/news/title, url/news/publication_date (not image:loc)
            key = local if depth == 2 else f"news:{local}"
            self._fields.setdefault(key, "".join(self._chars).strip())
        elif depth == 1 and local in ("url", "sitemap"):
            self._entry(local)
        self._chars.clear()

    def _entry(self, element: str) -> None:
        loc = self._fields.get("loc")
        if not loc:
            return
        entry = SitemapEntry(
            loc=loc,
            lastmod=parse_w3c_datetime(self._fields.get("lastmod")),
            title=self._fields.get("news:title") or None,
            published=parse_w3c_datetime(self._fields.get("news:publication_date")),
        )
        (self.children if element == "sitemap" else self.pages).append(entry)
