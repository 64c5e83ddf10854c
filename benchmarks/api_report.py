"""The benchmark's report: latency tables, the service's CPU per request, the summary."""

from __future__ import annotations

import argparse
import os
from typing import Any

from benchmarks.api_clients import TYPICAL_ROUNDS, Tally
from benchmarks.machine import describe

BASELINE_SECONDS = 10.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def row(name: str, values: list[float], seconds: float) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"| {name} | {len(ms):,} | {len(ms) / seconds:.0f} | {percentile(ms, 0.50):.1f} | "
        f"{percentile(ms, 0.95):.1f} | {percentile(ms, 0.99):.1f} | {max(ms):.1f} |"
    )


def table(
    tally: Tally,
    seconds: float,
    kinds: tuple[str, ...] = ("search", "timeline", "threads", "article"),
) -> list[str]:
    every = [v for values in tally.latencies.values() for v in values]
    lines = [
        "| requests | count | per second | p50 | p95 | p99 | max |",
        "|---|---:|---:|---:|---:|---:|---:|",
        row("all", every, seconds),
    ]
    for kind in kinds:
        if tally.latencies[kind]:
            lines.append(row(kind, tally.latencies[kind], seconds))
    return lines


def typical_table(tally: Tally) -> list[str]:
    lines = [
        "| query | count | p50 | p95 | max | target | first request of each variant |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for kind, values in tally.latencies.items():
        ms = [v * 1000 for v in values]
        first = ", ".join(f"{v * 1000:.0f}" for v in tally.first[kind])
        lines.append(
            f"| {kind} | {len(ms)} | {percentile(ms, 0.5):.1f} | {percentile(ms, 0.95):.1f} | "
            f"{max(ms):.1f} | p95 < 50 | {first} |"
        )
    return lines


def cpu_line(name: str, tally: Tally) -> str:
    share = 100 * tally.cpu_seconds / max(tally.wall_seconds, 1e-9)
    return (
        f"| {name} | {tally.requests():,} | {tally.cpu_seconds:.1f} | {share:.0f}% | "
        f"{tally.cpu_ms_per_request():.1f} |"
    )


def report(
    args: argparse.Namespace,
    built: dict[str, Any],
    typical_tally: Tally,
    baseline: Tally,
    tally: Tally,
    load_before: tuple[float, ...],
) -> str:
    errors = typical_tally.errors + baseline.errors + tally.errors
    every = [v for values in tally.latencies.values() for v in values]
    rate = len(every) / args.seconds
    p95 = percentile([v * 1000 for v in every], 0.95) if every else float("nan")
    cores = os.cpu_count() or 1
    capacity = 1000 * cores / max(tally.cpu_ms_per_request(), 1e-9)
    load = ", ".join(f"{v:.1f}" for v in load_before)
    lines = [
        "# Search service load check",
        "",
        f"Command: `benchmarks/bench_api.py --articles {args.articles} --clients {args.clients} "
        f"--seconds {args.seconds:g} --workers {args.workers} "
        f"--cache-seconds {args.cache_seconds:g}`  ",
        describe() + f"; load average at the start {load}",
        "",
        f"**{args.clients} clients: {rate:.0f} requests/s (target ≥ 200), p95 {p95:.0f} ms "
        f"(target < 300), errors {len(errors)} (target 0). The service used "
        f"{tally.cpu_ms_per_request():.1f} ms of CPU per request: at most about "
        f"{capacity:.0f} requests/s if it had all {cores} cores to itself.**",
        "",
        f"Embedded backend (SQLite store + FTS5 index) with {args.articles:,} synthetic "
        f"articles ({built['words']:.0f} words on average) in {built['clusters']:,.0f} story "
        f"clusters; stored in {built['store_s']:.1f} s, indexed by one bulk load in "
        f"{built['index_s']:.1f} s (when first built; this run copied the corpus from "
        f"`{built['cache']}`). `newswatch serve` with {args.workers} uvicorn worker "
        f"process(es), searches, thread summaries and timelines cached for "
        f"{args.cache_seconds:g} s (api.cache_seconds); {args.clients} concurrent clients in a "
        f"second process, each on one keep-alive connection, for {args.seconds:g} s.",
        "",
        f"**Errors: {len(errors)}** (non-200 answers, timeouts, refused connections).",
        "",
        "Latency in ms, measured by the clients (request sent to response read).",
        "",
        f"### One client, typical searches ({TYPICAL_ROUNDS} rounds of 4 variants each)",
        "",
        "The first request of each variant is not timed in the percentiles (it warms the "
        "service); its latency is listed on the right: with caching on, it is the only "
        "one that searches the index.",
        "",
        *typical_table(typical_tally),
        "",
        f"### {args.clients} concurrent clients, {args.seconds:g} s",
        "",
        *table(tally, args.seconds),
        "",
        "The clients send their next request as soon as an answer arrives, so latency under "
        "load is mostly waiting in line: about clients / throughput. Throughput is bound by "
        "the service's CPU per request (below) and by the CPUs, which the clients and the "
        "other users of the machine share.",
        "",
        f"### One client, {BASELINE_SECONDS:g} s (the unloaded cost of a request)",
        "",
        *table(baseline, BASELINE_SECONDS),
        "",
        "Mix: 70% searches (query syntax, with thread, date-range and date-sort filters on "
        "30% each), 10% weekly timelines of a thread, 5% thread lists with counts and the "
        "latest story, 15% article records with their cluster and seed relation.",
        "",
        "### The service's CPU time (user + system, all worker processes)",
        "",
        "| phase | requests | CPU s | CPU / wall | CPU ms per request |",
        "|---|---:|---:|---:|---:|",
        cpu_line("typical searches, 1 client", typical_tally),
        cpu_line(f"mix, 1 client, {BASELINE_SECONDS:g} s", baseline),
        cpu_line(f"mix, {args.clients} clients, {args.seconds:g} s", tally),
    ]
    if errors:
        lines += ["", "First errors:", "", *[f"- {e}" for e in errors[:10]]]
    return "\n".join(lines) + "\n"
