"""Relation-to-seed benchmark: time-aware relations, same-event clusters, second seed.

    .venv/bin/python benchmarks/bench_relations.py [--split dev|test|both] [--out FILE]

Every item of `benchmarks/dedup_eval` goes through the real classify stage (default
settings, both labelled seeds configured) on a fresh SQLite store, one split at a time.
The report gives, on the test split and then separately on dev (the split to tune on):

- relation to the default seed (English items): confusion matrix, per-class precision,
  recall and F1, macro-F1 over duplicate/follow_up/background/unrelated, and how many
  `background` items were called `follow_up` although their date is known;
- same-event clustering: pairwise precision/recall of "same event" over the split's items
  and the seeds, against `event_clusters`, and of "same copy cluster" against
  `duplicate_clusters`;
- cross-lingual: the Chinese-language items' relation to their (English) seed,
  same-event / same-copy pair precision and recall over Chinese × English pairs only, and
  per Chinese item whether its story holds an English report of its event (each item
  counts once, however big its story: pair counts are dominated by the seed's story);
- the second seed (`nsi_corvane`, no keyword lists): its items against it, then every
  item of the split against it (the `seed_article` items labelled by
  `dedup_eval/cross_seed.txt`), with the precision of what it calls related.

Whatever the classifier predicts is scored as is: a system that never says `background`
scores 0 recall on it.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.dedup_eval.load import (  # noqa: E402
    DEFAULT_SEED,
    RELATIONS,
    SEED_EVENTS,
    SPLITS,
    EvalItem,
    cross_seed_items,
    duplicate_clusters,
    event_clusters,
    load_items,
)
from benchmarks.dedup_eval.run import Run, classify_items  # noqa: E402
from benchmarks.dedup_eval.score import (  # noqa: E402
    PR,
    background_as_follow_up,
    class_table,
    confusion_table,
    linked_across,
    pair_scores,
    relation_scores,
    thread_scores,
)

RESULTS = ROOT / "benchmarks" / "results" / "relations.md"
SECOND_SEED = next(s for s in SEED_EVENTS if s != DEFAULT_SEED)


def _pr_row(name: str, pr: PR) -> str:
    return (
        f"| {name} | {pr.precision:.3f} | {pr.recall:.3f} | {pr.f1:.3f} "
        f"| {pr.tp} | {pr.fp} | {pr.fn} |"
    )


def _precision(name: str, pr: PR) -> str:
    if not pr.tp + pr.fp:
        return f"`{name}` n/a (never predicted)"
    return f"`{name}` {pr.precision:.3f} ({pr.tp} of {pr.tp + pr.fp} predicted)"


def _relation_section(
    title: str, items: list[EvalItem], run: Run, seed: str | None = None
) -> list[str]:
    """Scores of `items` against their own seed, or against `seed` if given."""
    predictions = run.predictions if seed is None else run.against(seed)
    scores = relation_scores(items, predictions)
    lines = [f"### {title} ({scores.items} items)", ""]
    if not items:
        return [*lines, "No items.", ""]
    lines += [*class_table(scores), "", *confusion_table(scores), ""]
    dated, undated = background_as_follow_up(items, predictions)
    lines += [
        f"`background` predicted as `follow_up`: **{dated}** with a known date; "
        f"{undated} undated (the classifier sees only the discovery time).",
        "",
        "Errors: " + ("; ".join(scores.errors) if scores.errors else "none"),
        "",
    ]
    return lines


def split_report(split: str, run_split: Callable[[list[EvalItem]], Run]) -> list[str]:
    items = load_items(split)
    run = run_split(items)
    main = [i for i in items if i.seed == DEFAULT_SEED and i.language == "en"]
    chinese = [i for i in items if i.language == "zh"]
    second = [i for i in items if i.seed == SECOND_SEED]
    nodes = [i.id for i in items] + list(SEED_EVENTS)
    cluster_of = {k: p.cluster for k, p in run.predictions.items()}
    event_of = {k: p.event for k, p in run.predictions.items()}
    events = pair_scores(event_clusters(items), event_of, nodes)
    copies = pair_scores(duplicate_clusters(items), cluster_of, nodes)
    # pairs of a Chinese item and an English one (the seeds are English)
    language = {i.id: i.language for i in items}

    def across(a: str, b: str) -> bool:
        return language.get(a, "en") != language.get(b, "en")

    events_across = pair_scores(event_clusters(items), event_of, nodes, only=across)
    copies_across = pair_scores(duplicate_clusters(items), cluster_of, nodes, only=across)
    links = linked_across(event_clusters(items), event_of, language, [i.id for i in chinese])
    threads = thread_scores([i for i in items if i.seed == DEFAULT_SEED], run.predictions)
    second_scores = relation_scores(second, run.predictions)
    every = second + cross_seed_items([i for i in items if i.seed == DEFAULT_SEED], SECOND_SEED)
    related = PR()
    for item in every:
        predicted = run.relations[(item.id, SECOND_SEED)]
        related.add(predicted != "unrelated", item.relation != "unrelated")
    lines = [
        f"## {split} split ({len(items)} items; classify stage took {run.seconds:.2f} s)",
        "",
        *_relation_section(f"Relation to `{DEFAULT_SEED}`, English items", main, run),
        "### Clustering (item pairs, the seeds included)",
        "",
        "| measure | precision | recall | F1 | tp | fp | fn |",
        "|---|---:|---:|---:|---:|---:|---:|",
        _pr_row("same event (`event_clusters`)", events),
        _pr_row("same copy cluster (`duplicate_clusters`)", copies),
        _pr_row(f"thread tags (`{DEFAULT_SEED}` items × thread)", threads),
        _pr_row("cross-lingual: same event, Chinese × English pairs", events_across),
        _pr_row("cross-lingual: same copy cluster, Chinese × English pairs", copies_across),
        _pr_row("cross-lingual: Chinese items linked to an English report of their event", links),
        "",
        *_relation_section(
            "Cross-lingual: Chinese-language items against their (English) seed", chinese, run
        ),
        *_relation_section(f"Second seed `{SECOND_SEED}` (no keyword lists)", second, run),
        "Second seed precision: "
        + ", ".join(_precision(name, second_scores.per_class[name]) for name in RELATIONS[:3])
        + ".",
        "",
        *_relation_section(
            f"Second seed `{SECOND_SEED}` against every item of the split "
            "(`seed_article` items labelled by `cross_seed.txt`)",
            every,
            run,
            SECOND_SEED,
        ),
        f"Called related to `{SECOND_SEED}` (duplicate, follow_up or background): "
        f"precision {related.precision:.3f} ({related.tp} of {related.tp + related.fp}), "
        f"recall {related.recall:.3f}, over {len(every)} labelled items.",
        "",
    ]
    return lines


def report(command: str, label: str, splits: list[str]) -> str:
    lines = [
        f"# Relations to the seed — {label}",
        "",
        f"Command: `{command}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "",
        "Test split first: nothing may be tuned on it. Dev follows, for tuning "
        "(`--split dev` reports dev alone).",
        "",
    ]
    for split in sorted(splits, key=lambda s: s != "test"):
        print(f"[relations] classifying {split}…", flush=True)
        lines += split_report(split, classify_items)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS, help="report file (Markdown)")
    parser.add_argument("--label", default="current classifier", help="report title suffix")
    parser.add_argument(
        "--split",
        choices=[*SPLITS, "both"],
        default="both",
        help="'dev' while tuning, so the test figures stay unseen",
    )
    args = parser.parse_args()
    splits = list(SPLITS) if args.split == "both" else [args.split]
    command = shlex.join([".venv/bin/python", "benchmarks/bench_relations.py", *sys.argv[1:]])
    text = report(command, args.label, splits)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
