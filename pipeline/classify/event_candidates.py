"""Candidates for same-event detection: classified articles dated near an article.

An article's candidates are the classified articles (with a cluster and a lead vector)
dated within the same-day tolerance of it (published, else discovered), the first
``MAX_EVENT_CANDIDATES`` by id. `EventPool` finds them for a whole batch with one read
per stretch of dates, made once the dedup lock is held (so nothing it read changes until
commit), and then per article in memory; the batch's own articles join it as they are
classified, as the per-article query saw them through autoflush. A stretch holding too
many articles to read whole falls back to that per-article query.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from pipeline.classify.embed import DIMENSIONS, MODEL_ID, Vector, mostly_cjk, vector_bytes
from pipeline.classify.models import ArticleEmbedding
from pipeline.config import DedupSettings
from pipeline.records import ArticleStatus
from pipeline.store.models import Article

_DONE = (ArticleStatus.CLASSIFIED.value, ArticleStatus.INDEXED.value)
MAX_EVENT_CANDIDATES = 20_000  # a few days of a large newsroom's intake
SCRIPT_SAMPLE_CHARS = 200  # enough of a body to tell Chinese from English
_SPAN_WINDOWS = 2  # a batch read covers at most this many articles' windows end to end
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Candidate:
    article_id: str
    cluster_id: str
    cjk: bool  # written mostly in Chinese characters


def event_window(settings: DedupSettings) -> timedelta:
    """How far either side of an article its same-event candidates may be dated."""
    return timedelta(days=settings.same_day_tolerance_days, hours=12)


def dated_candidates(
    session: Session, article_id: str, when: datetime, settings: DedupSettings
) -> tuple[list[Candidate], np.ndarray]:
    """Classified articles dated within the same-day tolerance, with their lead vectors:
    the per-article query."""
    window = event_window(settings)
    rows = sorted(
        (
            row[:5]
            for row in _dated_rows(session, when - window, when + window, article_id)
            if row[5] in _DONE
        ),
        key=lambda row: row[0],
    )[:MAX_EVENT_CANDIDATES]
    candidates = [_candidate(aid, cluster, title, head) for aid, cluster, title, head, _ in rows]
    return candidates, _matrix([r[4] for r in rows])


def _candidate(aid: str, cluster: str | None, title: str | None, head: str | None) -> Candidate:
    return Candidate(aid, cluster or aid, mostly_cjk(f"{title or ''}\n{head or ''}"))


def _matrix(vectors: list[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(vectors), dtype="<f4").reshape(len(vectors), DIMENSIONS)


def _dated_rows(
    session: Session,
    lo: datetime,
    hi: datetime,
    article_id: str | None,
    limit: int = MAX_EVENT_CANDIDATES,
) -> list[tuple[Any, ...]]:
    """(id, cluster, title, head, vector, status, published, discovered) of the articles
    dated between lo and hi, at most `limit` by id for either kind of date."""
    # Two queries, not one OR: each can use the index on published_at (a range, then the
    # few undated articles), where the OR over the unindexed discovered_at scanned them all.
    dated = (
        Article.published_at.between(lo, hi),
        and_(Article.published_at.is_(None), Article.discovered_at.between(lo, hi)),
    )
    return [
        row for condition in dated for row in _candidate_rows(session, condition, article_id, limit)
    ]


def _candidate_rows(
    session: Session, dated: ColumnElement[bool], article_id: str | None, limit: int
) -> list[tuple[Any, ...]]:
    query = (
        select(
            Article.id,
            Article.cluster_id,
            Article.title,
            func.substr(Article.text, 1, SCRIPT_SAMPLE_CHARS),
            ArticleEmbedding.vector,
            Article.status,
            Article.published_at,
            Article.discovered_at,
        )
        .join(ArticleEmbedding, ArticleEmbedding.article_id == Article.id)
        .where(dated, Article.cluster_id.is_not(None), ArticleEmbedding.model == MODEL_ID)
        .order_by(Article.id)
        .limit(limit)
    )
    if article_id is not None:
        query = query.where(Article.id != article_id)
    # The status is checked by the caller, not in SQL: with it in the query, SQLite chose
    # the status index, which holds nearly every article, over the date range.
    return [tuple(row) for row in session.execute(query)]


def _micros(when: datetime) -> int:
    return (when - _EPOCH) // _MICROSECOND


class EventPool:
    """The same-event candidates of one batch's articles (see the module docstring)."""

    def __init__(
        self, session: Session, whens: Iterable[datetime], batch: int, settings: DedupSettings
    ) -> None:
        self._session, self._settings = session, settings
        self._window = event_window(settings) // _MICROSECOND
        self._covered: list[tuple[int, int]] = []  # stretches read whole, in microseconds
        self._candidates: list[Candidate] = []  # in the order read or added
        self._index: dict[str, int] = {}  # article id → its place in that order
        rows: list[tuple[Any, ...]] = []
        # At most MAX_EVENT_CANDIDATES rows with the batch's own: then no article's own
        # query would have been cut short, and the pool is no bigger than one such query.
        room = MAX_EVENT_CANDIDATES - batch
        stretches = self._stretches(sorted(_micros(w) for w in whens)) if room >= 0 else []
        for lo, hi in stretches:
            found = _dated_rows(session, _at(lo), _at(hi), None, limit=room + 1)
            if len(found) > room:
                break  # the rest of the batch's dates are asked per article
            self._covered.append((lo, hi))
            rows += found
            room -= len(found)
        rows = list({r[0]: r for r in rows if r[5] in _DONE}.values())
        self._dated = np.zeros(len(rows) + batch, dtype=np.int64)  # published, else found
        self._vectors = np.zeros((len(rows) + batch, DIMENSIONS), dtype="<f4")
        self._vectors[: len(rows)] = _matrix([r[4] for r in rows])
        for aid, cluster, title, head, _, _, published, discovered in rows:
            self._append(_candidate(aid, cluster, title, head), published or discovered)
        self._by_id = sorted(self._index)  # ids in Python's order, as the query sorted them
        self._order = np.array([self._index[aid] for aid in self._by_id], dtype=np.int64)

    def _stretches(self, whens: list[int]) -> list[tuple[int, int]]:
        """The articles' date windows, merged while a stretch stays short."""
        out: list[tuple[int, int]] = []
        for when in whens:
            lo, hi = when - self._window, when + self._window
            if out and lo <= out[-1][1] and hi - out[-1][0] <= 2 * _SPAN_WINDOWS * self._window:
                out[-1] = (out[-1][0], hi)
            else:
                out.append((lo, hi))
        return out

    def _append(self, candidate: Candidate, dated: datetime) -> int:
        place = len(self._candidates)
        self._index[candidate.article_id] = place
        self._candidates.append(candidate)
        self._dated[place] = _micros(dated)
        return place

    def add(self, article: Article, cluster_id: str, vector: Vector) -> None:
        """A batch article just classified: a candidate for the articles after it."""
        head = (article.text or "")[:SCRIPT_SAMPLE_CHARS]
        candidate = _candidate(article.id, cluster_id, article.title, head)
        place = self._append(candidate, article.published_at or article.discovered_at)
        self._vectors[place] = np.frombuffer(vector_bytes(vector), dtype="<f4")
        rank = bisect.bisect_left(self._by_id, article.id)
        self._by_id.insert(rank, article.id)
        self._order = np.insert(self._order, rank, place)

    def candidates(self, article_id: str, when: datetime) -> tuple[list[Candidate], np.ndarray]:
        """What `dated_candidates` gives for this article, from memory where read whole."""
        centre = _micros(when)
        lo, hi = centre - self._window, centre + self._window
        if not any(start <= lo and hi <= end for start, end in self._covered):
            return dated_candidates(self._session, article_id, when, self._settings)
        dated = self._dated[self._order]
        chosen = self._order[(dated >= lo) & (dated <= hi)]
        own = self._index.get(article_id)
        if own is not None:
            chosen = chosen[chosen != own]
        chosen = chosen[:MAX_EVENT_CANDIDATES]
        return [self._candidates[i] for i in chosen.tolist()], self._vectors[chosen]


def _at(micros: int) -> datetime:
    return _EPOCH + micros * _MICROSECOND
