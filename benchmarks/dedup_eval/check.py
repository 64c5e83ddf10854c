"""Validate every file of the evaluation corpus and print its counts.

    python benchmarks/dedup_eval/check.py            # exit 1 on errors
    python benchmarks/dedup_eval/check.py --list test

The rules are the README's "File format" and "Labelling rules".
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import UTC, date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.dedup_eval.load import (
    COPY_OF_SEED,
    KNOWN_KEYS,
    LANGUAGES,
    RELATIONS,
    ROOT,
    SEED_EVENTS,
    SPLITS,
    THREADS,
    EvalItem,
    FormatError,
    duplicate_clusters,
    event_clusters,
    files,
    item_from_file,
    load_items,
    parse_front_matter,
)

# The seeds' publication days (pipeline/data/seeds/*.json); relations are time-aware.
SEED_DAYS = {"seed_article": date(2020, 7, 21), "nsi_corvane": date(2022, 7, 27)}
# Groups of mechanical copies, whose length follows their original.
COPY_GROUPS = {"seed_copy", "near_copy_pair"}
MIN_TEST_SHARE = 0.40


def _size(item: EvalItem) -> tuple[int, int, str]:
    """(length, lower bound, upper bound) in words, or characters for Chinese."""
    if item.language == "zh":
        return len("".join(item.text.split())), 200, "1200 characters"
    return len(item.text.split()), 120, "500 words"


def item_errors(item: EvalItem, meta: dict[str, str]) -> list[str]:
    """What is wrong with one item on its own."""
    errors = [f"unknown field {k!r}" for k in meta if k not in KNOWN_KEYS]
    if item.id != item.path.stem:
        errors.append(f"id {item.id!r} does not match the file name")
    if item.relation not in RELATIONS:
        errors.append(f"relation {item.relation!r} not in {RELATIONS}")
    if item.seed not in SEED_EVENTS:
        errors.append(f"seed {item.seed!r} not in {sorted(SEED_EVENTS)}")
        return errors
    if item.language not in LANGUAGES:
        errors.append(f"language {item.language!r} not in {LANGUAGES}")
    errors += [f"unknown thread {t!r}" for t in item.threads if t not in THREADS]
    if len(set(item.threads)) != len(item.threads):
        errors.append("repeated thread")
    if not item.text:
        errors.append("empty body")
    default = item.seed == "seed_article"
    if not default and item.threads:
        errors.append("threads are labelled for seed_article only")
    if default and item.relation == "follow_up" and not item.threads:
        errors.append("a follow_up of seed_article needs at least one thread")
    if item.relation == "unrelated" and item.threads:
        errors.append("an unrelated item has no threads")
    if item.duplicate_of == COPY_OF_SEED and item.relation != "duplicate":
        errors.append("duplicate_of: seed requires relation duplicate")
    if item.event == SEED_EVENTS[item.seed] and item.relation != "duplicate":
        errors.append("an item reporting the seed's own event is a duplicate")
    # Time-aware labels, by the publication day (undated items are labelled by content).
    seed_day = SEED_DAYS[item.seed]
    if item.published is not None:
        day = item.published.astimezone(UTC).date()
        if item.relation == "background" and day >= seed_day:
            errors.append(f"background published {day}, not before the seed ({seed_day})")
        if item.relation == "follow_up" and day < seed_day:
            errors.append(f"follow_up published {day}, before the seed ({seed_day})")
    size, low, high = _size(item)
    if item.group not in COPY_GROUPS and not low <= size <= int(high.split()[0]):
        errors.append(f"body has {size} (want {low}-{high})")
    return errors


def split_errors(items: list[EvalItem], split: str) -> list[str]:
    """Links between items of one split: copies and same-event clusters."""
    errors: list[str] = []
    ids = {i.id: i for i in items}
    for item in items:
        target = item.duplicate_of
        if target is None or target == COPY_OF_SEED:
            continue
        if target == item.id:
            errors.append(f"{item.id}: duplicate_of points at itself")
        elif target not in ids:
            errors.append(f"{item.id}: duplicate_of {target!r} is not an id in {split}/")
        elif (ids[target].relation, ids[target].seed) != (item.relation, item.seed):
            errors.append(f"{item.id}: relation/seed differ from its original {target!r}")
    for cluster in event_clusters(items):
        seeds_in = cluster & set(SEED_EVENTS)
        for member in cluster - set(SEED_EVENTS):
            item = ids[member]
            in_seed_story = item.seed in seeds_in
            if in_seed_story != (item.relation == "duplicate"):
                errors.append(
                    f"{member}: relation {item.relation!r} but "
                    f"{'in' if in_seed_story else 'not in'} its seed's story cluster"
                )
    return errors


def check() -> int:
    """Validate every file of both splits; print counts. Returns the number of errors."""
    errors: list[str] = []
    seen: dict[str, str] = {}
    by_split: dict[str, list[EvalItem]] = {}
    for split in SPLITS:
        items: list[EvalItem] = []
        for path in files(split):
            rel = str(path.relative_to(ROOT))
            try:
                item = item_from_file(path, split)
                meta, _ = parse_front_matter(path.read_text(encoding="utf-8"))
            except (FormatError, UnicodeDecodeError) as exc:
                errors.append(f"{rel}: {exc}")
                continue
            errors += [f"{rel}: {e}" for e in item_errors(item, meta)]
            if item.id in seen:
                errors.append(f"{rel}: id {item.id!r} also used by {seen[item.id]}")
            seen[item.id] = rel
            items.append(item)
        errors += split_errors(items, split)
        by_split[split] = items

    groups = sorted({i.group for items in by_split.values() for i in items})
    counts = {s: Counter(i.group for i in by_split[s]) for s in SPLITS}
    errors += [
        f"group {g!r} has no items in {s}/" for g in groups for s in SPLITS if not counts[s][g]
    ]
    total = sum(len(v) for v in by_split.values())
    if total and len(by_split["test"]) / total < MIN_TEST_SHARE:
        errors.append(f"test/ holds under {MIN_TEST_SHARE:.0%} of the items")
    _print_counts(by_split, groups, counts)
    if errors:
        print(f"\n{len(errors)} error(s):", file=sys.stderr)
        for e in errors:
            print(f"  {e}", file=sys.stderr)
    else:
        print("\nOK: all files valid.")
    return len(errors)


def _print_counts(
    by_split: dict[str, list[EvalItem]], groups: list[str], counts: dict[str, Counter[str]]
) -> None:
    width = max([len(g) for g in groups] + [len("total")])
    print(f"{'group':<{width}}  {'dev':>4}  {'test':>4}  {'all':>4}")
    for g in groups:
        d, t = counts["dev"][g], counts["test"][g]
        print(f"{g:<{width}}  {d:>4}  {t:>4}  {d + t:>4}")
    d, t = len(by_split["dev"]), len(by_split["test"])
    print(f"{'total':<{width}}  {d:>4}  {t:>4}  {d + t:>4}\n")
    for s in SPLITS:
        items = by_split[s]
        for seed in SEED_EVENTS:
            mine = [i for i in items if i.seed == seed]
            rel = Counter(i.relation for i in mine)
            print(f"{s} / {seed}: " + ", ".join(f"{r}={rel[r]}" for r in RELATIONS))
        threads = Counter(t for i in items if i.relation == "follow_up" for t in i.threads)
        print(f"{s}: follow-ups per thread " + ", ".join(f"{t}={threads[t]}" for t in THREADS))
        copies = [c for c in duplicate_clusters(items) if len(c) > 1]
        events = [c for c in event_clusters(items) if len(c) > 1]
        languages = Counter(i.language for i in items)
        undated = sum(i.published is None for i in items)
        print(
            f"{s}: copy clusters (size>1)={len(copies)}, event clusters (size>1)={len(events)}, "
            f"languages {dict(sorted(languages.items()))}, undated={undated}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", choices=SPLITS, help="print one line per item of a split")
    args = parser.parse_args(argv)
    if args.list:
        for i in load_items(args.list):
            print(
                f"{i.id:<28} {i.seed:<13} {i.language} {i.relation:<10} "
                f"{i.event or '':<28} {','.join(i.threads)}"
            )
        return 0
    return 1 if check() else 0


if __name__ == "__main__":
    sys.exit(main())
