"""Fetch, extract and classify over several processes: `newswatch run` with run.workers > 1.

The same shape as the ingest DAG's mapped tasks: the articles waiting for a stage are
split into batches (`pipeline.runs.plan`), and a process pool runs the stage function on
one batch at a time, each worker with its own store connection. The stages need nothing
more to run side by side: each batch claims its own rows, the per-host delay is kept in
the store, and classify's cluster step is serialised by the store's dedup lock.

Workers (`pipeline.process_pool`) inherit no threads or database connections; they are
forked from a fork server that has imported the stages and loaded the models
(`pipeline.runs.warm_workers`), and load classify's seed profiles at their first batch
(`pipeline.classify.seed_models`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from pipeline.classify.stage import classify_pending
from pipeline.config import Settings
from pipeline.extract.extractor import warm_up
from pipeline.extract.stage import extract_pending
from pipeline.fetch.robots import RobotsCache
from pipeline.fetch.stage import fetch_pending
from pipeline.process_pool import process_pool
from pipeline.runs.plan import waiting_batches
from pipeline.store import Store, open_store
from pipeline.store.batches import StageCounts

# Batches per worker and stage: a little more than one, so that a worker done early
# takes the last batches of a slower one. The seed profiles and models are loaded once
# per worker process (`classify.seed_models`), so more would cost little (not measured).
BATCHES_PER_WORKER = 3
# Large enough that the plan never defers: every waiting article is in some batch.
_MAX_BATCHES = 1_000_000


@dataclass(frozen=True)
class _Worker:
    """What a worker process keeps for all its batches."""

    settings: Settings
    store: Store
    robots: RobotsCache  # each host's robots.txt, read once by this process


_worker: _Worker | None = None

StageFunction = Callable[[_Worker, list[str]], StageCounts]

_STAGES: dict[str, StageFunction] = {
    "fetch": lambda w, ids: fetch_pending(
        w.store.sessions, w.settings.fetch, article_ids=ids, robots=w.robots
    ),
    "extract": lambda w, ids: extract_pending(
        w.store.sessions, w.settings.extract, article_ids=ids
    ),
    "classify": lambda w, ids: classify_pending(w.store.sessions, w.settings, article_ids=ids),
}


class StagePool:
    """A pool of worker processes that runs a stage over every article waiting for it."""

    def __init__(
        self, sessions: sessionmaker[Session], pool: ProcessPoolExecutor, workers: int
    ) -> None:
        self._sessions = sessions
        self._pool = pool
        self._workers = workers

    def run(self, stage: str) -> StageCounts:
        """Plan the stage's batches here, run them in the workers; the summed counts."""
        planned = waiting_batches(self._sessions, stage, 1, self._workers * BATCHES_PER_WORKER)
        total: StageCounts = Counter()
        for counts in self._pool.map(_run_batch, [stage] * len(planned), planned):
            total.update(counts)
        return total


@contextmanager
def stage_pool(sessions: sessionmaker[Session], settings: Settings) -> Iterator[StagePool | None]:
    """run.workers processes working on the store that `sessions` opens (None for one:
    the stages then run in the caller's process)."""
    bind = sessions.kw["bind"]
    url = bind.url.render_as_string(hide_password=False)
    # Each worker extracts in its own process: a pool inside a pool would oversubscribe.
    own = settings.model_copy(
        update={"extract": settings.extract.model_copy(update={"workers": 1})}
    )
    workers = settings.run.workers
    with process_pool(
        workers,
        initializer=_start_worker,
        initargs=(url, own),
        preload=["pipeline.runs.warm_workers"],
    ) as pool:
        yield StagePool(sessions, pool, workers) if pool else None


def _start_worker(url: str, settings: Settings) -> None:
    global _worker
    warm_up()
    _worker = _Worker(settings, open_store(url, migrate=False), RobotsCache())  # run migrated


def _run_batch(stage: str, article_ids: list[str]) -> StageCounts:
    assert _worker is not None, "the pool's initializer opens the store"
    return _STAGES[stage](_worker, article_ids)
