"""The classify stage's cost against the classifier before embeddings, side by side.

    .venv/bin/python benchmarks/bench_classify_cost.py --before DIR [--main DIR]
        [--articles 1000] [--repeats 2]
    .venv/bin/python benchmarks/bench_classify_cost.py --profile FILE [--articles 200]

Issue #11: classify-stage throughput may fall at most 25% against the pre-embedding
classifier, measured side by side in one run. ``--before`` is a git worktree of the
commit before the embeddings landed (``git log -- pipeline/classify/embed.py``: the
parent of its first commit, c5791d3^); ``--main``, optionally, one of ``main`` before
this branch, to show what batching the store work bought. Each version runs in its own
process with that tree first on ``PYTHONPATH`` (the same venv), on its own fresh SQLite
store, over the same ``--articles`` stories from ``benchmarks/corpus.py`` (about 20%
syndicated near-copies), inserted as extracted articles. The versions alternate, repeat
after repeat.

Each process first classifies a separate warm-up set of 20 stories: that pays the
one-off costs (imports, the embedding model's load, the first queries) and is reported
apart. The steady-state figure is the CPU time (user + system) of classifying the
corpus after that; wall time is given beside it. Writes
benchmarks/results/classify_cost.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Not put on sys.path here: a child process must import the version under test, from
# its PYTHONPATH, not this tree.
ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "classify_cost.md"
WARM_UP = 20
COUNTS = (
    "classified",
    "exact_duplicates",
    "near_duplicates",
    "same_event_joins",
    "new_clusters",
)


def _stories(count: int, seed: int) -> list[dict[str, Any]]:
    from benchmarks.corpus import OUTLETS, build_corpus

    return [
        {
            "id": f"{seed:02d}{n:030d}",
            "url": f"https://{OUTLETS[p.outlet].lower().replace(' ', '-')}.example/{p.slug}",
            "title": p.title,
            "text": "\n\n".join(p.paragraphs),
            "published_at": p.published.isoformat(),
            "outlet": OUTLETS[p.outlet],
        }
        for n, p in enumerate(build_corpus(count, seed=seed))
    ]


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def child_main(stories_file: str, data_dir: str, profile: str = "") -> None:
    """Runs inside the version under test (its tree first on PYTHONPATH); with `profile`,
    the steady run goes under pyinstrument, whose text report is written there."""
    from datetime import datetime

    from sqlalchemy import insert

    from pipeline.classify.stage import classify_pending
    from pipeline.config import Settings
    from pipeline.store import open_store
    from pipeline.store.models import Article

    stories = json.loads(Path(stories_file).read_text(encoding="utf-8"))
    settings = Settings(data_dir=Path(data_dir), feeds=[])
    store = open_store(f"sqlite:///{Path(data_dir) / 'store.db'}")

    def add(batch: list[dict[str, Any]]) -> None:
        with store.sessions() as session, session.begin():
            session.execute(
                insert(Article),
                [
                    {
                        "id": s["id"],
                        "canonical_url": s["url"],
                        "url": s["url"],
                        "status": "extracted",
                        "title": s["title"],
                        "text": s["text"],
                        "word_count": len(s["text"].split()),
                        "published_at": datetime.fromisoformat(s["published_at"]),
                        "discovered_at": datetime.fromisoformat(s["published_at"]),
                        "site_name": s["outlet"],
                        "domain": s["url"].split("/")[2],
                    }
                    for s in batch
                ],
            )

    out: dict[str, Any] = {}
    for phase, batch in (("warm", stories[:WARM_UP]), ("steady", stories[WARM_UP:])):
        add(batch)
        wall, cpu = time.perf_counter(), _cpu()
        if phase == "steady" and profile:
            from pyinstrument import Profiler

            with Profiler() as profiler:
                counts = classify_pending(store.sessions, settings)
            Path(profile).write_text(profiler.output_text(show_all=False), encoding="utf-8")
        else:
            counts = classify_pending(store.sessions, settings)
        out[phase] = {
            "wall_s": time.perf_counter() - wall,
            "cpu_s": _cpu() - cpu,
            "counts": {k: int(v) for k, v in counts.items()},
        }
    store.dispose()
    print(json.dumps(out))


def run_version(tree: Path, stories_file: Path, profile: str = "") -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "PYTHONPATH": str(tree)}
        started, cpu = time.perf_counter(), os.times()
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(stories_file), data_dir, profile],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            cwd=tree,
        )
        after = os.times()
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    out["process"] = {
        "wall_s": time.perf_counter() - started,
        "cpu_s": after.children_user
        + after.children_system
        - cpu.children_user
        - cpu.children_system,
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, help="worktree of the pre-embedding commit")
    parser.add_argument("--main", type=Path, help="worktree of main before this branch")
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--profile", type=Path, help="only profile this branch once (pyinstrument text here)"
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(*args.child)
        return
    sys.path.insert(0, str(ROOT))
    if args.profile:
        with tempfile.TemporaryDirectory() as tmp:
            stories_file = Path(tmp) / "stories.json"
            stories = _stories(WARM_UP, seed=7) + _stories(args.articles, seed=13)
            stories_file.write_text(json.dumps(stories), encoding="utf-8")
            run_version(ROOT, stories_file, str(args.profile.resolve()))
        return
    if args.before is None:
        parser.error("--before is required (or --profile)")
    from benchmarks.machine import describe, write_report

    versions = {"before embeddings": args.before.resolve()}
    if args.main:
        versions["main before this branch"] = args.main.resolve()
    versions["this branch"] = ROOT
    warm = _stories(WARM_UP, seed=7)
    corpus = _stories(args.articles, seed=13)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in versions}
    with tempfile.TemporaryDirectory() as tmp:
        stories_file = Path(tmp) / "stories.json"
        stories_file.write_text(json.dumps(warm + corpus), encoding="utf-8")
        for repeat in range(args.repeats):
            for name, tree in versions.items():
                print(f"[cost] repeat {repeat + 1}: {name}", flush=True)
                runs[name].append(run_version(tree, stories_file))
            # Written after every repeat, so a stopped run still leaves its figures.
            write_report(RESULTS, report(runs, args, describe()))


def _median(runs: list[dict[str, Any]], phase: str, key: str) -> float:
    return float(statistics.median(r[phase][key] for r in runs))


def report(
    runs: dict[str, list[dict[str, Any]]], args: argparse.Namespace, machine: str
) -> list[str]:
    base = _median(runs["before embeddings"], "steady", "cpu_s")
    command = (
        f"benchmarks/bench_classify_cost.py --before {args.before}"
        + (f" --main {args.main}" if args.main else "")
        + f" --articles {args.articles} --repeats {args.repeats}"
    )
    lines = [
        "# Classify-stage cost: before embeddings, and now",
        "",
        f"Command: `.venv/bin/python {command}`  ",
        machine,
        "",
        f"{args.articles} stories from `benchmarks/corpus.py` (seed 13) after a warm-up of "
        f"{WARM_UP}; each version in its own process on a fresh SQLite store; medians over "
        f"{len(next(iter(runs.values())))} alternating repeats. Throughput ratio = CPU time "
        "before embeddings / CPU time of the version (≥ 0.75 is the #11 budget).",
        "",
        "| version | steady CPU s | ms CPU / article | steady wall s | throughput ratio "
        "(CPU) | warm-up CPU s (imports excluded) | process CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, version_runs in runs.items():
        cpu = _median(version_runs, "steady", "cpu_s")
        lines.append(
            f"| {name} | {cpu:.2f} | {cpu / args.articles * 1000:.1f} | "
            f"{_median(version_runs, 'steady', 'wall_s'):.2f} | {base / cpu:.2f} | "
            f"{_median(version_runs, 'warm', 'cpu_s'):.2f} | "
            f"{_median(version_runs, 'process', 'cpu_s'):.2f} |"
        )
    lines += ["", "Counts of the steady run (first repeat):", ""]
    lines += [
        f"- {name}: "
        + ", ".join(f"{k} {version_runs[0]['steady']['counts'].get(k, 0)}" for k in COUNTS)
        for name, version_runs in runs.items()
    ]
    lines += [
        "",
        "Per repeat (steady CPU s): "
        + "; ".join(
            f"{name} " + ", ".join(f"{r['steady']['cpu_s']:.2f}" for r in version_runs)
            for name, version_runs in runs.items()
        ),
    ]
    return lines


if __name__ == "__main__":
    main()
