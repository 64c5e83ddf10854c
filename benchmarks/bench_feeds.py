"""One poll cycle over many slow feeds: the poll stage against feeds 200 ms away.

    .venv/bin/python benchmarks/bench_feeds.py [--feeds 500] [--hosts 100] [--latency 0.2]
                                               [--items 20] [--repeat 3]

Serves `--feeds` RSS feeds (items written by benchmarks/corpus.py) spread over `--hosts`
loopback addresses, each answer delayed by `--latency` seconds, and runs the poll stage
(`pipeline.feeds.stage.poll_feeds`, default politeness settings: per-host concurrency
and delay) on a fresh SQLite store, three cycles per repeat:

- **first**: every entry is new (parsed and stored);
- **steady**: every feed has one new item since the last poll (the usual case);
- **unchanged**: the server answers `304 Not Modified` to the conditional GET.

Feed documents parsed are counted by wrapping the parser, to show that a 304 costs no
parsing. Results (medians over repeats) go to benchmarks/results/feeds.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.corpus import build_corpus, render_feed  # noqa: E402
from benchmarks.local_http import Sites  # noqa: E402
from benchmarks.machine import describe, write_report  # noqa: E402
from pipeline.config import FeedConfig, Settings  # noqa: E402
from pipeline.feeds import documents  # noqa: E402
from pipeline.feeds.items import ParsedFeed  # noqa: E402
from pipeline.feeds.stage import poll_feeds  # noqa: E402
from pipeline.store import open_store  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "feeds.md"
RSS = "application/rss+xml"
CYCLES = ("first", "steady", "unchanged")


class ParseCounter:
    """Wraps the feed parser and counts the documents it is given."""

    def __init__(self) -> None:
        self.calls = 0
        self._parse = documents.parse_feed

    def __call__(self, *args: Any, **kwargs: Any) -> ParsedFeed:
        self.calls += 1
        return self._parse(*args, **kwargs)


def publish(sites: Sites, args: argparse.Namespace, extra: int) -> list[FeedConfig]:
    """Every feed's document with `args.items` + `extra` items; returns the feed configs."""
    pages = build_corpus(args.feeds * (args.items + 1), copy_share=0.0)
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


def cycle(
    settings: Settings, names: list[str], counter: ParseCounter
) -> tuple[float, float, Counter[str]]:
    """Wall seconds and CPU seconds (this process: the HTTP servers' threads are in it too)."""
    store = open_store(settings.resolved_database_url)
    try:
        before = counter.calls
        started, cpu = time.perf_counter(), time.process_time()
        result = poll_feeds(store.sessions, settings, names=names)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        store.dispose()
    result.counts["documents_parsed"] = counter.calls - before
    return seconds, cpu, result.counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    counter = ParseCounter()
    documents.parse_feed = counter
    times: dict[str, list[float]] = {name: [] for name in CYCLES}
    cpus: dict[str, list[float]] = {name: [] for name in CYCLES}
    counts: dict[str, Counter[str]] = {}
    with Sites(args.hosts, latency=args.latency) as sites:
        for repeat in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="newswatch-bench-feeds-") as tmp:
                feeds = publish(sites, args, extra=0)
                settings = Settings(
                    data_dir=Path(tmp), feeds=feeds, fetch={"allowed_networks": ["127.0.0.0/8"]}
                )
                names = [f.name for f in feeds]
                for name in CYCLES:
                    if name == "steady":
                        publish(sites, args, extra=1)
                    wall, cpu, counts[name] = cycle(settings, names, counter)
                    times[name].append(wall)
                    cpus[name].append(cpu)
                    print(f"repeat {repeat + 1} {name}: {times[name][-1]:.2f} s", flush=True)
    lines = [
        "# One poll cycle over slow feeds",
        "",
        f"Command: `benchmarks/bench_feeds.py --feeds {args.feeds} --hosts {args.hosts} "
        f"--latency {args.latency:g} --items {args.items} --repeat {args.repeat}`  ",
        describe(),
        "",
        f"{args.feeds} RSS feeds of {args.items} items on {args.hosts} loopback hosts, every "
        f"answer delayed {args.latency * 1000:.0f} ms; the poll stage with the default "
        "politeness (fetch.per_host_concurrency, fetch.per_host_delay_seconds) and "
        "poll.concurrency feeds in flight; a fresh SQLite store per repeat.",
        "",
        "Wall time depends on the shared machine's load; CPU time (of this process, which "
        "also runs the feed servers' threads) does not.",
        "",
        "| cycle | median wall s | each repeat | median CPU s | counts (last repeat) | target |",
        "|---|---:|---|---:|---|---|",
    ]
    for name in CYCLES:
        each = ", ".join(f"{t:.2f}" for t in times[name])
        shown = ", ".join(f"{k}={v}" for k, v in sorted(counts[name].items()))
        target = (
            "< 10 s" if name == "steady" else ("< 10 s, no parsing" if name == "unchanged" else "")
        )
        lines.append(
            f"| {name} | {statistics.median(times[name]):.2f} | {each} | "
            f"{statistics.median(cpus[name]):.2f} | {shown} | {target} |"
        )
    write_report(RESULTS, lines)


if __name__ == "__main__":
    main()
