"""Loader and checker for the near-duplicate / follow-up evaluation corpus.

    from benchmarks.dedup_eval.load import load_items
    dev = load_items("dev")      # tune thresholds on these
    test = load_items("test")    # report on these only

    python benchmarks/dedup_eval/load.py --check   # validate every file, print counts

Each item is one Markdown file with a small front-matter block (``key: value`` lines
between two ``---`` lines); see README.md. No dependencies beyond the standard library.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SPLITS = ("dev", "test")
RELATIONS = ("duplicate", "follow_up", "unrelated")
THREADS = (
    "huawei-5g",
    "hong-kong",
    "xinjiang",
    "nuclear",
    "five-eyes-security",
    "sanctions-trade",
)
SEED = "seed"  # duplicate_of value for copies of the seed article
REQUIRED = ("id", "group", "outlet", "title", "published", "relation")
KNOWN_KEYS = (*REQUIRED, "threads", "duplicate_of")
# Fields whose values may legitimately contain " # " are never comment-stripped.
_FREE_TEXT = {"title", "outlet"}
_COMMENT = re.compile(r"\s+#(\s.*)?$")


@dataclass(frozen=True)
class EvalItem:
    id: str
    group: str
    outlet: str
    title: str
    published: datetime
    relation: str  # duplicate | follow_up | unrelated, relative to the seed
    threads: tuple[str, ...]
    duplicate_of: str | None  # another item's id (same split), "seed", or None
    text: str  # body: paragraphs separated by blank lines
    split: str
    path: Path


class FormatError(ValueError):
    pass


def parse_front_matter(raw: str) -> tuple[dict[str, str], str]:
    """Split a file into its front-matter dict and body. Raises FormatError."""
    lines = raw.splitlines()
    if not lines or lines[0].strip() != "---":
        raise FormatError("file does not start with '---'")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise FormatError("front matter is not closed with '---'") from None
    meta: dict[str, str] = {}
    for n, line in enumerate(lines[1:end], start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise FormatError(f"line {n}: expected 'key: value', got {line!r}")
        key = key.strip()
        if key in meta:
            raise FormatError(f"line {n}: duplicate key {key!r}")
        if key not in _FREE_TEXT:
            value = _COMMENT.sub("", value)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        meta[key] = value
    body = "\n".join(lines[end + 1 :]).strip()
    body = re.sub(r"\n{3,}", "\n\n", body)
    return meta, body


def _item_from_file(path: Path, split: str) -> EvalItem:
    meta, body = parse_front_matter(path.read_text(encoding="utf-8"))
    missing = [k for k in REQUIRED if not meta.get(k)]
    if missing:
        raise FormatError(f"missing required field(s): {', '.join(missing)}")
    try:
        published = datetime.fromisoformat(meta["published"])
    except ValueError:
        raise FormatError(f"published is not ISO 8601: {meta['published']!r}") from None
    threads = tuple(t.strip() for t in meta.get("threads", "").split(",") if t.strip())
    return EvalItem(
        id=meta["id"],
        group=meta["group"],
        outlet=meta["outlet"],
        title=meta["title"],
        published=published,
        relation=meta["relation"],
        threads=threads,
        duplicate_of=meta.get("duplicate_of") or None,
        text=body,
        split=split,
        path=path,
    )


def _files(split: str) -> list[Path]:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return sorted((ROOT / split).glob("*.md"))


def load_items(split: str) -> list[EvalItem]:
    """All items of one split ("dev" or "test"), sorted by id."""
    items = [_item_from_file(p, split) for p in _files(split)]
    return sorted(items, key=lambda i: i.id)


def duplicate_clusters(items: list[EvalItem]) -> list[set[str]]:
    """Gold near-duplicate clusters: connected components of the duplicate_of edges.

    Copies of the seed form one cluster that contains the pseudo-id "seed". Items with
    no duplicate_of edge in either direction are singletons (and are returned too).
    """
    parent: dict[str, str] = {i.id: i.id for i in items}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for item in items:
        if item.duplicate_of:
            parent.setdefault(item.duplicate_of, item.duplicate_of)
            parent[find(item.id)] = find(item.duplicate_of)
    groups: dict[str, set[str]] = {}
    for x in parent:
        groups.setdefault(find(x), set()).add(x)
    return sorted(groups.values(), key=lambda s: sorted(s)[0])


def _word_count(text: str) -> int:
    return len(text.split())


def check() -> int:
    """Validate every file of both splits; print counts. Returns the number of errors."""
    errors: list[str] = []
    seen_ids: dict[str, Path] = {}
    by_split: dict[str, list[EvalItem]] = {}
    for split in SPLITS:
        items: list[EvalItem] = []
        for path in _files(split):
            rel = path.relative_to(ROOT)
            try:
                item = _item_from_file(path, split)
            except (FormatError, UnicodeDecodeError) as exc:
                errors.append(f"{rel}: {exc}")
                continue
            meta, _ = parse_front_matter(path.read_text(encoding="utf-8"))
            for key in meta:
                if key not in KNOWN_KEYS:
                    errors.append(f"{rel}: unknown field {key!r}")
            if item.id != path.stem:
                errors.append(f"{rel}: id {item.id!r} does not match the file name")
            if item.id in seen_ids:
                errors.append(f"{rel}: id {item.id!r} also used by {seen_ids[item.id]}")
            seen_ids[item.id] = rel
            if item.relation not in RELATIONS:
                errors.append(f"{rel}: relation {item.relation!r} not in {RELATIONS}")
            for t in item.threads:
                if t not in THREADS:
                    errors.append(f"{rel}: unknown thread {t!r}")
            if len(set(item.threads)) != len(item.threads):
                errors.append(f"{rel}: repeated thread")
            if item.published.tzinfo is None:
                errors.append(f"{rel}: published has no UTC offset")
            if not item.text:
                errors.append(f"{rel}: empty body")
            # Labelling rules (README.md, "Labelling rules").
            if item.relation == "duplicate" and item.duplicate_of != SEED:
                errors.append(f"{rel}: relation duplicate requires duplicate_of: seed")
            if item.duplicate_of == SEED and item.relation != "duplicate":
                errors.append(f"{rel}: duplicate_of: seed requires relation duplicate")
            if item.relation == "follow_up" and not item.threads:
                errors.append(f"{rel}: a follow_up needs at least one thread")
            if item.relation == "unrelated" and item.threads:
                errors.append(f"{rel}: an unrelated item has no threads")
            if item.group.startswith("follow_up_"):
                words = _word_count(item.text)
                if not 200 <= words <= 500:
                    errors.append(f"{rel}: follow-up body has {words} words (want 200-500)")
            items.append(item)
        by_split[split] = items

        ids = {i.id: i for i in items}
        for item in items:
            target = item.duplicate_of
            if target is None or target == SEED:
                continue
            rel = item.path.relative_to(ROOT)
            if target == item.id:
                errors.append(f"{rel}: duplicate_of points at itself")
            elif target not in ids:
                errors.append(f"{rel}: duplicate_of {target!r} is not an id in {split}/")
            elif ids[target].relation != item.relation:
                errors.append(
                    f"{rel}: relation {item.relation!r} differs from its original {target!r} "
                    f"({ids[target].relation!r})"
                )

    # Every group must be represented in both splits.
    groups = sorted({i.group for items in by_split.values() for i in items})
    counts = {s: Counter(i.group for i in by_split[s]) for s in SPLITS}
    for g in groups:
        for s in SPLITS:
            if not counts[s][g]:
                errors.append(f"group {g!r} has no items in {s}/")

    width = max([len(g) for g in groups] + [len("total")])
    print(f"{'group':<{width}}  {'dev':>4}  {'test':>4}  {'all':>4}")
    for g in groups:
        d, t = counts["dev"][g], counts["test"][g]
        print(f"{g:<{width}}  {d:>4}  {t:>4}  {d + t:>4}")
    d, t = len(by_split["dev"]), len(by_split["test"])
    print(f"{'total':<{width}}  {d:>4}  {t:>4}  {d + t:>4}")
    print()
    for s in SPLITS:
        rel_counts = Counter(i.relation for i in by_split[s])
        thread_counts = Counter(
            t for i in by_split[s] if i.relation == "follow_up" for t in i.threads
        )
        clusters = [c for c in duplicate_clusters(by_split[s]) if len(c) > 1]
        print(
            f"{s}: relations "
            + ", ".join(f"{r}={rel_counts[r]}" for r in RELATIONS)
            + f"; duplicate clusters (size>1)={len(clusters)}"
        )
        per_thread = ", ".join(f"{t}={thread_counts[t]}" for t in THREADS)
        print(f"{s}: follow-ups per thread {per_thread}")
    if errors:
        print(f"\n{len(errors)} error(s):", file=sys.stderr)
        for e in errors:
            print(f"  {e}", file=sys.stderr)
    else:
        print("\nOK: all files valid.")
    return len(errors)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="validate all files, print counts")
    parser.add_argument("--list", choices=SPLITS, help="print id, group and relation of a split")
    args = parser.parse_args(argv)
    if args.list:
        for item in load_items(args.list):
            print(f"{item.id:<28} {item.group:<28} {item.relation:<10} {','.join(item.threads)}")
        return 0
    if args.check:
        return 1 if check() else 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
