"""Dedup and seed-relation benchmark: quality on the labelled corpus, speed at scale.

    .venv/bin/python benchmarks/bench_dedup.py [--split dev|test|both] [--sizes 10000,100000]

Quality: every item of a split of ``benchmarks/dedup_eval`` (plus the seeds themselves)
goes through the real classify stage on a fresh SQLite store with default settings
(``benchmarks/dedup_eval/run.py``); we report precision/recall of the relation to the
default seed for ``duplicate`` and ``follow_up`` (its items only), pairwise
precision/recall of the story clusters against the gold near-copy clusters, and thread
tags. Thresholds were tuned on dev only. The four time-aware relations, same-event
clusters, the Chinese items and the second seed are reported by ``bench_relations.py``.

Speed: synthetic corpora of N articles drawn from a Zipf word distribution (fixed
random seed), with 5% near-copies. We time fingerprinting, and against a store of N
articles the band-key lookup, the passage lookup and the full near-duplicate check.
Nothing is loaded at start (the band keys are in the store); ``bench_dedup_scale.py``
measures memory and start-up at 1,000,000 articles.

Results go to benchmarks/results/dedup.md and are printed.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.dedup_eval.load import DEFAULT_SEED, duplicate_clusters, load_items  # noqa: E402
from benchmarks.dedup_eval.run import classify_items  # noqa: E402
from benchmarks.dedup_eval.score import (  # noqa: E402
    PR,
    pair_scores,
    relation_scores,
    thread_scores,
)
from pipeline.classify.copies import near_duplicate, prefetch  # noqa: E402
from pipeline.classify.dedup import (  # noqa: E402
    Fingerprint,
    fingerprint,
    signature_band_keys,
)
from pipeline.classify.repository import (  # noqa: E402
    StoredPrint,
    band_rows,
    best_passage_matches,
    passage_rows,
    save_fingerprints,
)
from pipeline.config import DedupSettings  # noqa: E402
from pipeline.records import ArticleStatus, utcnow  # noqa: E402
from pipeline.store import open_store  # noqa: E402
from pipeline.store.models import Article  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "dedup.md"
RANDOM_SEED = 20200721
QUERIES = 1000


# ---------------------------------------------------------------- quality


def _row(name: str, pr: PR) -> str:
    return f"| {name} | {pr.precision:.3f} | {pr.recall:.3f} | {pr.tp} | {pr.fp} | {pr.fn} |"


@dataclass
class Quality:
    split: str
    items: int
    relation: dict[str, PR]
    pairs: PR
    threads: PR
    errors: list[str]
    seconds: float


def evaluate(split: str) -> Quality:
    """Relation to the default seed (its items only), copy clusters and thread tags."""
    items = load_items(split)
    run = classify_items(items)
    mine = [i for i in items if i.seed == DEFAULT_SEED]
    scores = relation_scores(mine, run.predictions)
    relation = {name: scores.per_class[name] for name in ("duplicate", "follow_up")}
    clusters = {k: p.cluster for k, p in run.predictions.items()}
    pairs = pair_scores(duplicate_clusters(items), clusters, [*clusters])
    threads = thread_scores(mine, run.predictions)
    return Quality(split, len(items), relation, pairs, threads, scores.errors, run.seconds)


# ---------------------------------------------------------------- speed


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[list[str], np.ndarray]:
    """30,000 made-up words and their cumulative Zipf probabilities (one for all corpora)."""
    rng = np.random.default_rng(RANDOM_SEED)
    syllables = ["ka", "lo", "mi", "ter", "van", "sul", "dro", "pe", "quin", "bar"]
    size = 30_000
    picks = rng.integers(0, len(syllables), size=(size, 4)).tolist()
    lengths = rng.integers(2, 5, size=size).tolist()
    vocab = ["".join(syllables[k] for k in picks[i][: lengths[i]]) + str(i) for i in range(size)]
    weights = 1 / np.arange(1, size + 1) ** 1.07
    return vocab, np.cumsum(weights / weights.sum())


def synthetic_corpus(n: int, seed: int = RANDOM_SEED, copies: float = 0.05) -> list[str]:
    """n articles of 5–14 paragraphs of Zipf-distributed made-up words; a share of them
    are near-copies of earlier ones."""
    vocab, cumulative = _vocabulary()
    rng = np.random.default_rng(seed)
    texts: list[str] = []
    for i in range(n):
        if i and rng.random() < copies:
            texts.append(_near_copy(texts[int(rng.integers(0, i))], rng))
            continue
        # Paragraphs of 2–4 sentences of 8–24 words; all words of the article drawn at once.
        shape = [
            rng.integers(8, 25, size=int(rng.integers(2, 5))) for _ in range(rng.integers(5, 15))
        ]
        lengths = np.concatenate(shape)
        ids = np.minimum(np.searchsorted(cumulative, rng.random(lengths.sum())), len(vocab) - 1)
        words = [vocab[k] for k in ids.tolist()]
        ends = np.cumsum(lengths).tolist()
        sentences = [
            " ".join(words[e - n : e]).capitalize() + "."
            for n, e in zip(lengths.tolist(), ends, strict=True)
        ]
        paragraphs, start = [], 0
        for para in shape:
            paragraphs.append(" ".join(sentences[start : start + len(para)]))
            start += len(para)
        texts.append("\n".join(paragraphs))
    return texts


def _near_copy(text: str, rng: np.random.Generator) -> str:
    """Different chrome, one paragraph dropped, a few words changed."""
    paragraphs = text.split("\n")
    if len(paragraphs) > 3:
        del paragraphs[int(rng.integers(1, len(paragraphs)))]
    words = "\n".join(paragraphs).split(" ")
    for _ in range(3):
        words[int(rng.integers(0, len(words)))] = "edited"
    return "Share this article\n" + " ".join(words) + "\nSign up for our newsletter."


def _fingerprints(texts: list[str], settings: DedupSettings) -> list[Fingerprint]:
    workers = max(1, (os.cpu_count() or 1))
    chunk = max(1, len(texts) // (workers * 8))
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(_fingerprint_one, texts, [settings] * len(texts), chunksize=chunk))


def _fingerprint_one(text: str, settings: DedupSettings) -> Fingerprint:
    return fingerprint(text, settings)


def _timed(calls: Iterable[Callable[[], object]]) -> list[float]:
    """Milliseconds per call."""
    out = []
    for call in calls:
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _summary(ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"{statistics.fmean(ms):.3f} / {statistics.median(ms):.3f} / {p95:.3f}"


@dataclass
class Speed:
    size: int
    rows: list[tuple[str, str]]


def measure_speed(size: int) -> Speed:
    settings = DedupSettings()
    print(f"[speed] generating {size} synthetic articles…", flush=True)
    corpus = synthetic_corpus(size)
    fresh = synthetic_corpus(QUERIES // 2, seed=RANDOM_SEED + 1, copies=0.0)
    rng = np.random.default_rng(RANDOM_SEED + size)
    copies_of = rng.choice(size, size=QUERIES // 2, replace=False)
    queries = [_near_copy(corpus[i], rng) for i in copies_of] + fresh
    rows: list[tuple[str, str]] = []

    gc.freeze()  # as below: measure the code, not GC passes over the generated corpus
    sample = corpus[: min(1000, size)]
    fp_ms = _timed(partial(fingerprint, t, settings) for t in sample)
    words = statistics.fmean(len(t.split()) for t in sample)
    rows.append(
        ("fingerprint (normalise, shingle, MinHash, passages), ms/article", _summary(fp_ms))
    )

    print(f"[speed] fingerprinting {size} articles in parallel…", flush=True)
    prints = _fingerprints(corpus, settings)
    query_prints = [fingerprint(q, settings) for q in queries]
    gc.freeze()  # the collector should not time its scans of the benchmark's own corpus

    when = utcnow()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'speed.db'}")
        print(f"[speed] storing {size} articles, signatures, band keys and passages…", flush=True)
        _store_corpus(store, corpus, prints, when, settings)
        with store.sessions() as session:
            keys = [
                list(enumerate(signature_band_keys(fp.signature, settings))) for fp in query_prints
            ]
            band_ms = _timed(partial(band_rows, session, k) for k in keys)
            found = [{r[2] for r in band_rows(session, k)} for k in keys]
            hits = sum(f"a{i}" in cands for i, cands in zip(copies_of, found, strict=False))
            rows.append(("band-key lookup (SQLite), ms/query", _summary(band_ms)))
            rows.append(
                ("band-key candidates per query (mean)", f"{statistics.fmean(map(len, found)):.2f}")
            )
            rows.append(
                ("near-copies whose original is a band-key candidate", f"{hits}/{len(copies_of)}")
            )
            passage_ms = _timed(
                partial(_passage_lookup, session, fp.passages) for fp in query_prints
            )
            rows.append(("passage lookup (SQLite), ms/query", _summary(passage_ms)))
            check_ms = _timed(partial(_check, session, fp, when) for fp in query_prints)
            matches = [_check(session, fp, when) for fp in query_prints]
            rows.append(
                (
                    "full near-duplicate check (band keys + passages + verification), ms/query",
                    _summary(check_ms),
                )
            )
            copies_found = sum(m is not None for m in matches[: len(copies_of)])
            false_found = sum(m is not None for m in matches[len(copies_of) :])
            rows.append(
                (
                    "near-copies found / fresh articles wrongly matched",
                    f"{copies_found}/{len(copies_of)} · {false_found}/{len(fresh)}",
                )
            )
        store.dispose()
    rows.insert(0, ("mean words per article", f"{words:.0f}"))
    return Speed(size, rows)


def _passage_lookup(session: Any, hashes: frozenset[int]) -> list[str]:
    counts: Counter[str] = Counter(aid for _, aid in passage_rows(session, hashes))
    return best_passage_matches(counts, exclude=None)


def _check(session: Any, fp: Fingerprint, when: datetime) -> object:
    """The near-duplicate check for one text, as `newswatch classify PATH` makes it."""
    copies = prefetch(session, [StoredPrint("", fp, when)], DedupSettings())
    return near_duplicate(copies, "", fp, when)


def _store_corpus(
    store: Any, texts: list[str], prints: list[Fingerprint], now: datetime, settings: DedupSettings
) -> None:
    chunk = 5000
    for start in range(0, len(texts), chunk):
        with store.sessions() as session, session.begin():
            batch = range(start, min(start + chunk, len(texts)))
            session.execute(
                insert(Article),
                [
                    {
                        "id": f"a{n}",
                        "canonical_url": f"https://synthetic.example/{n}",
                        "url": f"https://synthetic.example/{n}",
                        "status": ArticleStatus.CLASSIFIED,
                        "text": texts[n],
                        "cluster_id": f"a{n}",
                        "discovered_at": now,
                        "updated_at": now,
                        "threads": [],
                    }
                    for n in batch
                ],
            )
            save_fingerprints(
                session, [StoredPrint(f"a{n}", prints[n], now) for n in batch], settings
            )


# ---------------------------------------------------------------- report


def report(qualities: list[Quality], speeds: list[Speed], command: str) -> str:
    settings = DedupSettings()
    lines = [
        "# Dedup and seed-relation benchmark",
        "",
        f"Command: `{command}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "",
        "Settings (defaults): "
        f"num_perm={settings.num_perm}, shingle_words={settings.shingle_words}, "
        f"lsh_threshold={settings.lsh_threshold}, "
        f"duplicate_threshold={settings.duplicate_threshold}, "
        f"follow_up_threshold={settings.follow_up_threshold}, "
        f"rewrite_threshold={settings.rewrite_threshold}, "
        f"passage_min_words={settings.passage_min_words}. Tuned on dev only.",
        "",
    ]
    for q in qualities:
        lines += [
            f"## Quality — {q.split} "
            f"({q.items} items + the seeds; classify stage took {q.seconds:.2f} s)",
            "",
            "| measure | precision | recall | tp | fp | fn |",
            "|---|---:|---:|---:|---:|---:|",
            _row("relation `duplicate`", q.relation["duplicate"]),
            _row("relation `follow_up`", q.relation["follow_up"]),
            _row("near-duplicate clustering (item pairs)", q.pairs),
            _row("thread tags (item × thread)", q.threads),
            "",
            "Relation errors: " + ("; ".join(q.errors) if q.errors else "none"),
            "",
        ]
    for s in speeds:
        lines += [
            f"## Speed — {s.size:,} synthetic articles",
            "",
            "Times as mean / median / p95 where three figures are given.",
            "",
            "| measure | value |",
            "|---|---:|",
            *[f"| {name} | {value} |" for name, value in s.rows],
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=["dev", "test", "both"], default="both")
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated; '' for none")
    args = parser.parse_args()
    splits = ["dev", "test"] if args.split == "both" else [args.split]
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    qualities = [evaluate(split) for split in splits]
    speeds = [measure_speed(size) for size in sizes]
    command = "benchmarks/bench_dedup.py " + " ".join(sys.argv[1:])
    text = report(qualities, speeds, command.strip())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
