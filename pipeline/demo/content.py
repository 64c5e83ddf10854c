"""The sample newsroom's content: outlets, articles and feed definitions, read from package data.

Articles are text files with a small ``key: value`` header, a ``---`` line, then the body.
Body blocks are separated by blank lines; ``## `` starts a subheading and ``!caption `` a
picture caption. The header carries the labels tests check the pipeline against
(``kind``, ``threads``, ``copy_of``); ``newsroom/README.md`` explains them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pipeline.extract.extractor import count_words

NEWSROOM_DIR = Path(__file__).parent / "newsroom"

# other_language: a report in Chinese whose relation (header `relation`) needs a
# multilingual model; the English-only classifier is not expected to reach it.
KINDS = ("seed_copy", "seed_edited", "follow_up", "unrelated", "stub", "other_language")
RELATIONS = ("duplicate", "follow_up", "unrelated")
THREADS = ("huawei-5g", "hong-kong", "xinjiang", "nuclear", "sanctions-trade", "five-eyes-security")
# copy_of value naming the built-in seed article rather than another sample article.
SEED = "seed"

BlockKind = Literal["p", "h2", "caption"]


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    text: str


@dataclass(frozen=True)
class Outlet:
    key: str
    name: str
    ip: str  # each outlet has its own loopback address, so hosts differ as on the real web
    template: str
    lang: str
    path_pattern: str  # str.format pattern: {section} {yyyy} {mm} {dd} {slug}
    tagline: str
    sections: tuple[str, ...]
    charset: str = "utf-8"  # pages are encoded in it (the Chinese outlet: gb18030)


@dataclass(frozen=True)
class ArticleSpec:
    """One sample article with the outcome the pipeline is expected to reach for it."""

    slug: str
    outlet: str
    title: str
    author: str
    published: datetime
    updated: datetime | None
    section: str
    standfirst: str
    feeds: tuple[str, ...]
    kind: str
    threads: tuple[str, ...]
    copy_of: str | None
    blocks: tuple[Block, ...]
    path: str
    url: str = ""  # absolute; filled in by the server once ports are known
    language: str = "en"
    relation: str | None = None  # other_language only: the relation a reader would give

    @property
    def text(self) -> str:
        """The body as plain text, one block per line."""
        return "\n".join(block.text for block in self.blocks)

    @property
    def word_count(self) -> int:
        return count_words(self.text)


@dataclass(frozen=True)
class FeedExtra:
    """A feed entry that is not one of the articles: hostile links, URL variants, no link."""

    guid: str
    title: str
    published: str  # written into the feed as-is, so the malformed feed can carry bad dates
    link: str | None  # "article:SLUG[suffix]", "hostile:NAME", or None for a linkless entry


@dataclass(frozen=True)
class FeedSpec:
    name: str
    template: str
    content_type: str
    title: str
    description: str
    date_style: Literal["rfc822", "iso", "sloppy"]  # sloppy: unparseable, for the malformed feed
    guid_style: Literal["url", "tag"]  # url: the link doubles as a permalink guid
    extras: tuple[FeedExtra, ...] = field(default=())
    charset: str = "utf-8"  # the document is encoded in it
    perspective: Literal["uk", "china", "international"] = "international"


def load_outlets(directory: Path = NEWSROOM_DIR) -> dict[str, Outlet]:
    raw = json.loads((directory / "outlets.json").read_text(encoding="utf-8"))
    outlets: dict[str, Outlet] = {}
    for item in raw:
        item["sections"] = tuple(item["sections"])
        outlets[item["key"]] = Outlet(**item)
    return outlets


def load_feeds(directory: Path = NEWSROOM_DIR) -> dict[str, FeedSpec]:
    raw: dict[str, dict[str, Any]] = json.loads(
        (directory / "feeds" / "feeds.json").read_text(encoding="utf-8")
    )
    feeds: dict[str, FeedSpec] = {}
    for name, item in raw.items():
        extras = tuple(FeedExtra(**extra) for extra in item.pop("extras", []))
        feeds[name] = FeedSpec(name=name, extras=extras, **item)
    return feeds


def parse_article(text: str, outlets: dict[str, Outlet]) -> ArticleSpec:
    """Parse one article file; raises ValueError on anything a test would trip over later."""
    header, sep, body = text.partition("\n---\n")
    if not sep:
        raise ValueError("missing '---' line between header and body")
    meta: dict[str, str] = {}
    for line in header.strip().splitlines():
        key, colon, value = line.partition(":")
        if not colon:
            raise ValueError(f"header line without ':': {line!r}")
        meta[key.strip()] = value.strip()

    def listed(key: str) -> tuple[str, ...]:
        return tuple(v.strip() for v in meta.get(key, "").split(",") if v.strip())

    outlet = outlets.get(meta["outlet"])
    if outlet is None:
        raise ValueError(f"unknown outlet {meta['outlet']!r}")
    kind = meta["kind"]
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    relation = meta.get("relation") or None
    if (kind == "other_language") != (relation is not None) or relation not in (None, *RELATIONS):
        raise ValueError(f"relation {relation!r}: other_language only, one of {RELATIONS}")
    threads = listed("threads")
    unknown = set(threads) - set(THREADS)
    if unknown:
        raise ValueError(f"unknown threads {sorted(unknown)}")
    published = datetime.fromisoformat(meta["published"])
    if published.tzinfo is None:
        raise ValueError("published must carry a UTC offset")
    updated = datetime.fromisoformat(meta["updated"]) if meta.get("updated") else None
    slug, section = meta["slug"], meta["section"]
    path = outlet.path_pattern.format(
        section=section.lower().replace(" ", "-"),
        yyyy=f"{published.year:04d}",
        mm=f"{published.month:02d}",
        dd=f"{published.day:02d}",
        slug=slug,
    )
    return ArticleSpec(
        slug=slug,
        outlet=outlet.key,
        title=meta["title"],
        author=meta["author"],
        published=published,
        updated=updated,
        section=section,
        standfirst=meta.get("standfirst", ""),
        feeds=listed("feeds"),
        kind=kind,
        threads=threads,
        copy_of=meta.get("copy_of") or None,
        blocks=_parse_blocks(body),
        path=path,
        language=meta.get("language", "en"),
        relation=relation,
    )


def _parse_blocks(body: str) -> tuple[Block, ...]:
    blocks: list[Block] = []
    for chunk in body.strip().split("\n\n"):
        text = " ".join(chunk.split())
        if not text:
            continue
        if text.startswith("## "):
            blocks.append(Block("h2", text[3:]))
        elif text.startswith("!caption "):
            blocks.append(Block("caption", text[9:]))
        else:
            blocks.append(Block("p", text))
    return tuple(blocks)


def load_articles(
    outlets: dict[str, Outlet], directory: Path = NEWSROOM_DIR, folder: str = "articles"
) -> dict[str, ArticleSpec]:
    """All articles by slug, in file-name order. `folder` "archive" holds the articles that
    are in no feed, only in the outlets' sitemaps (found by a backfill)."""
    articles: dict[str, ArticleSpec] = {}
    for file in sorted((directory / folder).glob("*.txt")):
        try:
            article = parse_article(file.read_text(encoding="utf-8"), outlets)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{file.name}: {exc}") from exc
        if article.slug in articles:
            raise ValueError(f"{file.name}: duplicate slug {article.slug!r}")
        articles[article.slug] = article
    return articles
