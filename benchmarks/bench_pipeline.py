"""End-to-end throughput: `newswatch run` against bare trafilatura on the same pages, same run.

    .venv/bin/python benchmarks/bench_pipeline.py [--pages 2000] [--repeat 2] [--workers 1,2]
                                                  [--output benchmarks/results/pipeline.md]
    .venv/bin/python benchmarks/bench_pipeline.py --pages 300 --stages  # CPU s per stage

Builds the synthetic newsroom of benchmarks/corpus.py (10 outlets, realistic chrome, 20%
syndicated near-copies), serves every outlet's feed and pages over real HTTP from its own
loopback address, then alternates, `--repeat` times:

- **bare**: `trafilatura.bare_extraction(html, url=..., with_metadata=True)` over every
  page, in this process, one core: the speed limit the issue sets;
- **run**: `newswatch run` in a child process on a fresh data directory (SQLite store,
  FTS5 index), polling the feeds and taking every page through fetch, extract, classify,
  index and alerts, politeness delays off; with each `--workers` value
  (`NEWSWATCH_RUN__WORKERS`: fetch, extract and classify in that many processes).

The ratio of a run is bare seconds / run seconds from the same repeat (1.0 = as fast as
trafilatura alone); the report gives the median over repeats. Results go to
benchmarks/results/pipeline.md and are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from benchmarks.corpus import OUTLETS, Page, build_corpus, render_feed, render_page  # noqa: E402
from benchmarks.local_http import Sites  # noqa: E402
from benchmarks.machine import DescendantsCpu, describe, write_report  # noqa: E402

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


@dataclass
class Timing:
    wall: float  # seconds, start to end
    cpu: float  # CPU seconds (user + system) of the process(es) doing the work


def bare(served: list[tuple[str, str]]) -> Timing:
    started, cpu = time.perf_counter(), time.process_time()
    for url, text in served:
        trafilatura.bare_extraction(text, url=url, with_metadata=True)
    return Timing(time.perf_counter() - started, time.process_time() - cpu)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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
        "NEWSWATCH_RUN__WORKERS": str(workers),
    }


def run(
    sites: Sites,
    workers_wanted: int,
    expected: int,
    profile: Path | None = None,
    command: list[str] | None = None,
) -> tuple[Timing, dict[str, int]]:
    """Time of one `newswatch run` (process start to exit) and the articles by status.

    Its CPU time is that of the run and of its worker processes.

    With `profile`, the run goes under pyinstrument, which writes its text report there;
    `command` replaces `newswatch run` (the per-stage CPU child).
    """
    command = command or [str(NEWSWATCH), "run"]
    if profile is not None:
        pyinstrument = str(NEWSWATCH.with_name("pyinstrument"))
        command = [pyinstrument, "-r", "text", "--show-all", "-o", str(profile), *command]
    with tempfile.TemporaryDirectory(prefix="newswatch-bench-run-") as tmp:
        data_dir = Path(tmp)
        with DescendantsCpu() as workers:
            started, cpu = time.perf_counter(), children_cpu()
            child = subprocess.Popen(
                command,
                env=environment(data_dir, sites, workers_wanted),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            stdout, stderr = child.communicate()
            wall = time.perf_counter() - started
        # The run itself from getrusage; its worker processes, started by a forkserver
        # that nobody reaps, from /proc.
        timing = Timing(wall, children_cpu() - cpu + workers.seconds_except(child.pid))
        if child.returncode != 0:
            raise SystemExit(f"newswatch run failed:\n{stdout[-3000:]}\n{stderr[-3000:]}")
        if command[0] == sys.executable:
            print(stage_table(json.loads(stdout.splitlines()[-1])))
        with sqlite3.connect(data_dir / "newswatch.db") as conn:
            statuses = dict(conn.execute("SELECT status, count(*) FROM articles GROUP BY status"))
    if sum(statuses.values()) != expected:
        raise SystemExit(f"expected {expected} articles, the store has {statuses}")
    return timing, statuses


def stage_table(seconds: dict[str, dict[str, float]]) -> str:
    """The per-stage CPU and wall seconds of benchmarks/stage_cpu.py as a markdown table."""
    cpu, wall = seconds["cpu"], seconds["wall"]
    total = sum(cpu.values())
    lines = ["| stage | CPU s (this process) | share | wall s |", "|---|---:|---:|---:|"]
    lines += [
        f"| {name} | {sec:.2f} | {sec / total:.0%} | {wall[name]:.2f} |"
        for name, sec in cpu.items()
    ]
    return "\n".join([*lines, f"| total | {total:.2f} | | {sum(wall.values()):.2f} |"])


def rows(name: str, values: list[float], target: str = "") -> list[str]:
    each = ", ".join(f"{v:.2f}" for v in values)
    return [f"| {name} | {statistics.median(values):.2f} | {each} | {target} |"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workers", default="1", help="comma-separated worker counts")
    parser.add_argument(
        "--profile", type=Path, help="only profile one run (pyinstrument text report here)"
    )
    parser.add_argument(
        "--stages",
        action="store_true",
        help="only time one run's stages (CPU s in-process, and wall s; the first --workers value)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="the report's path")
    args = parser.parse_args()
    worker_counts = [int(w) for w in args.workers.split(",")]
    pages = build_corpus(args.pages)
    copies = sum(p.copy_of is not None for p in pages)
    bare_times: list[Timing] = []
    runs: dict[int, list[Timing]] = {w: [] for w in worker_counts}
    statuses: dict[str, int] = {}
    with Sites(len(OUTLETS)) as sites:
        served = serve_corpus(sites, pages)
        size = statistics.mean(len(text) for _, text in served)
        if args.profile:
            print(run(sites, worker_counts[0], len(pages), args.profile))
            return
        if args.stages:
            print(f"bare {bare(served)}")
            child = [sys.executable, str(ROOT / "benchmarks" / "stage_cpu.py")]
            print(run(sites, worker_counts[0], len(pages), command=child))
            return
        for repeat in range(args.repeat):
            bare_times.append(bare(served))
            print(f"repeat {repeat + 1}: bare {bare_times[-1]}", flush=True)
            for workers in worker_counts:
                timing, statuses = run(sites, workers, len(pages))
                runs[workers].append(timing)
                print(f"  run, {workers} worker(s): {timing} {statuses}", flush=True)
    lines = [
        "# End-to-end throughput against bare trafilatura",
        "",
        f"Command: `benchmarks/bench_pipeline.py --pages {args.pages} --repeat {args.repeat} "
        f"--workers {args.workers} --output {os.path.relpath(args.output, ROOT)}`  ",
        describe(),
        "",
        f"{len(pages):,} pages ({copies} syndicated near-copies, {size / 1024:.0f} KiB of HTML "
        f"on average) from {len(OUTLETS)} outlets, each on its own loopback address, through "
        "their RSS feeds. Bare = `bare_extraction(with_metadata=True)` in one process; "
        "run = `newswatch run` as a child process (start-up included) on a fresh store. "
        f"Articles after the last run: {statuses}.",
        "",
        "Wall-clock time depends on what else the shared machine runs; CPU time (user + "
        "system, of the run and its worker processes) does not, so the ratios are given for "
        "both. Ratio = bare / run from the same repeat: 1.0 means as fast as trafilatura "
        "alone.",
        "",
        "| measure | median | each repeat | target |",
        "|---|---:|---|---|",
        *rows("bare trafilatura, wall s", [t.wall for t in bare_times]),
        *rows("bare trafilatura, CPU s", [t.cpu for t in bare_times]),
    ]
    for workers in worker_counts:
        timings = runs[workers]
        lines += rows(f"`newswatch run`, {workers} worker(s), wall s", [t.wall for t in timings])
        lines += rows(f"`newswatch run`, {workers} worker(s), CPU s", [t.cpu for t in timings])
        if workers == 1:
            pairs = zip(bare_times, timings, strict=True)
            wall, cpu = zip(*((b.wall / r.wall, b.cpu / r.cpu) for b, r in pairs), strict=True)
            lines += rows("ratio bare / run, wall", list(wall), "≥ 0.85")
            lines += rows("ratio bare / run, CPU", list(cpu), "≥ 0.85")
        elif 1 in runs:
            speedups = [a.wall / b.wall for a, b in zip(runs[1], timings, strict=True)]
            lines += rows(f"speed-up {workers} workers / 1, wall", speedups, "≥ 1.7")
            # What the processes cost beyond one: start-up, per-batch set-up, contention.
            extra = [b.cpu / a.cpu for a, b in zip(runs[1], timings, strict=True)]
            lines += rows(f"CPU {workers} workers / 1", extra)
    write_report(args.output, lines)


if __name__ == "__main__":
    main()
