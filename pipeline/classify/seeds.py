"""Seed stories: the articles whose copies and follow-ups newswatch watches for.

``dedup.seeds`` lists them; the first is the default seed, whose relation is copied
onto every article. Each entry is one of:

- ``builtin:NAME`` — shipped in ``pipeline/data/seeds``: ``NAME.txt`` and its metadata
  in ``NAME.json`` (id, title, outlet, url, published);
- a file path — plain text with an optional front-matter block between two ``---``
  lines (``key: value`` lines with the same keys); ``.html``/``.htm`` files are run
  through extraction like a fetched page;
- an ``http(s)`` URL — downloaded politely and extracted like any article.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from pathlib import Path

from pipeline.classify.dedup import normalise
from pipeline.config import ExtractSettings, Settings
from pipeline.urls import article_id, canonical_url

BUILTIN_PREFIX = "builtin:"
_HTML_SUFFIXES = (".html", ".htm")


class SeedError(ValueError):
    """A configured seed cannot be loaded."""


@dataclass(frozen=True)
class Seed:
    id: str
    text: str
    title: str | None = None
    outlet: str | None = None
    url: str | None = None
    published: date | None = None
    source: str = ""  # the settings entry it came from

    @property
    def full_text(self) -> str:
        """Title and body, as relations and threads read an article."""
        return f"{self.title}\n\n{self.text}" if self.title else self.text


def load_seeds(settings: Settings) -> list[Seed]:
    """Every configured seed, default first. Raises SeedError naming the bad entry."""
    if not settings.dedup.seeds:
        raise SeedError("dedup.seeds is empty; at least one seed story is needed")
    seeds = [load_seed(spec, settings) for spec in settings.dedup.seeds]
    ids = [s.id for s in seeds]
    if len(set(ids)) != len(ids):
        raise SeedError(f"seed ids must be unique, got {ids}")
    return seeds


def load_seed(spec: str, settings: Settings) -> Seed:
    spec = spec.strip()
    if spec.startswith(BUILTIN_PREFIX):
        return builtin_seed(spec[len(BUILTIN_PREFIX) :])
    if spec.lower().startswith(("http://", "https://")):
        return seed_from_url(spec, settings)
    return seed_from_file(Path(spec), settings.extract)


def builtin_seed(name: str) -> Seed:
    folder = resources.files("pipeline").joinpath("data/seeds")
    text_file, meta_file = folder.joinpath(f"{name}.txt"), folder.joinpath(f"{name}.json")
    if not text_file.is_file() or not meta_file.is_file():
        known = sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".txt"))
        raise SeedError(f"no built-in seed {name!r}; built-in seeds: {', '.join(known)}")
    meta = json.loads(meta_file.read_text("utf-8"))
    return _seed(meta, text_file.read_text("utf-8"), default_id=name, source=BUILTIN_PREFIX + name)


def seed_from_file(path: Path, extract_settings: ExtractSettings) -> Seed:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SeedError(f"cannot read seed file {path}: {exc}") from exc
    if path.suffix.lower() in _HTML_SUFFIXES:
        return _seed_from_html(raw, path.resolve().as_uri(), extract_settings, source=str(path))
    meta, body = split_front_matter(raw)
    return _seed(meta, body, default_id=path.stem, source=str(path))


def seed_from_url(url: str, settings: Settings) -> Seed:
    """Download and extract a seed page (once per process: seeds do not change)."""
    cached = _URL_SEEDS.get(url)
    if cached is not None:
        return cached
    try:
        canonical = canonical_url(url)
    except ValueError as exc:
        raise SeedError(f"bad seed URL {url!r}: {exc}") from exc
    from pipeline.fetch.pages import PageRequest, fetch_pages_sync  # see _seed_from_html

    request = PageRequest(article_id=article_id(canonical), url=url)
    [(_, result)] = fetch_pages_sync([request], settings.fetch)
    if result.html is None:
        detail = result.error_detail or (result.error.value if result.error else "no body")
        raise SeedError(f"cannot download seed {url}: {detail}")
    seed = _seed_from_html(result.html, result.final_url or url, settings.extract, source=url)
    seed = Seed(
        id=article_id(canonical),  # the same id the page gets if a feed lists it
        text=seed.text,
        title=seed.title,
        outlet=seed.outlet,
        url=canonical,
        published=seed.published,
        source=url,
    )
    _URL_SEEDS[url] = seed
    return seed


_URL_SEEDS: dict[str, Seed] = {}


def _seed_from_html(html: str, url: str, extract_settings: ExtractSettings, *, source: str) -> Seed:
    # imported here: trafilatura and httpx cost a classify process ~0.3 s to import, and
    # the built-in and plain-text seeds need neither
    from pipeline.extract.extractor import NoContent, extract

    page = extract(html, url, settings=extract_settings)
    if isinstance(page, NoContent):
        raise SeedError(f"seed {source} has no article text: {page.reason}")
    return Seed(
        id=Path(source).stem or "seed",
        text=page.text,
        title=page.title,
        outlet=page.site_name,
        url=None if url.startswith("file:") else url,
        published=page.published_at.date() if page.published_at else None,
        source=source,
    )


def split_front_matter(raw: str) -> tuple[dict[str, str], str]:
    """``key: value`` lines between two leading ``---`` lines, and the rest of the text."""
    lines = raw.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, raw.strip()
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            break
    else:
        raise SeedError("front matter is not closed with '---'")
    meta: dict[str, str] = {}
    for line in lines[1:end]:
        key, sep, value = line.partition(":")
        if sep and key.strip():
            meta[key.strip()] = value.strip().strip("\"'")
    return meta, "\n".join(lines[end + 1 :]).strip()


def _seed(meta: Mapping[str, str | None], body: str, *, default_id: str, source: str) -> Seed:
    title = meta.get("title") or None
    text = body.strip()
    first, _, rest = text.partition("\n")
    if title and normalise(first) == normalise(title):
        text = rest.strip()  # the body repeats its headline on the first line
    if not text:
        raise SeedError(f"seed {source} has no text")
    return Seed(
        id=meta.get("id") or default_id,
        text=text,
        title=title,
        outlet=meta.get("outlet") or None,
        url=meta.get("url") or None,
        published=_parse_date(meta.get("published"), source),
        source=source,
    )


def _parse_date(value: str | None, source: str) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        raise SeedError(f"seed {source}: published is not an ISO date: {value!r}") from None
