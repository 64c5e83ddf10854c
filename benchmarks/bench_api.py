"""Load check of the search service: concurrent clients against `newswatch serve`.

    .venv/bin/python benchmarks/bench_api.py [--articles 100000] [--clients 50] [--seconds 30]
                                             [--workers 2] [--cache-seconds 60]

Builds a fresh store and embedded (SQLite FTS5) index holding N synthetic articles
(fixed random seed): story clusters with copies across outlets, threads, relations to
the seed. Articles go in as the classify stage leaves them and reach the index through
the real index stage. The built store and index are kept in a corpus cache (by size and
the code that builds them: ~/.cache/newswatch/bench_api, or --corpus-cache) and copied
from there by later runs, so a 100,000-article run builds once. Then `newswatch serve`
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
import hashlib
import inspect
import json
import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import describe  # noqa: E402
from pipeline.classify.models import SeedRelation, StoryCluster  # noqa: E402
from pipeline.config import Settings  # noqa: E402
from pipeline.index.factory import open_index  # noqa: E402
from pipeline.index.stage import index_pending  # noqa: E402
from pipeline.records import ArticleStatus, IndexState, Relation  # noqa: E402
from pipeline.store import open_store  # noqa: E402
from pipeline.store.migrate import head_revision  # noqa: E402
from pipeline.store.models import Article  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "api.md"
CORPUS_CACHE = Path.home() / ".cache" / "newswatch" / "bench_api"
CORPUS_FILES = ("newswatch.db", "search.db")
NEWSWATCH = Path(sys.executable).with_name("newswatch")
SEED_ID = "seed_article"
START = datetime(2020, 7, 21, 9, 0, tzinfo=UTC)
BASELINE_SECONDS = 10.0

OUTLETS = [
    "The Northgate Courier",
    "Westminster Wire",
    "Harbour Post Asia",
    "Pacific Ledger",
    "The Albion Herald",
    "Meridian Business Daily",
    "Fenwick Gazette",
    "Lowland Observer",
    "Channel Daily",
    "The Estuary Times",
    "Coastline Review",
    "Summit Report",
]
# Per thread: words a story on it uses. Sentences are built from these and filler.
TOPICS = {
    "huawei-5g": ["Huawei", "5G network", "telecoms operators", "high-risk vendors", "masts"],
    "hong-kong": ["Hong Kong", "national security law", "extradition treaty", "activists"],
    "xinjiang": ["Xinjiang", "Uighur", "forced labour", "cotton supply chains", "sanctions"],
    "nuclear": ["Sizewell C", "Hinkley Point", "Bradwell", "nuclear stake", "CGN"],
    "sanctions-trade": ["trade deal", "investment screening", "export controls", "tariffs"],
    "five-eyes-security": ["Five Eyes", "intelligence sharing", "security review", "allies"],
}
FILLER_TEXT = (
    "ministers officials said on Tuesday the plan would be reviewed again before the autumn "
    "while critics warned that the timetable was ambitious and costs remained unclear for "
    "councils businesses and households across the country according to people familiar "
    "with the discussions who asked not to be named because talks were private"
)
FILLER = FILLER_TEXT.split()
QUERIES = [
    "huawei",
    '"hong kong"',
    "sanction*",
    "huawei AND (5g OR masts)",
    "xinjiang OR uighur",
    "nuclear NOT bradwell",
    "title:security",
    "extradition treaty",
    "",
]
# The typical searches: two terms, a phrase, a date-and-thread filter.
TYPICAL: dict[str, list[dict[str, str]]] = {
    "two terms": [
        {"q": "huawei masts"},
        {"q": "xinjiang sanctions"},
        {"q": "nuclear stake"},
        {"q": "trade tariffs"},
    ],
    "phrase": [
        {"q": '"national security law"'},
        {"q": '"forced labour"'},
        {"q": '"export controls"'},
        {"q": '"intelligence sharing"'},
    ],
    "date and thread": [
        {"q": "", "thread": "hong-kong", "since": "2020-09-01", "until": "2020-10-01"},
        {"q": "huawei", "thread": "huawei-5g", "since": "2021-01-01", "until": "2021-02-15"},
        {"q": "", "thread": "nuclear", "since": "2020-12-01", "until": "2021-01-01"},
        {"q": "sanctions", "thread": "xinjiang", "since": "2021-03-01", "until": "2021-05-01"},
    ],
}
TYPICAL_ROUNDS = 25


def sentence(rng: random.Random, terms: list[str]) -> str:
    words = rng.sample(FILLER, 12)
    for term in rng.sample(terms, 2):
        words.insert(rng.randrange(len(words)), term)
    return " ".join(words).capitalize() + "."


def generate(rng: random.Random, count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Article rows and story-cluster rows: ~25% of articles are copies of an earlier story."""
    articles: list[dict[str, Any]] = []
    clusters: dict[str, dict[str, Any]] = {}
    names = list(TOPICS)
    for i in range(count):
        published = START + timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        outlet = rng.choice(OUTLETS)
        aid = f"{i:032x}"
        if articles and rng.random() < 0.25:
            original = rng.choice(articles[-200:])
            text = original["text"] + " " + sentence(rng, TOPICS[original["threads"][0]])
            title, threads = original["title"], original["threads"]
            relation, cluster_id = original["relation"], original["cluster_id"]
        else:
            threads = rng.sample(names, rng.choice([1, 1, 2]))
            terms = [t for name in threads for t in TOPICS[name]]
            paragraphs = [
                " ".join(sentence(rng, terms) for _ in range(4)) for _ in range(rng.randint(3, 6))
            ]
            text = "\n".join(paragraphs)
            title = f"{rng.choice(terms)}: {' '.join(rng.sample(FILLER, 6))}".capitalize()
            relation = rng.choices(
                [Relation.FOLLOW_UP.value, Relation.UNRELATED.value, Relation.DUPLICATE.value],
                weights=[30, 69, 1],
            )[0]
            cluster_id = aid
        domain = outlet.lower().replace("the ", "").replace(" ", "-") + ".example"
        url = f"https://{domain}/news/{aid}"
        articles.append(
            {
                "id": aid,
                "canonical_url": url,
                "url": url,
                "status": ArticleStatus.CLASSIFIED,
                "title": title,
                "text": text,
                "word_count": len(text.split()),
                "published_at": published,
                "date_source": "page",
                "site_name": outlet,
                "domain": domain,
                "language": "en",
                "cluster_id": cluster_id,
                "relation": relation,
                "seed_similarity": 0.5,
                "threads": threads,
                "classified_at": published,
                "index_state": IndexState.PENDING,
                "discovered_at": published,
                "updated_at": published,
            }
        )
        cluster = clusters.setdefault(
            cluster_id,
            {"id": cluster_id, "representative_article_id": aid, "outlets": [], "size": 0},
        )
        cluster["size"] += 1
        if outlet not in cluster["outlets"]:
            cluster["outlets"].append(outlet)
        seen = [published, cluster.get("first_seen_at", published)]
        cluster["first_seen_at"] = min(seen)
        cluster["last_seen_at"] = max([published, cluster.get("last_seen_at", published)])
    return articles, list(clusters.values())


