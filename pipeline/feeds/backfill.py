"""Backfill from sitemaps: find a site's articles of a date range and queue the relevant ones.

A job is one site and date range (its id is derived from both, so running it again resumes
it). Its steps, each safe to repeat and to kill at any point:

1. `discover`: the root sitemaps, from robots.txt's `Sitemap:` lines, else /sitemap.xml.
2. `walk`: read pending sitemap files as they stream in. An index queues its children
   (those whose name or lastmod puts them outside the range are skipped unread; one already
   queued, as in a loop, is not queued again). A urlset's pages in the range are scored by
   the relevance pre-filter and kept as candidates if they score at least
   `backfill.min_score`. A file is `done` only after all of its entries are written.
3. `queue`: the best-scoring candidates, within `--max-pages` and the site's daily page
   budget, become articles with source `backfill` (status `discovered`), which the normal
   fetch, extract, classify and index stages take from there.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import Settings
from pipeline.feeds.backfill_models import (
    BackfillCandidate,
    BackfillJob,
    BackfillSitemap,
    CandidateState,
    SitemapState,
)
from pipeline.feeds.relevance import Candidate, RelevanceScorer
from pipeline.feeds.sitemap_dates import DateRange, child_out_of_range, date_page
from pipeline.feeds.sitemap_parse import SitemapEntry
from pipeline.feeds.sitemap_walk import SitemapReader, site_origin
from pipeline.fetch.errors import DownloadError
from pipeline.fetch.http import make_client
from pipeline.records import as_utc, utcnow
from pipeline.store.db import transaction
from pipeline.store.inserts import insert_new
from pipeline.urls import InvalidUrl, canonical_url


def job_id(site: str, window: DateRange) -> str:
    key = f"{site_origin(site)}|{window.since.isoformat()}|{window.until.isoformat()}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def open_job(sessions: sessionmaker[Session], site: str, window: DateRange) -> str:
    """The job for this site and range, created if new. Idempotent."""
    key = job_id(site, window)
    with transaction(sessions) as session:
        row = {"id": key, "site": site_origin(site), "since": window.since, "until": window.until}
        row["created_at"] = utcnow()
        insert_new(session, BackfillJob, [row], ["id"], BackfillJob.id)
    return key


def _window(job: BackfillJob) -> DateRange:
    since, until = as_utc(job.since), as_utc(job.until)
    assert since is not None and until is not None
    return DateRange(since, until)


# -- 1. discover -------------------------------------------------------------------------


def discover(sessions: sessionmaker[Session], settings: Settings, job: str) -> Counter[str]:
    """Queue the job's root sitemaps (once; a later call finds them queued)."""
    return asyncio.run(_discover(sessions, settings, job))


