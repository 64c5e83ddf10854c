"""A synthetic newsroom for the speed benchmarks: article pages with realistic site chrome.

Every word comes from small word lists written for the project (fictional outlets here,
towns, people and topics in ``benchmarks/corpus_prose.py``), drawn with a fixed random
seed, so the corpus is the same on every machine. A known share of the pages are
syndicated near-copies of an earlier story on another outlet (a new first sentence, a
credit line, different chrome), so dedup has work to do. Each outlet's chrome
(navigation, breaking-news ticker, share bar, related and most-read lists, newsletter
box, cookie banner, inline scripts and styles, JSON-LD, a long footer) differs in markup
and size, as real sites do.
"""

from __future__ import annotations

import html
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from benchmarks.corpus_prose import PHRASES, SECTIONS, TOPICS, TOWNS, person, sentence

OUTLETS = (
    "The Calder Courier",
    "Ravensmoor Herald",
    "Eastgate Daily",
    "The Lantern Post",
    "Northfield Wire",
    "Saltmarsh Gazette",
    "The Tidewater Times",
    "Highmoor Ledger",
    "Kestrel News",
    "The Weir Examiner",
)


@dataclass(frozen=True)
class Page:
    outlet: int  # index into OUTLETS
    slug: str
    title: str
    author: str
    published: datetime
    section: str
    paragraphs: tuple[str, ...]
    copy_of: str | None  # slug of the original when this is a syndicated near-copy

    @property
    def words(self) -> int:
        return sum(len(p.split()) for p in self.paragraphs)


def _fresh(rng: random.Random, outlet: int, number: int, start: datetime) -> Page:
    topic = rng.choice(TOPICS)
    town = rng.choice(TOWNS)
    paragraphs = tuple(
        " ".join(sentence(rng, topic, town) for _ in range(rng.randint(2, 4)))
        for _ in range(rng.randint(6, 13))
    )
    title = f"{town} {topic[0]}: {rng.choice(PHRASES)}".capitalize()
    published = start + timedelta(minutes=rng.randrange(0, 30 * 24 * 60))
    return Page(
        outlet,
        f"{number:05d}-{town.lower()}-{topic[0].replace(' ', '-')}",
        title,
        person(rng),
        published,
        rng.choice(SECTIONS),
        paragraphs,
        None,
    )


def _near_copy(rng: random.Random, original: Page, outlet: int, number: int) -> Page:
    """A syndicated copy: the wire text with a new opening sentence and a credit line."""
    town = original.slug.split("-")[1].capitalize()
    opening = f"{OUTLETS[outlet].removeprefix('The ')} understands that {rng.choice(PHRASES)}."
    first = f"{opening} {original.paragraphs[0]}"
    credit = f"Additional reporting by {person(rng)} in {town}."
    return Page(
        outlet,
        f"{number:05d}-syndicated-{original.slug.split('-', 1)[1]}",
        original.title,
        person(rng),
        original.published + timedelta(minutes=rng.randint(5, 600)),
        original.section,
        (first, *original.paragraphs[1:], credit),
        original.slug,
    )


def build_corpus(count: int, *, copy_share: float = 0.2, seed: int = 13) -> list[Page]:
    """`count` pages over the outlets; about `copy_share` of them near-copies of earlier ones."""
    rng = random.Random(seed)
    start = datetime(2026, 10, 1, 6, 0, tzinfo=UTC)
    pages: list[Page] = []
    for number in range(count):
        outlet = number % len(OUTLETS)
        originals = [p for p in pages[-60:] if p.copy_of is None and p.outlet != outlet]
        if originals and rng.random() < copy_share:
            pages.append(_near_copy(rng, rng.choice(originals), outlet, number))
        else:
            pages.append(_fresh(rng, outlet, number, start))
    return pages


# --- HTML ---------------------------------------------------------------------------------


