"""One `newswatch run` in this process, printing each stage's CPU and wall seconds as JSON.

    NEWSWATCH_DATA_DIR=... NEWSWATCH_FEEDS=... python benchmarks/stage_cpu.py

bench_pipeline.py --stages runs it as a child process with the run's environment. The
stages are those of `newswatch run` (pipeline.runs.runner.run_pipeline); "start-up" is
the CPU spent importing the pipeline and opening the store, "close" what follows the
last stage (recording the run). A profiler inflates what it samples; process CPU time
does not, so these shares are the ones to compare before and after a change. With
run.workers > 1 the CPU is this process's only (the workers' is not counted); the wall
seconds show which stages the workers shorten.
"""

from __future__ import annotations

import json
import time

started = time.process_time()
started_wall = time.perf_counter()

from pipeline.config import Settings  # noqa: E402
from pipeline.index.factory import open_index  # noqa: E402
from pipeline.runs.runner import run_pipeline  # noqa: E402
from pipeline.store import open_store  # noqa: E402


def main() -> None:
    settings = Settings()
    store = open_store(settings.resolved_database_url)
    backend = open_index(settings)
    backend.ensure_ready()
    last, last_wall = time.process_time(), time.perf_counter()
    cpu: dict[str, float] = {"start-up": last - started}
    wall: dict[str, float] = {"start-up": last_wall - started_wall}

    def lap(stage: str, _counts: dict[str, int]) -> None:
        nonlocal last, last_wall
        now, now_wall = time.process_time(), time.perf_counter()
        cpu[stage], wall[stage] = now - last, now_wall - last_wall
        last, last_wall = now, now_wall

    run_pipeline(store.sessions, settings, backend, on_stage=lap)
    cpu["close"] = time.process_time() - last
    wall["close"] = time.perf_counter() - last_wall
    print(json.dumps({"cpu": cpu, "wall": wall}))


if __name__ == "__main__":
    main()
