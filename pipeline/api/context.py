"""What every request handler needs: settings, the store, the search backend, the threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated, Literal

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from pipeline.alerts.rules import RuleBook, load_rules
from pipeline.api.cache import TtlCache
from pipeline.classify.seeds import Seed, load_seeds
from pipeline.classify.threads import ThreadBook
from pipeline.config import Settings
from pipeline.index.base import SearchIndex, SearchPage, SearchQuery, TimelineBucket
from pipeline.index.stage import index_generation
from pipeline.search import reports
from pipeline.search.perspectives import OtherSides, other_sides
from pipeline.store import Store


@dataclass
class AppContext:
    settings: Settings
    store: Store
    backend: SearchIndex
    book: ThreadBook
    cache_seconds: float = 0.0
    _seeds: list[Seed] | None = None
    _rules: RuleBook | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _searches: TtlCache[SearchPage] = field(init=False)
    _timelines: TtlCache[list[TimelineBucket]] = field(init=False)
    _summaries: TtlCache[list[reports.ThreadSummary]] = field(init=False)
    _other_sides: TtlCache[OtherSides | None] = field(init=False)

    def __post_init__(self) -> None:
        self._searches = TtlCache(self.cache_seconds)
        self._timelines = TtlCache(self.cache_seconds)
        self._summaries = TtlCache(self.cache_seconds)
        self._other_sides = TtlCache(self.cache_seconds)

    def search(self, query: SearchQuery) -> SearchPage:
        """The backend's page of hits, reused until a run indexes articles (a newsroom
        repeats its searches)."""
        return self._searches.get(self._keyed(repr(query)), lambda: self.backend.search(query))

    def timeline(
        self, query: SearchQuery, interval: Literal["day", "week"]
    ) -> list[TimelineBucket]:
        """The backend's timeline, reused until a run indexes articles."""
        return self._timelines.get(
            self._keyed(f"{interval} {query!r}"), lambda: self.backend.timeline(query, interval)
        )

    def thread_summaries(self, session: Session) -> list[reports.ThreadSummary]:
        """Every thread's counts and latest story, reused until a run indexes articles."""
        return self._summaries.get(
            self._keyed("all"), lambda: reports.thread_summaries(session, self.book)
        )

    def other_sides(self, session: Session, article_id: str) -> OtherSides | None:
        """An article's reports in other languages and perspectives, reused until a run
        indexes articles (finding them regroups a seed's developments)."""
        return self._other_sides.get(
            self._keyed(article_id),
            lambda: other_sides(session, article_id, self.seeds(), self.book),
        )

    def _keyed(self, key: str) -> str:
        """The cache key within the current index generation: when a run indexes articles,
        every cached answer is computed afresh at its next request, in every worker."""
        if self.cache_seconds <= 0:
            return key  # nothing is cached: no need to read the generation
        return f"{index_generation(self.store.engine)} {key}"

    def seeds(self) -> list[Seed]:
        """The configured seeds, default first; loaded once (a URL seed is downloaded)."""
        with self._lock:
            if self._seeds is None:
                self._seeds = load_seeds(self.settings)
            return self._seeds

    def rules(self) -> RuleBook:
        """The alert rules, loaded once."""
        with self._lock:
            if self._rules is None:
                self._rules = load_rules(self.settings.alerts)
            return self._rules

    def default_seed(self) -> Seed:
        return self.seeds()[0]

    def seed(self, seed_id: str | None) -> Seed | None:
        """The seed with this id (None if there is none); the default seed if no id."""
        if seed_id is None:
            return self.default_seed()
        return next((seed for seed in self.seeds() if seed.id == seed_id), None)


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


def get_session(context: Annotated[AppContext, Depends(get_context)]) -> Iterator[Session]:
    with context.store.sessions() as session:
        yield session


Context = Annotated[AppContext, Depends(get_context)]
DbSession = Annotated[Session, Depends(get_session)]
