"""One poll cycle over many slow feeds: the poll stage against feeds 200 ms away.

    .venv/bin/python benchmarks/bench_feeds.py [--feeds 500] [--hosts 100] [--latency 0.2]
                                               [--items 20] [--repeat 3] [--parse-workers 1,2]

Serves `--feeds` RSS feeds (items written by benchmarks/corpus.py) spread over `--hosts`
loopback addresses, each answer delayed by `--latency` seconds, and runs the poll stage
(`pipeline.feeds.stage.poll_feeds`, default politeness settings: per-host concurrency
and delay) on a fresh SQLite store, three cycles per repeat and `--parse-workers` value
(poll.parse_workers: processes that run feedparser), the values alternating:

- **first**: every entry is new (parsed and stored);
- **steady**: every feed has one new item since the last poll (the usual case);
- **unchanged**: the server answers `304 Not Modified` to the conditional GET.

The stage counts the documents it gives the parser (`documents_parsed`), to show that a
304 costs no parsing. CPU time is that of the polling thread (the feed servers run in
other threads of this process and are left out) plus the parse workers'. Results
(medians over repeats) go to benchmarks/results/feeds.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.corpus import Page, build_corpus, render_feed  # noqa: E402
from benchmarks.local_http import Sites  # noqa: E402
from benchmarks.machine import DescendantsCpu, describe, write_report  # noqa: E402
from pipeline.config import FeedConfig, Settings  # noqa: E402
from pipeline.feeds.stage import poll_feeds  # noqa: E402
from pipeline.store import open_store  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "feeds.md"
RSS = "application/rss+xml"
CYCLES = ("first", "steady", "unchanged")


def publish(
    sites: Sites, args: argparse.Namespace, pages: list[Page], extra: int
) -> list[FeedConfig]:
    """Every feed's document with `args.items` + `extra` items; returns the feed configs."""
    feeds: list[FeedConfig] = []
    per_host: list[dict[str, tuple[bytes, str]]] = [{} for _ in range(args.hosts)]
    for number in range(args.feeds):
        host = number % args.hosts
        base = sites.bases[host]
        own = pages[number * (args.items + 1) : number * (args.items + 1) + args.items + extra]
        per_host[host][f"/feed-{number}.xml"] = (render_feed(f"f{number}", base, own).encode(), RSS)
        feeds.append(FeedConfig(name=f"feed-{number}", url=f"{base}/feed-{number}.xml"))
    for host, docs in enumerate(per_host):
        sites.serve(host, docs)
    return feeds


def cycle(settings: Settings, names: list[str]) -> tuple[float, float, float, Counter[str]]:
    """Wall seconds, CPU seconds of this thread (it runs the poll's event loop and
    records the result) and of the parse workers, and the stage's counts of one cycle."""
    store = open_store(settings.resolved_database_url)
    try:
        with DescendantsCpu() as workers:
            started, cpu = time.perf_counter(), time.thread_time()
            result = poll_feeds(store.sessions, settings, names=names)
            seconds, cpu = time.perf_counter() - started, time.thread_time() - cpu
    finally:
        store.dispose()
    return seconds, cpu, workers.seconds, result.counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--parse-workers", default="1,2", help="comma-separated values")
    args = parser.parse_args()
    workers = [int(w) for w in args.parse_workers.split(",")]
    runs = [(w, name) for w in workers for name in CYCLES]
    times: dict[tuple[int, str], list[float]] = {run: [] for run in runs}
    cpus: dict[tuple[int, str], list[float]] = {run: [] for run in runs}
    loop_cpus: dict[tuple[int, str], list[float]] = {run: [] for run in runs}
    counts: dict[tuple[int, str], Counter[str]] = {}
    pages = build_corpus(args.feeds * (args.items + 1), copy_share=0.0)
    with Sites(args.hosts, latency=args.latency) as sites:
        for repeat in range(args.repeat):
            for parse_workers in workers:
                with tempfile.TemporaryDirectory(prefix="newswatch-bench-feeds-") as tmp:
                    feeds = publish(sites, args, pages, extra=0)
                    settings = Settings(
                        data_dir=Path(tmp),
                        feeds=feeds,
                        fetch={"allowed_networks": ["127.0.0.0/8"]},
                        poll={"parse_workers": parse_workers},
                    )
                    names = [f.name for f in feeds]
                    for name in CYCLES:
                        if name == "steady":
                            publish(sites, args, pages, extra=1)
                        run = (parse_workers, name)
                        wall, loop_cpu, workers_cpu, counts[run] = cycle(settings, names)
                        times[run].append(wall)
                        cpus[run].append(loop_cpu + workers_cpu)
                        loop_cpus[run].append(loop_cpu)
                        print(
                            f"repeat {repeat + 1}, {parse_workers} parse worker(s), {name}: "
                            f"{wall:.2f} s wall, {loop_cpu:.2f} + {workers_cpu:.2f} s CPU",
                            flush=True,
                        )
    lines = [
        "# One poll cycle over slow feeds",
        "",
        f"Command: `benchmarks/bench_feeds.py --feeds {args.feeds} --hosts {args.hosts} "
        f"--latency {args.latency:g} --items {args.items} --repeat {args.repeat} "
        f"--parse-workers {args.parse_workers}`  ",
        describe(),
        "",
        f"{args.feeds} RSS feeds of {args.items} items on {args.hosts} loopback hosts, every "
        f"answer delayed {args.latency * 1000:.0f} ms; the poll stage with the default "
        "politeness (fetch.per_host_concurrency, fetch.per_host_delay_seconds) and "
        "poll.concurrency feeds in flight, feedparser in poll.parse_workers processes; a "
        "fresh SQLite store per repeat and parse-worker value, the values alternating.",
        "",
        "Wall time depends on the shared machine's load; CPU time does not. CPU is that "
        "of the polling thread (event loop, recording) plus the parse workers' (their "
        "start-up included); the feed servers' threads are left out. On an idle machine "
        "the polling thread's CPU is the floor of the wall time, beside the network "
        "waits.",
        "",
        "| parse workers | cycle | median wall s | each repeat | median CPU s | "
        "of which polling thread | counts (last repeat) | target |",
        "|---:|---|---:|---|---:|---:|---|---|",
    ]
    for run in runs:
        parse_workers, name = run
        each = ", ".join(f"{t:.2f}" for t in times[run])
        shown = ", ".join(f"{k}={v}" for k, v in sorted(counts[run].items()))
        target = (
            "< 10 s" if name == "steady" else ("< 10 s, no parsing" if name == "unchanged" else "")
        )
        lines.append(
            f"| {parse_workers} | {name} | {statistics.median(times[run]):.2f} | {each} | "
            f"{statistics.median(cpus[run]):.2f} | {statistics.median(loop_cpus[run]):.2f} | "
            f"{shown} | {target} |"
        )
    write_report(RESULTS, lines)


if __name__ == "__main__":
    main()
