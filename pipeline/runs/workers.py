"""Fetch, extract and classify over several processes: `newswatch run` with run.workers > 1.

The articles waiting for each of those stages are split into batches
(`pipeline.runs.plan`), and a worker takes a batch through the rest of the chain: fetch,
extract and classify of one batch, one after the other, in one job. So no stage waits for
the slowest batch of the stage before it, and one worker's cluster step (under the
dedup lock) overlaps the other's fetching and extraction. Each worker has its own store
connection. The stages need nothing more to run side by side: each batch claims its own
rows, the per-host delay is kept in the store, and classify's cluster step is serialised
by the store's dedup lock, whatever order the batches reach it in.

Workers (`pipeline.process_pool`) inherit no threads or database connections; they are
forked from a fork server that has imported the stages and loaded the models
(`pipeline.runs.warm_workers`), and load classify's seed profiles at their first batch
(`pipeline.classify.seed_models`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from pipeline.alerts.stage import run_alerts
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

# The stages a batch goes through in one job, in order.
CHAIN = ("fetch", "extract", "classify")
# Batches per worker and stage: several, so that a worker done early takes the last
# batches of a slower one and the run's tail (one worker busy, one idle) is one short
# batch. Each classify call reads and locks once per batch, so not too many either.
BATCHES_PER_WORKER = 8


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
    """A pool of worker processes that runs fetch, extract and classify over every article
    waiting for them, and the alerts stage beside the caller's index stage."""

    def __init__(
        self, sessions: sessionmaker[Session], pool: ProcessPoolExecutor, workers: int
    ) -> None:
        self._sessions = sessions
        self._pool = pool
        self._workers = workers

    def run_chain(self) -> dict[str, StageCounts]:
        """Take every article waiting for fetch, extract or classify through the rest of
        CHAIN, a batch per job; each stage's counts, summed over the batches.

        All batches are planned before the first job starts, so no article is planned
        twice (as fetched by a job, then waiting for extract)."""
        most = self._workers * BATCHES_PER_WORKER
        planned = [
            (CHAIN[first:], ids)
            for first, stage in enumerate(CHAIN)
            for ids in waiting_batches(self._sessions, stage, 1, most)
        ]
        total: dict[str, StageCounts] = {stage: Counter() for stage in CHAIN}
        chains, batches = [chain for chain, _ in planned], [ids for _, ids in planned]
        for done in self._pool.map(_run_chain, chains, batches):
            for stage, counts in done.items():
                total[stage].update(counts)
        return total

    def start_alerts(self) -> Future[StageCounts]:
        """The alerts stage in a worker, to run beside the caller's index stage: alerts
        take classified articles whether or not they are indexed yet."""
        return self._pool.submit(_run_alerts)


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


def _run_chain(stages: tuple[str, ...], article_ids: list[str]) -> dict[str, StageCounts]:
    assert _worker is not None, "the pool's initializer opens the store"
    worker = _worker
    return {stage: _STAGES[stage](worker, article_ids) for stage in stages}


def _run_alerts() -> StageCounts:
    assert _worker is not None, "the pool's initializer opens the store"
    return run_alerts(_worker.store.sessions, _worker.settings)
