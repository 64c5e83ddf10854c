"""`newswatch classify PATH_OR_URL...`: relate given pages to the seeds, read-only.

Each input (a local HTML or text file, or an http(s) URL) is extracted, checked
against the articles already in the store for copies, related to every seed and
tagged with threads. Nothing is written: no feeds, no articles, no fingerprints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.classify.analysis import SeedProfile, analyse, profile_seed
from pipeline.classify.copies import exact_original, near_duplicate, prefetch
from pipeline.classify.dating import Dated
from pipeline.classify.embed import Embedder, default_embedder
from pipeline.classify.relate import relate
from pipeline.classify.repository import StoredPrint
from pipeline.classify.seeds import load_seeds as load_seed_list
from pipeline.classify.seeds import split_front_matter
from pipeline.classify.threads import ThreadBook, load_thread_book
from pipeline.config import Settings
from pipeline.extract.extractor import NoContent, extract
from pipeline.fetch.pages import PageRequest, fetch_pages_sync
from pipeline.records import Relation, utcnow
from pipeline.store.models import Article
from pipeline.urls import InvalidUrl, article_id, canonical_url

_HTML_SUFFIXES = (".html", ".htm")


@dataclass(frozen=True)
class InputText:
    input: str
    text: str
    title: str | None
    url: str | None
    outlet: str | None = None
    published_at: str | None = None
    date_note: str | None = None


class InputError(Exception):
    """One input could not be read, downloaded or extracted."""


def classify_inputs(
    inputs: Sequence[str], settings: Settings, session_factory: sessionmaker[Session]
) -> list[dict[str, Any]]:
    """One result dict per input, in order; an input that fails carries an "error"."""
    book = load_thread_book(settings.dedup.threads_file)
    embedder = default_embedder()
    profiles = [profile_seed(s, settings.dedup, book, embedder) for s in load_seed_list(settings)]
    texts = _read_inputs(inputs, settings)
    results: list[dict[str, Any]] = []
    with session_factory() as session:
        for raw in inputs:
            got = texts[raw]
            if isinstance(got, InputError):
                results.append({"input": raw, "error": str(got), "relation": None})
                continue
            results.append(_classify_one(session, got, profiles, book, embedder, settings))
    return results


def _classify_one(
    session: Session,
    item: InputText,
    profiles: list[SeedProfile],
    book: ThreadBook,
    embedder: Embedder,
    settings: Settings,
) -> dict[str, Any]:
    analysis = analyse(item.text, item.title, settings.dedup, book, embedder)
    when = Dated.of(_parse_time(item.published_at), utcnow())
    relations = [relate(analysis, p, settings.dedup, when) for p in profiles]
    self_id = _article_id(item.url)
    fp = analysis.fingerprint
    seen_at = when.at if when is not None else utcnow()
    copies = prefetch(session, [StoredPrint(self_id, fp, seen_at)], settings.dedup)
    copy_of = exact_original(copies, fp.text_hash, self_id)
    duplicate_of: str | None = None
    duplicate_url: str | None = None
    if copy_of is not None:
        duplicate_of = copy_of[0]
    else:
        match = near_duplicate(copies, self_id, fp, seen_at)
        duplicate_of = match.article_id if match else None
    if duplicate_of is not None:
        duplicate_url = session.scalar(
            select(Article.canonical_url).where(Article.id == duplicate_of)
        )
    elif relations[0].relation is Relation.DUPLICATE:
        duplicate_of, duplicate_url = "seed", profiles[0].seed.url
    default = relations[0]
    return {
        "input": item.input,
        "url": item.url,
        "title": item.title,
        "outlet": item.outlet,
        "published_at": item.published_at,
        "date_note": item.date_note,
        "words": len(item.text.split()),
        "relation": default.relation.value,
        "seed_similarity": default.score,
        "threads": [m.name for m in analysis.threads],
        "duplicate_of": duplicate_of,
        "duplicate_of_url": duplicate_url,
        "evidence": default.evidence,
        "relations": {
            r.seed_id: {"relation": r.relation.value, "score": r.score} for r in relations
        },
    }


def _parse_time(value: str | None) -> datetime | None:
    """A given page's date, if it parses; a date without a zone is taken as UTC."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _article_id(url: str | None) -> str:
    """The id the page would have in the store ('' for a local file)."""
    if url is None:
        return ""
    try:
        return article_id(canonical_url(url))
    except InvalidUrl:
        return ""


def _read_inputs(inputs: Sequence[str], settings: Settings) -> dict[str, InputText | InputError]:
    out: dict[str, InputText | InputError] = {}
    urls = [i for i in inputs if i.lower().startswith(("http://", "https://"))]
    for raw in inputs:
        if raw not in urls:
            out[raw] = _read_file(raw, settings)
    if urls:
        out.update(_download(urls, settings))
    return out


def _read_file(raw: str, settings: Settings) -> InputText | InputError:
    path = Path(raw)
    try:
        content = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return InputError(f"cannot read {raw}: {exc.strerror or exc}")
    if path.suffix.lower() in _HTML_SUFFIXES:
        return _extracted(raw, content, path.resolve().as_uri(), settings, local=True)
    meta, body = split_front_matter(content)
    if not body.strip():
        return InputError(f"{raw} has no text")
    return InputText(
        input=raw,
        text=body,
        title=meta.get("title") or None,
        url=meta.get("url") or None,
        outlet=meta.get("outlet") or None,
        published_at=meta.get("published") or None,
    )


def _download(urls: list[str], settings: Settings) -> dict[str, InputText | InputError]:
    out: dict[str, InputText | InputError] = {}
    requests = []
    for url in dict.fromkeys(urls):
        try:
            requests.append(PageRequest(article_id=article_id(canonical_url(url)), url=url))
        except InvalidUrl as exc:
            out[url] = InputError(str(exc))
    for request, result in fetch_pages_sync(requests, settings.fetch):
        if result.html is None:
            reason = result.error_detail or (result.error.value if result.error else "no body")
            out[request.url] = InputError(f"cannot download {request.url}: {reason}")
        else:
            final = result.final_url or request.url
            out[request.url] = _extracted(request.url, result.html, final, settings, local=False)
    return out


def _extracted(
    raw: str, html: str, url: str, settings: Settings, *, local: bool
) -> InputText | InputError:
    page = extract(html, url, settings=settings.extract)
    if isinstance(page, NoContent):
        return InputError(f"{raw}: no article text ({page.reason})")
    return InputText(
        input=raw,
        text=page.text,
        title=page.title,
        url=None if local else url,
        outlet=page.site_name,
        published_at=page.published_at.isoformat() if page.published_at else None,
        date_note=page.date_note,
    )