def _links(rng: random.Random, base: str, count: int, prefix: str) -> str:
    items = []
    for _ in range(count):
        topic = rng.choice(TOPICS)
        text = f"{rng.choice(TOWNS)} {topic[rng.randrange(4)]}: {rng.choice(PHRASES)}"
        items.append(
            f'<li class="{prefix}__item"><a href="{base}/news/{rng.randrange(99999):05d}-'
            f'{prefix}.html">{html.escape(text.capitalize())}</a></li>'
        )
    return "\n".join(items)


def _mega_menu(rng: random.Random, base: str) -> str:
    """Every section with a dozen sub-pages, as news sites' drop-down menus carry."""
    columns = []
    for section in SECTIONS:
        links = "".join(
            f'<li><a href="{base}/{section.lower()}/{town.lower()}/">{town}</a></li>'
            for town in rng.sample(TOWNS, 12)
        )
        columns.append(f'<div class="menu-col"><h3>{section}</h3><ul>{links}</ul></div>')
    return "\n".join(columns)


def _teasers(rng: random.Random, base: str, count: int) -> str:
    """A "more stories" grid: headline, standfirst and picture per teaser."""
    cards = []
    for _ in range(count):
        topic, town = rng.choice(TOPICS), rng.choice(TOWNS)
        slug = f"{rng.randrange(99999):05d}-more"
        cards.append(
            f'<div class="card"><a href="{base}/news/{slug}.html"><img src="{base}/img/'
            f'{slug}.jpg" alt="" width="320" height="180" loading="lazy"><h3>'
            f"{html.escape(f'{town} {topic[0]}'.capitalize())}</h3></a><p>"
            f"{html.escape(sentence(rng, topic, town))}</p></div>"
        )
    return "\n".join(cards)


def _state(rng: random.Random, page: Page) -> str:
    """The client-side app's state blob: config, teasers and the article again, as JSON."""
    state = {
        "config": {f"flag_{i}": rng.random() < 0.5 for i in range(60)},
        "article": {"headline": page.title, "body": list(page.paragraphs)},
        "recirculation": [
            {"id": rng.randrange(10**9), "title": rng.choice(PHRASES), "score": rng.random()}
            for _ in range(80)
        ],
    }
    return json.dumps(state)


def _style(rng: random.Random, outlet: int) -> str:
    rules = [
        f".c{outlet}-{name} {{ margin: {rng.randint(0, 24)}px; padding: {rng.randint(0, 16)}px; "
        f"color: #{rng.randrange(0xFFFFFF):06x}; font-size: {rng.randint(11, 22)}px; }}"
        for name in ("masthead", "nav", "ticker", "body", "aside", "footer", "promo", "share")
        for _ in range(6)
    ]
    return "\n".join(rules)


