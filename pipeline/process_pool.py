"""The process pools of the CPU-bound steps (feed parsing, extraction, a run's stages)."""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any


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
    context = multiprocessing.get_context("forkserver")
    if preload:
        context.set_forkserver_preload(list(preload))
    _ensure_fork_server()
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=initializer, initargs=initargs
    ) as pool:
        starter = threading.Thread(target=_start_workers, args=(pool, workers), daemon=True)
        starter.start()
        try:
            yield pool
        finally:
            starter.join()  # before the pool shuts down, which refuses new jobs


def _ensure_fork_server() -> None:
    """Start the fork server, if it is not running, without the current directory on its path.

    Python 3.11 starts it as `python -c ...`, which puts the current directory first on
    `sys.path`, and ignores the path the caller sends: a `newswatch run` started from a
    checkout would otherwise give its workers that checkout's `pipeline`, not the installed
    one. PYTHONSAFEPATH (3.11's -P) leaves the directory out; it is set only while the
    server starts, and the server's workers inherit it.
    """
    earlier = os.environ.get("PYTHONSAFEPATH")
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        if earlier is None:
            del os.environ["PYTHONSAFEPATH"]
        else:
            os.environ["PYTHONSAFEPATH"] = earlier


def _start_workers(pool: ProcessPoolExecutor, workers: int) -> None:
    for _ in range(workers):  # a job each starts them all now, not one per job
        pool.submit(int)
