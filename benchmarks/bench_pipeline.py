"""End-to-end throughput: `newswatch run` against bare trafilatura on the same pages, same run.

    .venv/bin/python benchmarks/bench_pipeline.py [--pages 2000] [--repeat 2] [--workers 1,2]

Builds the synthetic newsroom of benchmarks/corpus.py (10 outlets, realistic chrome, 20%
syndicated near-copies), serves every outlet's feed and pages over real HTTP from its own
loopback address, then alternates, `--repeat` times:

- **bare**: `trafilatura.bare_extraction(html, url=..., with_metadata=True)` over every
  page, in this process, one core: the speed limit the issue sets;
- **run**: `newswatch run` in a child process on a fresh data directory (SQLite store,
  FTS5 index), polling the feeds and taking every page through fetch, extract, classify,
  index and alerts, politeness delays off; with each `--workers` value
  (`NEWSWATCH_WORKERS`).

The ratio of a run is bare seconds / run seconds from the same repeat (1.0 = as fast as
trafilatura alone); the report gives the median over repeats. Results go to
benchmarks/results/pipeline.md and are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from benchmarks.corpus import OUTLETS, Page, build_corpus, render_feed, render_page  # noqa: E402
from benchmarks.local_http import Sites  # noqa: E402
from benchmarks.machine import describe  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "pipeline.md"
NEWSWATCH = Path(sys.executable).with_name("newswatch")
HTML = "text/html; charset=utf-8"


def serve_corpus(sites: Sites, pages: list[Page]) -> list[tuple[str, str]]:
    """Gives each outlet its pages, feed and robots.txt; returns (url, html) of every page."""
    bases = dict(enumerate(sites.bases))
    served: list[tuple[str, str]] = []
    for number, name in enumerate(OUTLETS):
        base = sites.bases[number]
        own = [p for p in pages if p.outlet == number]
        documents: dict[str, tuple[bytes, str]] = {
            "/robots.txt": (b"User-agent: *\nAllow: /\n", "text/plain"),
            "/feed.xml": (render_feed(name, base, own).encode(), "application/rss+xml"),
        }
        for page in own:
            text = render_page(page, base, bases)
            documents[f"/news/{page.slug}.html"] = (text.encode(), HTML)
            served.append((f"{base}/news/{page.slug}.html", text))
        sites.serve(number, documents)
    return served


def bare(served: list[tuple[str, str]]) -> float:
    started = time.perf_counter()
    for url, text in served:
        trafilatura.bare_extraction(text, url=url, with_metadata=True)
    return time.perf_counter() - started


def environment(data_dir: Path, sites: Sites, workers: int) -> dict[str, str]:
    feeds = [
        {"name": f"outlet-{n}", "url": f"{base}/feed.xml"} for n, base in enumerate(sites.bases)
    ]
    return {
        **os.environ,
        "NEWSWATCH_DATA_DIR": str(data_dir),
        "NEWSWATCH_FEEDS": json.dumps(feeds),
        "NEWSWATCH_FETCH__ALLOWED_NETWORKS": '["127.0.0.0/8"]',
        "NEWSWATCH_FETCH__PER_HOST_DELAY_SECONDS": "0",
        "NEWSWATCH_WORKERS": str(workers),
    }


def run(sites: Sites, workers: int, expected: int) -> tuple[float, dict[str, int]]:
    """Seconds of one `newswatch run` (process start to exit) and the articles by status."""
    with tempfile.TemporaryDirectory(prefix="newswatch-bench-run-") as tmp:
        data_dir = Path(tmp)
        started = time.perf_counter()
        done = subprocess.run(
            [str(NEWSWATCH), "run"],
            env=environment(data_dir, sites, workers),
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"newswatch run failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        with sqlite3.connect(data_dir / "newswatch.db") as conn:
            statuses = dict(conn.execute("SELECT status, count(*) FROM articles GROUP BY status"))
    if sum(statuses.values()) != expected:
        raise SystemExit(f"expected {expected} articles, the store has {statuses}")
    return seconds, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workers", default="1", help="comma-separated worker counts")
    args = parser.parse_args()
    worker_counts = [int(w) for w in args.workers.split(",")]
    pages = build_corpus(args.pages)
    copies = sum(p.copy_of is not None for p in pages)
    bare_times: list[float] = []
    runs: dict[int, list[float]] = {w: [] for w in worker_counts}
    ratios: dict[int, list[float]] = {w: [] for w in worker_counts}
    statuses: dict[str, int] = {}
    with Sites(len(OUTLETS)) as sites:
        served = serve_corpus(sites, pages)
        size = statistics.mean(len(text) for _, text in served)
        for repeat in range(args.repeat):
            bare_s = bare(served)
            bare_times.append(bare_s)
            print(f"repeat {repeat + 1}: bare {bare_s:.1f} s", flush=True)
            for workers in worker_counts:
                seconds, statuses = run(sites, workers, len(pages))
                runs[workers].append(seconds)
                ratios[workers].append(bare_s / seconds)
                print(f"  run, {workers} worker(s): {seconds:.1f} s {statuses}", flush=True)
    lines = [
        "# End-to-end throughput against bare trafilatura",
        "",
        f"Command: `benchmarks/bench_pipeline.py --pages {args.pages} --repeat {args.repeat} "
        f"--workers {args.workers}`  ",
        describe(),
        "",
        f"{len(pages):,} pages ({copies} syndicated near-copies, {size / 1024:.0f} KiB of HTML "
        f"on average) from {len(OUTLETS)} outlets, each on its own loopback address, through "
        "their RSS feeds. Bare = `bare_extraction(with_metadata=True)` in one process; "
        "run = `newswatch run` as a child process (start-up included) on a fresh store. "
        f"Articles after the last run: {statuses}.",
        "",
        "| measure | median | runs | target |",
        "|---|---:|---|---|",
        f"| bare trafilatura, s | {statistics.median(bare_times):.1f} | "
        f"{', '.join(f'{t:.1f}' for t in bare_times)} | |",
        f"| bare trafilatura, pages/s | {len(pages) / statistics.median(bare_times):.1f} | | |",
    ]
    for workers in worker_counts:
        lines.append(
            f"| `newswatch run`, {workers} worker(s), s | {statistics.median(runs[workers]):.1f} | "
            f"{', '.join(f'{t:.1f}' for t in runs[workers])} | |"
        )
        target = "≥ 0.85" if workers == 1 else f"≥ {0.85 * 1.7:.2f} (1.7 × 0.85)"
        lines.append(
            f"| ratio bare / run, {workers} worker(s) | {statistics.median(ratios[workers]):.2f} | "
            f"{', '.join(f'{r:.2f}' for r in ratios[workers])} | {target} |"
        )
    if 1 in runs and len(worker_counts) > 1:
        for workers in worker_counts:
            if workers > 1:
                speedups = [a / b for a, b in zip(runs[1], runs[workers], strict=True)]
                lines.append(
                    f"| speed-up {workers} workers / 1 | {statistics.median(speedups):.2f} | "
                    f"{', '.join(f'{s:.2f}' for s in speedups)} | ≥ 1.7 |"
                )
    text = "\n".join(lines) + "\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
