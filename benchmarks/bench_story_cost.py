"""What the story evidence (a seed's distinctive terms) costs the seed relation.

    .venv/bin/python benchmarks/bench_story_cost.py [--rounds N] [--out FILE]

Every item of `benchmarks/dedup_eval` (both splits) is analysed once; then `relate()` is
timed against both built-in seeds, in alternating rounds, with the seeds' real profiles
and with the same profiles stripped of their story terms (what the relation cost before
the story evidence). Reports wall and CPU time per article and their ratio, measured side
by side in one run, and the one-off cost of building a seed's profile (word frequencies
loaded, the seed's passages embedded).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.dedup_eval.load import SEED_EVENTS, SPLITS, load_items  # noqa: E402
from benchmarks.machine import describe, write_report  # noqa: E402
from pipeline.classify.analysis import Analysis, SeedProfile, analyse, profile_seed  # noqa: E402
from pipeline.classify.dating import Dated  # noqa: E402
from pipeline.classify.embed import default_embedder  # noqa: E402
from pipeline.classify.relate import relate  # noqa: E402
from pipeline.classify.seeds import builtin_seed  # noqa: E402
from pipeline.classify.threads import load_thread_book  # noqa: E402
from pipeline.config import DedupSettings  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "story_cost.md"


def _time(
    work: list[tuple[Analysis, Dated | None]], profiles: list[SeedProfile], settings: DedupSettings
) -> tuple[float, float]:
    """(wall, CPU) seconds to relate every article to every profile."""
    wall, cpu = time.perf_counter(), time.process_time()
    for analysis, when in work:
        for profile in profiles:
            relate(analysis, profile, settings, when)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    settings, book, embedder = DedupSettings(), load_thread_book(), default_embedder()
    started = time.perf_counter()
    profiles = [profile_seed(builtin_seed(s), settings, book, embedder) for s in SEED_EVENTS]
    profile_seconds = time.perf_counter() - started
    bare = [replace(p, story_terms={}, story_self=0.0) for p in profiles]
    items = [i for split in SPLITS for i in load_items(split)]
    work = [
        (
            analyse(i.text, i.title, settings, book, embedder),
            Dated.of(i.published.astimezone(UTC) if i.published else None, i.seen_at),
        )
        for i in items
    ]
    per_article: dict[str, list[tuple[float, float]]] = {"story": [], "bare": []}
    for _ in range(args.rounds):
        per_article["bare"].append(_time(work, bare, settings))
        per_article["story"].append(_time(work, profiles, settings))
    n = len(work)

    def median_ms(name: str, index: int) -> float:
        return statistics.median(r[index] for r in per_article[name]) / n * 1000

    lines = [
        "# Cost of the story evidence in the seed relation",
        "",
        f"Command: `.venv/bin/python benchmarks/bench_story_cost.py --rounds {args.rounds}`  ",
        describe(),
        "",
        f"{n} articles × {len(profiles)} seeds, {args.rounds} alternating rounds; medians "
        "per article (relate() to both seeds; analysis and embedding not included).",
        "",
        "| profile | wall ms/article | CPU ms/article |",
        "|---|---:|---:|",
        f"| without story terms | {median_ms('bare', 0):.3f} | {median_ms('bare', 1):.3f} |",
        f"| with story terms | {median_ms('story', 0):.3f} | {median_ms('story', 1):.3f} |",
        f"| ratio | {median_ms('story', 0) / median_ms('bare', 0):.2f} "
        f"| {median_ms('story', 1) / median_ms('bare', 1):.2f} |",
        "",
        f"One-off: building both seeds' profiles took {profile_seconds:.2f} s wall "
        "(word frequencies loaded once per process, the seeds' paragraphs embedded).",
    ]
    write_report(args.out, lines)


if __name__ == "__main__":
    main()
