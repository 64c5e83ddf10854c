"""Cost of the cross-worker politeness clock: one reservation per page request.

    .venv/bin/python benchmarks/bench_host_clock.py [--reservations 400] [--workers 4]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

`StoreHostClock.reserve` runs once before every page download (pipeline/fetch/host_clock.py).
This measures its latency on SQLite and PostgreSQL side by side in one run: first one
worker alone, then `--workers` threads, each with its own engine (as separate Airflow
workers would have), reserving slots for a handful of hosts at once, so compare-and-swap
retries are included. The gap is 0, so nothing sleeps: what is timed is the store work.
Reported as percentiles and as a ratio to a page download's usual time is left to the
reader (a page takes 100 ms to seconds; the delay between requests to one host is 0.5 s).

Results go to benchmarks/results/host_clock.md and are printed.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from pipeline.fetch.host_clock import StoreHostClock
from pipeline.store import open_store

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "host_clock.md"
HOSTS = ["a.example", "b.example", "c.example"]


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100)
    return ordered[len(ordered) // 2] * 1000, q[94] * 1000, q[98] * 1000


def run(url: str, reservations: int, workers: int) -> dict[str, tuple[float, float, float]]:
    stores = [open_store(url) for _ in range(workers)]
    try:
        alone: list[float] = []
        clock = StoreHostClock(stores[0].sessions, 0.0)
        for n in range(reservations):
            began = time.perf_counter()
            clock.reserve(HOSTS[n % len(HOSTS)])
            alone.append(time.perf_counter() - began)
        together: list[float] = []
        lock = threading.Lock()

        def worker(index: int) -> None:
            own = StoreHostClock(stores[index].sessions, 0.0)
            for n in range(reservations // workers):
                began = time.perf_counter()
                own.reserve(HOSTS[n % len(HOSTS)])
                took = time.perf_counter() - began
                with lock:
                    together.append(took)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return {"one worker": percentiles(alone), f"{workers} workers": percentiles(together)}
    finally:
        for store in stores:
            store.dispose()


def postgres_database(base: str) -> tuple[str, str]:
    """A fresh database on the server of `base`; returns its URL and name."""
    name = f"bench_clock_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False), name


def drop_database(base: str, name: str) -> None:
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reservations", type=int, default=400)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    rows: list[tuple[str, str, tuple[float, float, float]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, timing in run(
            f"sqlite:///{tmp}/clock.db", args.reservations, args.workers
        ).items():
            rows.append(("SQLite (WAL)", label, timing))
    url, name = postgres_database(args.postgres)
    try:
        for label, timing in run(url, args.reservations, args.workers).items():
            rows.append(("PostgreSQL", label, timing))
    finally:
        drop_database(args.postgres, name)
    lines = [
        "# Host clock: latency of one reservation",
        "",
        f"`python benchmarks/bench_host_clock.py --reservations {args.reservations} "
        f"--workers {args.workers}` on {platform.machine()}, Python {platform.python_version()}, "
        "one run, both stores side by side (machine shared with other work: read the ratios).",
        "",
        "| store | load | p50 ms | p95 ms | p99 ms |",
        "|---|---|---:|---:|---:|",
    ]
    for store, load, (p50, p95, p99) in rows:
        lines.append(f"| {store} | {load} | {p50:.2f} | {p95:.2f} | {p99:.2f} |")
    report = "\n".join(lines) + "\n"
    RESULTS.write_text(report, encoding="utf-8")
    print(report)


if __name__ == "__main__":
    main()
