"""Turns the sample newsroom's content into article pages and feed documents (Jinja2)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from pipeline.demo.content import NEWSROOM_DIR, ArticleSpec, FeedSpec, Outlet
from pipeline.extract.chinese_dates import BEIJING

# Zone names for the offsets the sample articles use; anything else is shown as UTC+hh:mm.
_ZONE_NAMES = {timedelta(0): "GMT", timedelta(hours=1): "BST", timedelta(hours=8): "HKT"}


@dataclass(frozen=True)
class FeedItem:
    title: str
    link: str | None
    guid: str
    guid_is_permalink: bool
    published: str
    summary: str
    author: str


def make_environment(directory: Path = NEWSROOM_DIR) -> Environment:
    """Page and feed templates; StrictUndefined so a template typo fails loudly in tests."""
    return Environment(
        loader=FileSystemLoader([directory / "templates", directory / "feeds"]),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def visible_date(moment: datetime) -> str:
    """A byline date as a reader sees it, e.g. 'Tuesday 21 July 2020 18:42 BST'."""
    offset = moment.utcoffset() or timedelta(0)
    zone = _ZONE_NAMES.get(offset)
    if zone is None:
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        zone = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return f"{moment:%A} {moment.day} {moment:%B %Y %H:%M} {zone}"


def comment_count(slug: str) -> int:
    """A stable, plausible-looking comment count per article."""
    return int(hashlib.sha256(slug.encode()).hexdigest()[:4], 16) % 400


def _json_ld(article: ArticleSpec, outlet: Outlet, url: str) -> Markup:
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title,
        "description": article.standfirst,
        "datePublished": article.published.isoformat(),
        "dateModified": (article.updated or article.published).isoformat(),
        "author": [{"@type": "Person", "name": article.author}],
        "publisher": {"@type": "Organization", "name": outlet.name},
        "articleSection": article.section,
        "mainEntityOfPage": url,
        "inLanguage": outlet.lang,
    }
    # "</" would end the <script> element early; JSON allows the escaped form.
    return Markup(json.dumps(data, ensure_ascii=False).replace("</", "<\\/"))


def render_article(
    env: Environment,
    outlet: Outlet,
    article: ArticleSpec,
    related: Iterable[ArticleSpec],
) -> str:
    """The full HTML page of one article in its outlet's template."""
    base = article.url[: article.url.index("/", len("http://"))]
    return env.get_template(f"{outlet.template}.html.j2").render(
        outlet=outlet,
        article=article,
        url=article.url,
        base=base,
        related=list(related),
        byline_date=visible_date(article.published),
        byline_updated=visible_date(article.updated) if article.updated else "",
        iso_published=article.published.isoformat(),
        iso_updated=article.updated.isoformat() if article.updated else "",
        comments=comment_count(article.slug),
        jsonld=_json_ld(article, outlet, article.url),
        # the Chinese template's "发布时间" stamp: Beijing time, no offset, as such sites print it
        beijing_stamp=f"{article.published.astimezone(BEIJING):%Y-%m-%d %H:%M}",
    )


def _feed_date(moment: datetime, style: str) -> str:
    if style == "rfc822":
        return format_datetime(moment)
    if style == "iso":
        return moment.isoformat()
    # "sloppy": what a hand-rolled CMS emits; feedparser cannot parse it.
    return f"{moment:%a} {moment.day} {moment:%B %Y} at {moment:%H.%M}"


def feed_items(
    spec: FeedSpec,
    articles: Iterable[ArticleSpec],
    resolve: Callable[[str], str],
) -> list[FeedItem]:
    """The feed's entries, newest first: its articles, then its extra (hostile/variant) entries.

    ``resolve`` turns an extra entry's ``article:``/``hostile:`` reference into an absolute URL.
    """
    chosen = sorted(
        (a for a in articles if spec.name in a.feeds), key=lambda a: a.published, reverse=True
    )
    items = [
        FeedItem(
            title=a.title,
            link=a.url,
            guid=a.url if spec.guid_style == "url" else f"tag:newswatch.demo,2020:{a.slug}",
            guid_is_permalink=spec.guid_style == "url",
            published=_feed_date(a.published, spec.date_style),
            summary=a.standfirst,
            author=a.author,
        )
        for a in chosen
    ]
    items.extend(
        FeedItem(
            title=extra.title,
            link=resolve(extra.link) if extra.link else None,
            guid=extra.guid,
            guid_is_permalink=False,
            published=extra.published,
            summary="",
            author="",
        )
        for extra in spec.extras
    )
    return items


def render_feed(env: Environment, spec: FeedSpec, self_url: str, items: list[FeedItem]) -> str:
    return env.get_template(spec.template).render(feed=spec, self_url=self_url, items=items)
