"""Loader for the labelled seed-relation / same-event evaluation corpus.

    from benchmarks.dedup_eval.load import load_items
    dev = load_items("dev")      # tune on these
    test = load_items("test")    # report on these only

    python benchmarks/dedup_eval/check.py   # validate every file, print counts

Each item is one Markdown file with a small front-matter block (``key: value`` lines
between two ``---`` lines); see README.md. No dependencies beyond the standard library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SPLITS = ("dev", "test")
RELATIONS = ("duplicate", "follow_up", "background", "unrelated")
LANGUAGES = ("en", "zh")
THREADS = (
    "huawei-5g",
    "hong-kong",
    "xinjiang",
    "nuclear",
    "five-eyes-security",
    "sanctions-trade",
)
DEFAULT_SEED = "seed_article"
# Each seed the corpus is labelled against (a built-in seed of pipeline/data/seeds) and
# the id of the event its own story reports: items with that `event` are the same story.
SEED_EVENTS = {
    "seed_article": "pompeo-london-2020-07-21",
    "nsi_corvane": "corvane-block-2022-07-27",
}
CROSS_SEED_FILE = ROOT / "cross_seed.txt"
COPY_OF_SEED = "seed"  # duplicate_of value for copies of the item's seed
REQUIRED = ("id", "group", "outlet", "title", "relation")
KNOWN_KEYS = (
    *REQUIRED,
    "published",
    "discovered",
    "threads",
    "duplicate_of",
    "event",
    "seed",
    "language",
)
# Fields whose values may legitimately contain " # " are never comment-stripped.
_FREE_TEXT = {"title", "outlet"}
_COMMENT = re.compile(r"\s+#(\s.*)?$")


@dataclass(frozen=True)
class EvalItem:
    id: str
    group: str
    outlet: str
    title: str
    published: datetime | None  # None: the page shows no date
    relation: str  # duplicate | follow_up | background | unrelated, relative to `seed`
    threads: tuple[str, ...]
    duplicate_of: str | None  # another item's id (same split), "seed", or None
    text: str  # body: paragraphs separated by blank lines
    split: str
    path: Path
    seed: str = DEFAULT_SEED  # the seed id the relation is labelled against
    event: str | None = None  # same-event id: items sharing it report one event
    language: str = "en"
    discovered: datetime | None = None  # when a crawler found the page (undated pages)

    @property
    def seen_at(self) -> datetime:
        """The date a classifier can use: publication, else discovery."""
        when = self.published or self.discovered
        if when is None:  # the checker rejects such files
            raise FormatError(f"{self.id}: neither published nor discovered")
        return when


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


def _when(meta: dict[str, str], key: str) -> datetime | None:
    value = meta.get(key)
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise FormatError(f"{key} is not ISO 8601: {value!r}") from None
    if when.tzinfo is None:
        raise FormatError(f"{key} has no UTC offset: {value!r}")
    return when


def item_from_file(path: Path, split: str) -> EvalItem:
    meta, body = parse_front_matter(path.read_text(encoding="utf-8"))
    missing = [k for k in REQUIRED if not meta.get(k)]
    if missing:
        raise FormatError(f"missing required field(s): {', '.join(missing)}")
    published, discovered = _when(meta, "published"), _when(meta, "discovered")
    if published is None and discovered is None:
        raise FormatError("an undated item (no published) needs discovered")
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
        seed=meta.get("seed") or DEFAULT_SEED,
        event=meta.get("event") or None,
        language=meta.get("language") or "en",
        discovered=discovered,
    )


def files(split: str) -> list[Path]:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return sorted((ROOT / split).glob("*.md"))


def load_items(split: str, seed: str | None = None) -> list[EvalItem]:
    """All items of one split ("dev" or "test"), sorted by id; optionally of one seed."""
    items = [item_from_file(p, split) for p in files(split)]
    return sorted((i for i in items if seed is None or i.seed == seed), key=lambda i: i.id)


def _components(nodes: set[str], edges: list[tuple[str, str]]) -> list[set[str]]:
    parent = {n: n for n in nodes}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        parent[find(a)] = find(b)
    groups: dict[str, set[str]] = {}
    for x in parent:
        groups.setdefault(find(x), set()).add(x)
    return sorted(groups.values(), key=lambda s: sorted(s)[0])


def _copy_edges(items: list[EvalItem]) -> list[tuple[str, str]]:
    """duplicate_of edges; a copy of the seed links to the seed's own id."""
    return [
        (i.id, i.seed if i.duplicate_of == COPY_OF_SEED else i.duplicate_of)
        for i in items
        if i.duplicate_of
    ]


def duplicate_clusters(items: list[EvalItem]) -> list[set[str]]:
    """Gold near-copy clusters: connected components of the duplicate_of edges.

    Copies of a seed form one cluster that contains the seed's id (e.g. "seed_article").
    Items with no duplicate_of edge in either direction are singletons (returned too).
    """
    return _components({i.id for i in items}, _copy_edges(items))


def event_clusters(items: list[EvalItem]) -> list[set[str]]:
    """Gold same-event clusters: copies (duplicate_of) plus items sharing an `event` id.

    A seed's own event (SEED_EVENTS) joins the seed's id, so every report of the seed's
    story, copied or written independently, is in the seed's cluster.
    """
    edges = _copy_edges(items)
    first: dict[str, str] = {event: seed for seed, event in SEED_EVENTS.items()}
    for item in items:
        if item.event:
            edges.append((item.id, first.setdefault(item.event, item.id)))
    return _components({i.id for i in items}, edges)


def cross_seed_items(items: list[EvalItem], seed: str) -> list[EvalItem]:
    """The items labelled against another seed, relabelled against `seed` by
    ``cross_seed.txt`` (``unrelated`` unless listed there)."""
    labels: dict[str, str] = {}
    for line in CROSS_SEED_FILE.read_text("utf-8").splitlines():
        line = _COMMENT.sub("", line).strip()
        if line and not line.startswith("#"):
            item_id, relation = line.split()
            if relation not in RELATIONS:
                raise FormatError(f"{CROSS_SEED_FILE.name}: bad relation {relation!r}")
            labels[item_id] = relation
    return [
        replace(i, seed=seed, relation=labels.get(i.id, "unrelated"), threads=())
        for i in items
        if i.seed != seed
    ]