async def _discover(sessions: sessionmaker[Session], settings: Settings, key: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    with sessions() as session:
        job = session.get_one(BackfillJob, key)
    if job.discovered_at is not None:
        return counts
    async with make_client(settings.fetch) as client:
        try:
            roots = await SitemapReader(client, settings).roots(job.site)
        except DownloadError as exc:
            with transaction(sessions) as session:
                session.get_one(BackfillJob, key).discovery_error = str(exc)
            counts["discovery_failed"] += 1
            return counts
    with transaction(sessions) as session:
        rows = [{"job_id": key, "url": url, "depth": 0, **_NEW_SITEMAP} for url in roots]
        counts["root_sitemaps"] += len(rows)
        insert_new(session, BackfillSitemap, rows, ["job_id", "url"], BackfillSitemap.id)
        row = session.get_one(BackfillJob, key)
        row.discovered_at, row.discovery_error = utcnow(), None
    return counts


_NEW_SITEMAP: dict[str, Any] = {
    "state": SitemapState.PENDING.value,
    "urls_seen": 0,
    "urls_in_range": 0,
    "urls_kept": 0,
}


def pending_sitemaps(sessions: sessionmaker[Session], job: str) -> list[int]:
    with sessions() as session:
        return list(
            session.scalars(
                select(BackfillSitemap.id)
                .where(
                    BackfillSitemap.job_id == job,
                    BackfillSitemap.state == SitemapState.PENDING.value,
                )
                .order_by(BackfillSitemap.id)
            )
        )


# -- 2. walk ------------------------------------------------------------------------------


def walk(
    sessions: sessionmaker[Session],
    settings: Settings,
    job: str,
    scorer: RelevanceScorer,
    sitemap_ids: Sequence[int] | None = None,
    *,
    descend: bool = True,
) -> Counter[str]:
    """Read the given pending sitemaps (default: all pending) and, with `descend`, every
    child they queue (without it, the children stay pending for another task)."""
    return asyncio.run(_walk(sessions, settings, job, scorer, sitemap_ids, descend))


async def _walk(
    sessions: sessionmaker[Session],
    settings: Settings,
    key: str,
    scorer: RelevanceScorer,
    sitemap_ids: Sequence[int] | None,
    descend: bool,
) -> Counter[str]:
    counts: Counter[str] = Counter()
    with sessions() as session:
        job = session.get_one(BackfillJob, key)
    queue = list(sitemap_ids) if sitemap_ids is not None else pending_sitemaps(sessions, key)
    async with make_client(settings.fetch) as client:
        reader = SitemapReader(client, settings)
        while queue:
            with sessions() as session:
                row = session.get(BackfillSitemap, queue.pop(0))
            if row is None or row.job_id != key or row.state != SitemapState.PENDING.value:
                continue  # done meanwhile (a re-run beside this one), or not this job's
            walker = _FileWalk(sessions, settings, job, row, scorer, counts)
            outcome = await reader.read(row.url, walker.consume)
            children = walker.finish(outcome.kind, outcome.error)
            if descend:
                queue[:0] = children  # depth first
    return counts


@dataclass
class _FileWalk:
    """Writes one sitemap file's entries to the store as they stream in."""

    sessions: sessionmaker[Session]
    settings: Settings
    job: BackfillJob
    row: BackfillSitemap
    scorer: RelevanceScorer
    counts: Counter[str]
    seen: int = 0
    in_range: int = 0
    kept: int = 0
    children: list[int] = field(default_factory=list)
    _batch: list[tuple[Candidate, dict[str, Any]]] = field(default_factory=list)

    def consume(self, pages: list[SitemapEntry], children: list[SitemapEntry]) -> None:
        window = _window(self.job)
        for entry in pages:
            self.seen += 1
            dating = date_page(entry, window)
            if not dating.in_range:
                continue
            self.in_range += 1
            values = {
                "job_id": self.job.id,
                "url": entry.loc,
                "title": entry.title,
                "published_at": dating.published,
                "date_source": dating.source,
                "state": CandidateState.CANDIDATE.value,
            }
            self._batch.append((Candidate(entry.loc, entry.title), values))
            if len(self._batch) >= self.settings.backfill.write_batch:
                self._flush()
        if children:
            self._queue_children(children, window)

    def _flush(self) -> None:
        if not self._batch:
            return
        scores = self.scorer.score([candidate for candidate, _ in self._batch])
        rows = []
        # Canonicalised only once kept: scoring first spares most URLs of an archive.
        for (_, values), score in zip(self._batch, scores, strict=True):
            if score < self.settings.backfill.min_score:
                continue
            try:
                canonical = canonical_url(values["url"])
            except InvalidUrl:
                self.counts["urls_invalid"] += 1
                continue
            rows.append({**values, "canonical_url": canonical, "score": round(score, 4)})
        self._batch.clear()
        self.kept += len(rows)
        with transaction(self.sessions) as session:
            insert_new(
                session, BackfillCandidate, rows, ["job_id", "canonical_url"], BackfillCandidate.id
            )

    def _queue_children(self, entries: list[SitemapEntry], window: DateRange) -> None:
        limits = self.settings.backfill
        depth = self.row.depth + 1
        rows: list[dict[str, Any]] = []
        with transaction(self.sessions) as session:
            total = session.scalar(
                select(func.count()).where(BackfillSitemap.job_id == self.job.id)
            )
            listed = {e.loc: e for e in entries}
            # Already queued by another index or earlier in the tree: a loop, not read twice.
            known = set(
                session.scalars(
                    select(BackfillSitemap.url).where(
                        BackfillSitemap.job_id == self.job.id, BackfillSitemap.url.in_(listed)
                    )
                )
            )
            self.counts["sitemaps_already_queued"] += len(known)
            for entry in (e for loc, e in listed.items() if loc not in known):
                skip = child_out_of_range(entry, window)
                if skip is None and depth > limits.max_depth:
                    skip = f"deeper than backfill.max_depth={limits.max_depth}"
                if skip is None and (total or 0) + len(rows) >= limits.max_sitemaps_per_site:
                    skip = f"over backfill.max_sitemaps_per_site={limits.max_sitemaps_per_site}"
                state = SitemapState.SKIPPED if skip else SitemapState.PENDING
                self.counts[f"sitemaps_{'skipped' if skip else 'queued'}"] += 1
                rows.append(
                    {
                        "job_id": self.job.id,
                        "url": entry.loc,
                        "parent_id": self.row.id,
                        "depth": depth,
                        **_NEW_SITEMAP,
                        "state": state.value,
                        "error": skip,
                    }
                )
            insert_new(session, BackfillSitemap, rows, ["job_id", "url"], BackfillSitemap.id)
            self.children.extend(
                session.scalars(
                    select(BackfillSitemap.id)
                    .where(
                        BackfillSitemap.job_id == self.job.id,
                        BackfillSitemap.parent_id == self.row.id,
                        BackfillSitemap.state == SitemapState.PENDING.value,
                        BackfillSitemap.url.in_([r["url"] for r in rows]),
                    )
                    .order_by(BackfillSitemap.id)
                )
            )

    def finish(self, kind: str | None, error: str | None) -> list[int]:
        """Record the file's outcome; returns its newly queued children, in order."""
        self._flush()
        failed = kind is None or (error is not None and not (self.seen or self.children))
        with transaction(self.sessions) as session:
            row = session.get_one(BackfillSitemap, self.row.id)
            row.state = (SitemapState.FAILED if failed else SitemapState.DONE).value
            row.kind, row.error, row.read_at = kind, error, utcnow()
            row.urls_seen, row.urls_in_range, row.urls_kept = self.seen, self.in_range, self.kept
        self.counts["sitemaps_failed" if failed else "sitemaps_read"] += 1
        if error and not failed:
            self.counts["sitemaps_partly_read"] += 1
        self.counts["urls_seen"] += self.seen
        self.counts["urls_in_range"] += self.in_range
        self.counts["urls_kept"] += self.kept
        return self.children


def reset_failed_sitemaps(sessions: sessionmaker[Session], job: str) -> int:
    """Send the job's failed sitemaps back to pending (e.g. after a site's outage)."""
    with transaction(sessions) as session:
        result = session.execute(
            update(BackfillSitemap)
            .where(
                BackfillSitemap.job_id == job, BackfillSitemap.state == SitemapState.FAILED.value
            )
            .values(state=SitemapState.PENDING.value, error=None)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