def build(data_dir: Path, count: int) -> dict[str, float]:
    """A fresh store and index with `count` articles; returns timings."""
    settings = Settings(data_dir=data_dir, feeds=[])
    store = open_store(settings.resolved_database_url)
    backend = open_index(settings)
    backend.ensure_ready()
    rng = random.Random(20200721)
    started = time.perf_counter()
    articles, clusters = generate(rng, count)
    relations = [
        {
            "article_id": a["id"],
            "seed_id": SEED_ID,
            "relation": a["relation"],
            "score": 0.5,
            "evidence": {"reason": "synthetic benchmark article"},
            "computed_at": a["classified_at"],
        }
        for a in articles
    ]
    with store.sessions() as session, session.begin():
        for chunk in range(0, count, 2000):
            session.execute(insert(Article), articles[chunk : chunk + 2000])
            session.execute(insert(SeedRelation), relations[chunk : chunk + 2000])
        session.execute(insert(StoryCluster), clusters)
    stored = time.perf_counter()
    counts = index_pending(store.sessions, backend, settings.index)
    indexed = time.perf_counter()
    store.dispose()
    if counts["indexed"] != count:
        raise SystemExit(f"indexing failed: {dict(counts)}")
    return {
        "store_s": stored - started,
        "index_s": indexed - stored,
        "clusters": len(clusters),
        "words": statistics.mean(a["word_count"] for a in articles),
    }