def render_page(page: Page, base: str, outlet_base: dict[int, str]) -> str:
    """The full HTML of one article page, as the outlet's site would serve it."""
    rng = random.Random(page.slug)
    name = OUTLETS[page.outlet]
    url = f"{base}/news/{page.slug}.html"
    iso = page.published.isoformat()
    nav = "".join(f'<li><a href="{base}/{s.lower()}/">{s}</a></li>' for s in SECTIONS)
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in page.paragraphs)
    ld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": page.title,
            "datePublished": iso,
            "author": {"@type": "Person", "name": page.author},
            "publisher": {"@type": "Organization", "name": name},
            "mainEntityOfPage": url,
        }
    )
    tags = " ".join(
        f'<a class="tag" href="{base}/topic/{t}/">{t}</a>'
        for t in rng.sample(
            [
                "council",
                "transport",
                "budget",
                "environment",
                "courts",
                "energy",
                "housing",
                "health",
            ],
            4,
        )
    )
    credit = ""
    if page.copy_of is not None:
        credit = f'<p class="syndication">Distributed by {html.escape(name)} syndication.</p>'
    analytics = json.dumps(
        {"page": page.slug, "section": page.section, "ab": [rng.random() for _ in range(20)]}
    )
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>{html.escape(page.title)} | {html.escape(name)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="{html.escape(page.paragraphs[0][:150])}">
<meta property="og:title" content="{html.escape(page.title)}">
<meta property="og:site_name" content="{html.escape(name)}">
<meta property="og:type" content="article">
<meta property="og:url" content="{url}">
<meta property="article:published_time" content="{iso}">
<meta name="author" content="{html.escape(page.author)}">
<link rel="canonical" href="{url}">
<style>
{_style(rng, page.outlet)}
</style>
<script type="application/ld+json">{ld}</script>
<script>window.__analytics = {analytics}; window.dataLayer = window.dataLayer || [];</script>
</head>
<body class="c{page.outlet}-body article-page">
<div id="cookie-banner" class="consent"><p>We use cookies to improve your experience and to
measure how the site is used. You can change your choices at any time.</p>
<button>Accept all</button><button>Manage settings</button></div>
<header class="c{page.outlet}-masthead"><a class="logo" href="{base}/">{html.escape(name)}</a>
<nav class="c{page.outlet}-nav"><ul>{nav}</ul></nav>
<form class="search" action="{base}/search"><input name="q" placeholder="Search"></form>
<div class="mega-menu">{_mega_menu(rng, base)}</div>
</header>
<div class="c{page.outlet}-ticker"><strong>Breaking</strong><ul>
{_links(rng, base, 4, "ticker")}
</ul></div>
<div class="ad-slot" data-slot="leaderboard"><span>Advertisement</span></div>
<main>
<ol class="breadcrumb"><li><a href="{base}/">Home</a></li>
<li><a href="{base}/{page.section.lower()}/">{page.section}</a></li></ol>
<article class="story">
<h1>{html.escape(page.title)}</h1>
<div class="byline">By <span class="author">{html.escape(page.author)}</span>
<time datetime="{iso}">{page.published:%d %B %Y %H:%M} UTC</time></div>
<div class="c{page.outlet}-share"><a href="#">Share on social</a> <a href="#">Email</a>
<a href="#">Copy link</a> <span class="comments">{rng.randint(0, 400)} comments</span></div>
<div class="story-body">
{body}
{credit}
</div>
<div class="tags">{tags}</div>
</article>
<section class="related"><h2>Related stories</h2><ul>
{_links(rng, outlet_base.get(page.outlet, base), 6, "related")}
</ul></section>
<section class="c{page.outlet}-promo newsletter"><h2>Get the morning briefing</h2>
<p>The day's top stories from {html.escape(name)}, in your inbox before breakfast.</p>
<form><input type="email" placeholder="Your email"><button>Sign up</button></form></section>
<section class="more"><h2>More stories</h2>
{_teasers(rng, base, 24)}
</section>
</main>
<aside class="c{page.outlet}-aside"><h2>Most read</h2><ol>
{_links(rng, base, 10, "most-read")}
</ol><div class="ad-slot" data-slot="mpu"><span>Advertisement</span></div></aside>
<footer class="c{page.outlet}-footer"><ul>
{_links(rng, base, 24, "footer")}
</ul><p>&copy; {page.published.year} {html.escape(name)}. All rights reserved.
Registered office: 1 Harbour Row, {rng.choice(TOWNS)}.</p></footer>
<script id="__STATE__" type="application/json">{_state(rng, page)}</script>
<script>(function(){{var s=document.createElement('script');s.async=true;
s.src='{base}/static/app.{rng.randrange(16**8):08x}.js';document.body.appendChild(s);}})();</script>
</body>
</html>
"""


def render_feed(name: str, base: str, pages: list[Page]) -> str:
    """An RSS 2.0 document listing the pages, newest first."""
    items = []
    for page in sorted(pages, key=lambda p: p.published, reverse=True):
        url = f"{base}/news/{page.slug}.html"
        items.append(
            f"<item><title>{html.escape(page.title)}</title><link>{url}</link>"
            f'<guid isPermaLink="true">{url}</guid>'
            f"<pubDate>{page.published:%a, %d %b %Y %H:%M:%S} +0000</pubDate>"
            f"<description>{html.escape(page.paragraphs[0][:200])}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{html.escape(name)}</title><link>{base}/</link>"
        f"<description>Latest stories</description>{''.join(items)}</channel></rss>\n"
    )
