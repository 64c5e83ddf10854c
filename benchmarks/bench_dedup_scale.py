"""Dedup at a million stored articles: memory, start-up and lookup with band keys in the store.

    .venv/bin/python benchmarks/bench_dedup_scale.py [--articles 1000000] [--url URL]

Issue #13, target 3: with 1,000,000 articles stored, a classify run's peak RSS stays
under 400 MB, classify starts in under 1 s, and the near-duplicate lookup takes at most
2 ms at the median.

The store is built quickly from synthetic content, at migration 0006 (before band keys):
articles without text, each with a random MinHash signature (random 32-bit values: what
is measured is the store's size, not dedup quality, which ``bench_relations.py`` and
``bench_dedup.py`` report) and ``PASSAGES_PER_ARTICLE`` random passage hashes, dated over
three years; plus ``PLANTED`` articles with real synthetic text (``bench_dedup``'s Zipf
corpus), all inserted with Core ``executemany`` in large transactions. Then:

1. migration 0007 runs in a child process: it backfills the band keys from the stored
   signatures, streaming (its peak RSS says whether memory stays bounded);
2. classify start: a child process runs the classify stage with nothing to do, on this
   store and on an empty one, side by side (the difference is what the store's size
   costs at start; the rest is loading the embedding model and the seeds);
3. a classify run: a child process classifies ``QUERIES`` new articles (half near-copies
   of planted articles, half fresh), on this store and on an empty one; peak RSS, time,
   and how many copies were found;
4. lookup: the near-duplicate lookup for one text (band keys, passages and verification
   of the candidates, as ``newswatch classify PATH`` and each article of the stage do),
   timed per query in this process, and the band-key query alone.

Wall time beside CPU time for every child; the report gives the load average. Writes
benchmarks/results/dedup_scale.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_dedup import _near_copy, synthetic_corpus  # noqa: E402
from benchmarks.machine import describe, write_report  # noqa: E402
from pipeline.classify.copies import near_duplicate, prefetch  # noqa: E402
from pipeline.classify.dedup import (  # noqa: E402
    band_keys,
    band_layout,
    fingerprint,
    signature_band_keys,
)
from pipeline.classify.repository import (  # noqa: E402
    StoredPrint,
    band_rows,
    passage_rows,
    save_fingerprints,
)
from pipeline.config import DedupSettings, Settings  # noqa: E402
from pipeline.records import ArticleStatus  # noqa: E402
from pipeline.store import open_store  # noqa: E402
from pipeline.store.db import make_engine  # noqa: E402
from pipeline.store.models import Article  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "dedup_scale.md"
PASSAGES_PER_ARTICLE = 5
PLANTED = 1000
QUERIES = 200
CHUNK = 20_000
START = datetime(2023, 11, 1, tzinfo=UTC)
SPAN_DAYS = 3 * 365
RANDOM_SEED = 20261130


def _article(aid: str, when: datetime, text: str | None, status: ArticleStatus) -> dict[str, Any]:
    done = status is not ArticleStatus.EXTRACTED
    return {
        "id": aid,
        "canonical_url": f"https://synthetic.example/{aid}",
        "url": f"https://synthetic.example/{aid}",
        "status": status,
        "title": "Synthetic story" if text else None,
        "text": text,
        "word_count": len(text.split()) if text else None,
        "published_at": when,
        "discovered_at": when,
        "updated_at": when,
        "classified_at": when if done else None,
        "cluster_id": aid if done else None,
        "threads": [],
        "ignore_robots": False,
        "fetch_attempts": 0,
        "index_attempts": 0,
    }


def _sqlite_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")  # how the store writes UTC on SQLite


def build(url: str, size: int, planted: list[str], planted_at: list[datetime]) -> float:
    """The store at head with `size` filler articles (SQLite, raw executemany, the band
    index built once at the end) and the planted ones (through the store's own code)."""
    started = time.perf_counter()
    fill(url, size)
    finish(url, planted, planted_at)
    return time.perf_counter() - started


def fill(url: str, size: int) -> None:
    """The filler articles, committed CHUNK at a time, without the band-key index."""
    settings = DedupSettings()
    bands, rows = band_layout(settings.lsh_threshold, settings.num_perm)
    store = open_store(url)
    rng = np.random.default_rng(RANDOM_SEED)
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("DROP INDEX ix_dedup_bands_band_key")
        for n0 in range(0, size, CHUNK):
            count = min(size, n0 + CHUNK) - n0
            ids = [f"{n:032x}" for n in range(n0, n0 + count)]
            offsets = rng.integers(0, SPAN_DAYS * 86_400, size=count).tolist()
            times = [_sqlite_time(START + timedelta(seconds=o)) for o in offsets]
            signatures = rng.integers(0, 2**32, size=(count, settings.num_perm), dtype=np.uint32)
            keys = band_keys(signatures, bands, rows).tolist()
            hashes = rng.integers(-(2**63), 2**63 - 1, size=(count, PASSAGES_PER_ARTICLE))
            digests = rng.integers(0, 2**63 - 1, size=count).tolist()
            cur.executemany(
                "INSERT INTO articles (id, canonical_url, url, ignore_robots, status, "
                "published_at, discovered_at, updated_at, classified_at, cluster_id, "
                "fetch_attempts, index_attempts, threads, index_state, text_hash) "
                "VALUES (?, ?, ?, 0, 'indexed', ?, ?, ?, ?, ?, 0, 0, '[]', 'indexed', ?)",
                [
                    (
                        aid,
                        f"https://synthetic.example/{aid}",
                        f"https://synthetic.example/{aid}",
                        t,
                        t,
                        t,
                        t,
                        aid,
                        f"{digest:016x}" * 4,  # stands in for the text's sha256
                    )
                    for aid, t, digest in zip(ids, times, digests, strict=True)
                ],
            )
            cur.executemany(
                "INSERT INTO dedup_bands (article_id, band, key, seen_at) VALUES (?, ?, ?, ?)",
                [
                    (aid, band, key, t)
                    for aid, t, row_keys in zip(ids, times, keys, strict=True)
                    for band, key in enumerate(row_keys)
                ],
            )
            cur.executemany(
                "INSERT INTO dedup_passages (passage_hash, article_id) VALUES (?, ?)",
                [(h, aid) for aid, row in zip(ids, hashes.tolist(), strict=True) for h in row],
            )
            raw.commit()
            print(f"[build] {n0 + count:,} articles", flush=True)
    finally:
        raw.close()
    store.dispose()


def finish(url: str, planted: list[str], planted_at: list[datetime]) -> None:
    """The band-key index (one sort over the filled table) and the planted articles."""
    settings = DedupSettings()
    store = open_store(url)
    with store.engine.begin() as conn:
        conn.execute(
            text("CREATE INDEX IF NOT EXISTS ix_dedup_bands_band_key ON dedup_bands (band, key)")
        )
    with store.sessions() as session, session.begin():
        session.execute(
            insert(Article),
            [
                _article(f"p{n:031d}", when, text, ArticleStatus.INDEXED)
                for n, (text, when) in enumerate(zip(planted, planted_at, strict=True))
            ],
        )
        save_fingerprints(
            session,
            [
                StoredPrint(f"p{n:031d}", fingerprint(text, settings), when)
                for n, (text, when) in enumerate(zip(planted, planted_at, strict=True))
            ],
            settings,
        )
    store.dispose()


# ---------------------------------------------------------------- child processes


def _child(args: list[str]) -> dict[str, Any]:
    """Run one step in a fresh process; returns its report (wall, CPU, peak RSS...)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    out["process_wall_s"] = time.perf_counter() - started
    return out


def _self_usage(started: float, cpu0: float) -> dict[str, Any]:
    # VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork and exec.
    status = Path("/proc/self/status").read_text().splitlines()
    peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return {
        "wall_s": time.perf_counter() - started,
        "cpu_s": _cpu() - cpu0,
        "peak_rss_mb": peak_kib / 1024,
    }


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_main(step: str, url: str, data_dir: str) -> None:
    from pipeline.classify.stage import classify_pending

    started, cpu0 = time.perf_counter(), _cpu()
    out: dict[str, Any] = {"step": step}
    store = open_store(url)
    settings = Settings(data_dir=Path(data_dir), feeds=[])
    out["counts"] = dict(classify_pending(store.sessions, settings))
    store.dispose()
    out.update(_self_usage(started, cpu0))
    print(json.dumps(out))


# ---------------------------------------------------------------- measurement


def add_queries(url: str, queries: list[str], dates: list[datetime]) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            insert(Article),
            [
                _article(f"q{n:031d}", when, text, ArticleStatus.EXTRACTED)
                for n, (text, when) in enumerate(zip(queries, dates, strict=True))
            ],
        )
    engine.dispose()


def lookups(url: str, queries: list[str], dates: list[datetime]) -> dict[str, list[float]]:
    """Per query, wall and CPU ms: the near-copy candidates (the band-key query and the
    passage query), and the whole check as ``newswatch classify PATH`` makes it (exact
    hash, candidates, and verifying the candidates' text)."""
    settings = DedupSettings()
    prints = [fingerprint(q, settings) for q in queries]
    store = open_store(url)
    times: dict[str, list[float]] = defaultdict(list)
    with store.sessions() as session:
        for n, (fp, when) in enumerate(zip(prints, dates, strict=True)):
            qid = f"x{n:031d}"
            keys = list(enumerate(signature_band_keys(fp.signature, settings)))
            wall, cpu = time.perf_counter(), time.process_time()
            band_rows(session, keys)
            times["bands wall"].append((time.perf_counter() - wall) * 1000)
            times["bands cpu"].append((time.process_time() - cpu) * 1000)
            passage_rows(session, fp.passages)
            times["candidates wall"].append((time.perf_counter() - wall) * 1000)
            times["candidates cpu"].append((time.process_time() - cpu) * 1000)
            wall, cpu = time.perf_counter(), time.process_time()
            copies = prefetch(session, [StoredPrint(qid, fp, when)], settings)
            match = near_duplicate(copies, qid, fp, when)
            times["check wall"].append((time.perf_counter() - wall) * 1000)
            times["check cpu"].append((time.process_time() - cpu) * 1000)
            times["found"].append(float(match is not None))
    store.dispose()
    return times


def _filler_count(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(Article)).scalar_one()
    engine.dispose()
    return int(total) - PLANTED


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{statistics.median(ordered):.3f} / {p95:.3f} / {statistics.fmean(ordered):.3f}"


def _usage_row(name: str, r: dict[str, Any]) -> str:
    return f"| {name} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['peak_rss_mb']:.0f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--url", help="store URL (default: a SQLite file in a temporary dir)")
    parser.add_argument(
        "--existing",
        type=Path,
        help="a SQLite store whose filler a stopped run already wrote (its chunks are "
        "committed one by one): finish it and measure, instead of building",
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(*args.child)
        return

    rng = np.random.default_rng(RANDOM_SEED + 1)
    planted = synthetic_corpus(PLANTED, seed=RANDOM_SEED, copies=0.0)
    planted_at = [
        START + timedelta(seconds=int(s)) for s in rng.integers(0, SPAN_DAYS * 86_400, PLANTED)
    ]
    picks = rng.choice(PLANTED, size=QUERIES // 2, replace=False).tolist()
    queries = [_near_copy(planted[i], rng) for i in picks]
    queries += synthetic_corpus(QUERIES - len(queries), seed=RANDOM_SEED + 2, copies=0.0)
    dates = [planted_at[i] + timedelta(hours=3) for i in picks]
    dates += [START + timedelta(days=400 + n) for n in range(QUERIES - len(picks))]

    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{args.existing or Path(tmp) / 'scale.db'}"
        empty = f"sqlite:///{Path(tmp) / 'empty.db'}"
        if args.existing:
            started = time.perf_counter()
            finish(url, planted, planted_at)
            build_s = time.perf_counter() - started
            args.articles = _filler_count(url)
        else:
            build_s = build(url, args.articles, planted, planted_at)
        start_big = _child(["classify", url, tmp])
        start_empty = _child(["classify", empty, tmp])
        lookup = lookups(url, queries, dates)
        add_queries(url, queries, dates)
        add_queries(empty, queries, dates)
        run_big = _child(["classify", url, tmp])
        run_empty = _child(["classify", empty, tmp])

    found = run_big["counts"].get("near_duplicates", 0)
    lines = [
        f"# Dedup at {args.articles:,} stored articles",
        "",
        "Command: `.venv/bin/python benchmarks/bench_dedup_scale.py "
        + (
            "--existing STORE` (the filler of a stopped `--articles N` run)"
            if args.existing
            else f"--articles {args.articles}`"
        )
        + "  ",
        describe(),
        "",
        f"Store: {args.articles:,} synthetic articles (random signatures, "
        f"{PASSAGES_PER_ARTICLE} random passages each, dated over {SPAN_DAYS} days; no stored "
        f"signatures, which nothing reads at run time) and {PLANTED} with real synthetic text; "
        + (
            f"finished (band-key index, planted articles) in {build_s:.0f} s."
            if args.existing
            else f"built in {build_s:.0f} s."
        ),
        "",
        "| step (own process) | wall s | CPU s | peak RSS MB |",
        "|---|---:|---:|---:|",
        _usage_row("classify start, nothing to do — this store", start_big),
        _usage_row("classify start, nothing to do — empty store", start_empty),
        _usage_row(f"classify {QUERIES} new articles — this store", run_big),
        _usage_row(f"classify {QUERIES} new articles — empty store", run_empty),
        "",
        f"Near-copies found by the classify run: {found} of {len(picks)} "
        f"(fresh articles: {QUERIES - len(picks)}; counts {run_big['counts']}).",
        "",
        "| lookup, one text, ms | wall: median / p95 / mean | CPU: median / p95 / mean |",
        "|---|---:|---:|",
        *[
            f"| {name} | {_ms(lookup[key + ' wall'])} | {_ms(lookup[key + ' cpu'])} |"
            for name, key in (
                ("band-key query", "bands"),
                ("near-copy candidates: band-key query + passage query", "candidates"),
                ("whole check: exact hash + candidates + verifying their text", "check"),
            )
        ],
        "",
        f"Lookups that found the planted original: {int(sum(lookup['found'][: len(picks)]))}"
        f"/{len(picks)}; fresh texts matched: {int(sum(lookup['found'][len(picks) :]))}"
        f"/{QUERIES - len(picks)}.",
    ]
    write_report(RESULTS, lines)


if __name__ == "__main__":
    main()