def cached_build(data_dir: Path, count: int, cache: Path) -> dict[str, float]:
    """`build`, or a copy of the corpus an earlier run built with the same code and size."""
    code = inspect.getsource(generate) + inspect.getsource(build) + repr((TOPICS, FILLER))
    key = hashlib.sha256(f"{count} {head_revision()} {code}".encode()).hexdigest()[:16]
    kept = cache / f"{count}-{key}"
    timings = kept / "build.json"
    if not timings.is_file():
        fresh = kept.with_name(kept.name + ".building")
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir(parents=True)
        built = build(fresh, count)
        for name in CORPUS_FILES:  # everything into the main files, which alone are copied
            with closing(sqlite3.connect(fresh / name)) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (fresh / "build.json").write_text(json.dumps(built), encoding="utf-8")
        shutil.rmtree(kept, ignore_errors=True)
        fresh.rename(kept)  # only a finished corpus is ever reused
    for name in CORPUS_FILES:
        shutil.copyfile(kept / name, data_dir / name)
    built = json.loads(timings.read_text(encoding="utf-8"))
    return {**built, "cache": str(kept)}


def service_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live children (uvicorn's workers), from /proc."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except FileNotFoundError:
            continue  # ended meanwhile
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        pending += [int(child) for child in children]
    return total


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    cpu_seconds: float = 0.0  # the service's, during this phase
    wall_seconds: float = 0.0
    first: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def requests(self) -> int:
        return sum(len(values) for values in self.latencies.values())

    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / max(1, self.requests())


def next_request(rng: random.Random, count: int) -> tuple[str, str, dict[str, Any]]:
    """(kind, path, params): mostly searches, as a newsroom would use it."""
    roll = rng.random()
    if roll < 0.70:
        params: dict[str, Any] = {"q": rng.choice(QUERIES)}
        if rng.random() < 0.3:
            params["thread"] = rng.choice(list(TOPICS))
        if rng.random() < 0.3:
            day = START + timedelta(days=rng.randrange(0, 300))
            params["since"] = day.date().isoformat()
            params["until"] = (day + timedelta(days=60)).date().isoformat()
        if rng.random() < 0.3:
            params["sort"] = "date"
        return "search", "/api/search", params
    if roll < 0.80:
        return "timeline", "/api/timeline", {"thread": rng.choice(list(TOPICS))}
    if roll < 0.85:
        return "threads", "/api/threads", {}
    return "article", f"/api/articles/{rng.randrange(count):032x}", {}


async def client(base_url: str, seed: int, deadline: float, count: int, tally: Tally) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        while time.perf_counter() < deadline:
            kind, path, params = next_request(rng, count)
            started = time.perf_counter()
            try:
                response = await http.get(path, params=params)
            except httpx.HTTPError as exc:
                tally.errors.append(f"{kind} {path}: {type(exc).__name__}: {exc}")
                continue
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                tally.errors.append(
                    f"{kind} {path} {params}: HTTP {response.status_code} {response.text[:300]}"
                )
            tally.latencies[kind].append(elapsed)


async def typical(base_url: str) -> Tally:
    """One client, each typical query TYPICAL_ROUNDS times (after one warm-up round)."""
    tally = Tally()
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        for round_number in range(TYPICAL_ROUNDS + 1):
            for kind, variants in TYPICAL.items():
                for params in variants:
                    started = time.perf_counter()
                    response = await http.get("/api/search", params=params)
                    elapsed = time.perf_counter() - started
                    if response.status_code != 200:
                        tally.errors.append(f"{kind} {params}: HTTP {response.status_code}")
                    elif round_number:
                        tally.latencies[kind].append(elapsed)
                    else:  # each variant's first request: nothing of it is cached yet
                        tally.first[kind].append(elapsed)
    return tally


async def load(base_url: str, clients: int, seconds: float, count: int) -> Tally:
    tally = Tally()
    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(client(base_url, i, deadline, count, tally) for i in range(clients)))
    return tally


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(
    data_dir: Path, port: int, workers: int, cache_seconds: float
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "NEWSWATCH_DATA_DIR": str(data_dir),
        "NEWSWATCH_FEEDS": "[]",
        "NEWSWATCH_API__WORKERS": str(workers),
        "NEWSWATCH_API__CACHE_SECONDS": str(cache_seconds),
    }
    server = subprocess.Popen(
        [str(NEWSWATCH), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            err = server.stderr.read().decode() if server.stderr else ""
            raise SystemExit(f"newswatch serve exited: {err[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.terminate()  # not kill: the supervisor stops its worker processes on SIGTERM
    server.wait(timeout=60)
    raise SystemExit("newswatch serve did not become ready within 180 s")


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
        f"clusters; stored in {built['store_s']:.1f} s, indexed by the index stage in "
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
