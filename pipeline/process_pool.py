"""The process pools of the CPU-bound steps (feed parsing, extraction, a run's stages)."""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

# What the fork server of `newswatch run`'s worker pool imports (`pipeline.runs.workers`).
RUN_WORKERS_PRELOAD = ("pipeline.runs.warm_workers",)


@contextmanager
def process_pool(
    workers: int,
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
    preload: Sequence[str] = (),
) -> Iterator[ProcessPoolExecutor | None]:
    """`workers` processes, or None for one (the caller then works in its own process).

    forkserver: workers inherit no threads, event loop, sockets or database connections
    from the caller. They are started at once, from a thread, so their start-up (the fork
    server's preload, imports, `initializer`) overlaps what the caller does before its
    first job: starting the first worker waits until the fork server has preloaded. The
    modules in `preload` are
    imported once, by the fork server, and every worker forked from it has them (about a
    second of imports per worker otherwise); this holds for the first pool of a process,
    which starts the fork server.
    """
    if workers <= 1:
        yield None
        return
    context = start_fork_server(preload)
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=initializer, initargs=initargs
    ) as pool:
        starter = threading.Thread(target=_start_workers, args=(pool, workers), daemon=True)
        starter.start()
        try:
            yield pool
        finally:
            starter.join()  # before the pool shuts down, which refuses new jobs


def start_fork_server(preload: Sequence[str] = ()) -> multiprocessing.context.BaseContext:
    """Start this process's fork server now, importing `preload`, unless it runs already;
    the context that forks from it.

    A caller that knows it will want a pool calls this before its own start-up (imports,
    opening the store), so that the fork server's preload overlaps it instead of delaying
    the first worker."""
    context = multiprocessing.get_context("forkserver")
    if preload:
        context.set_forkserver_preload(list(preload))
    multiprocessing.forkserver.ensure_running()
    return context


def _start_workers(pool: ProcessPoolExecutor, workers: int) -> None:
    for _ in range(workers):  # a job each starts them all now, not one per job
        pool.submit(int)
