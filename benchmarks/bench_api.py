"""Load check of the search service: concurrent clients against `newswatch serve`.

    .venv/bin/python benchmarks/bench_api.py [--articles 100000] [--clients 50] [--seconds 30]
                                             [--workers 2] [--cache-seconds 60]

Builds a fresh store and embedded (SQLite FTS5) index holding N synthetic articles
(benchmarks/api_corpus.py: story clusters with copies across outlets, threads, relations
to the seed; bulk inserts, 100,000 articles in about two minutes). The built store and
index are kept in a corpus cache (by size and the code that builds them:
~/.cache/newswatch/bench_api, or --corpus-cache) and copied from there by later runs.
With --cache-seconds 0 every request is answered afresh, so the CPU per request does
not depend on how often the clients repeat themselves. Then `newswatch serve`
runs with `--workers` worker processes, and this process drives it: first one client with
the issue's typical queries (two terms, a phrase, a date-and-thread filter), then one
client with the whole mix (the unloaded cost of each request), then concurrent clients
(asyncio + httpx, one keep-alive connection each) for the given time, with a mix of
searches, timelines, thread lists and article views. Any error (a non-200 answer, a
timeout, a refused connection) fails the run. The service's CPU time (its worker
processes, from /proc) is read around each phase: CPU ms per request does not depend on
how busy the shared machine is.

Results go to benchmarks/results/api.md and are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.api_clients import (  # noqa: E402
    Tally,
    free_port,
    load,
    service_cpu_seconds,
    start_server,
    typical,
)
from benchmarks.api_corpus import CORPUS_CACHE, cached_build  # noqa: E402
from benchmarks.api_report import BASELINE_SECONDS, report  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "api.md"


def measured(server: subprocess.Popen[bytes], phase: Any) -> Tally:
    """Run one phase (a coroutine) and note the service's CPU time during it."""
    before, started = service_cpu_seconds(server.pid), time.perf_counter()
    tally: Tally = asyncio.run(phase)
    tally.wall_seconds = time.perf_counter() - started
    tally.cpu_seconds = service_cpu_seconds(server.pid) - before
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--cache-seconds", type=float, default=60.0)
    parser.add_argument("--corpus-cache", type=Path, default=CORPUS_CACHE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="newswatch-bench-api-") as tmp:
        data_dir = Path(tmp)
        print(f"building {args.articles:,} articles in {data_dir} ...", flush=True)
        built = cached_build(data_dir, args.articles, args.corpus_cache)
        port = free_port()
        load_before = os.getloadavg()
        server = start_server(data_dir, port, args.workers, args.cache_seconds)
        try:
            base_url = f"http://127.0.0.1:{port}"
            print("typical searches, 1 client ...", flush=True)
            typical_tally = measured(server, typical(base_url))
            print(f"1 client for {BASELINE_SECONDS:g} s ...", flush=True)
            baseline = measured(server, load(base_url, 1, BASELINE_SECONDS, args.articles))
            print(f"{args.clients} clients for {args.seconds:g} s ...", flush=True)
            tally = measured(server, load(base_url, args.clients, args.seconds, args.articles))
        finally:
            server.terminate()
            server.wait(timeout=30)
    text = report(args, built, typical_tally, baseline, tally, load_before)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    errors = len(typical_tally.errors) + len(baseline.errors) + len(tally.errors)
    if errors:
        raise SystemExit(f"{errors} errors: the service must answer every request")


if __name__ == "__main__":
    main()
