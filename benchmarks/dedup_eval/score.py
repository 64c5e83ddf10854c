"""Scores for the evaluation corpus: confusion matrix, per-class P/R/F1, cluster pairs.

Standard library only; the system under test hands in one `Prediction` per item.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import combinations

from benchmarks.dedup_eval.load import RELATIONS, EvalItem


@dataclass(frozen=True)
class Prediction:
    relation: str  # relative to the item's own seed
    cluster: str  # the system's story cluster (copies of one story)
    event: str  # the system's same-event cluster (may equal `cluster`)
    threads: frozenset[str] = frozenset()


@dataclass
class PR:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, predicted: bool, gold: bool) -> None:
        self.tp += predicted and gold
        self.fp += predicted and not gold
        self.fn += gold and not predicted

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class RelationScores:
    """Relation to the seed over one set of items."""

    items: int
    confusion: Counter[tuple[str, str]]  # (gold, predicted) -> count
    per_class: dict[str, PR]
    errors: list[str] = field(default_factory=list)

    @property
    def macro_f1(self) -> float:
        """Mean F1 over the four relations (a relation with no gold item and no prediction
        counts as 1.0, as its precision and recall are vacuous)."""
        return sum(pr.f1 for pr in self.per_class.values()) / len(self.per_class)

    @property
    def labels(self) -> list[str]:
        """The four relations, then anything else the system predicted."""
        extra = sorted({p for _, p in self.confusion} - set(RELATIONS))
        return [*RELATIONS, *extra]


def relation_scores(
    items: Iterable[EvalItem], predictions: Mapping[str, Prediction]
) -> RelationScores:
    confusion: Counter[tuple[str, str]] = Counter()
    per_class = {name: PR() for name in RELATIONS}
    errors: list[str] = []
    n = 0
    for item in items:
        n += 1
        predicted = predictions[item.id].relation
        confusion[(item.relation, predicted)] += 1
        for name, pr in per_class.items():
            pr.add(predicted == name, item.relation == name)
        if predicted != item.relation:
            errors.append(f"{item.id}: {item.relation} → {predicted}")
    return RelationScores(n, confusion, per_class, errors)


def background_as_follow_up(
    items: Iterable[EvalItem], predictions: Mapping[str, Prediction]
) -> tuple[int, int]:
    """(dated, undated) gold `background` items predicted `follow_up`."""
    dated = undated = 0
    for item in items:
        if item.relation == "background" and predictions[item.id].relation == "follow_up":
            if item.published is None:
                undated += 1
            else:
                dated += 1
    return dated, undated


def pair_scores(
    gold: list[set[str]],
    predicted: Mapping[str, str],
    ids: Iterable[str] | None = None,
    only: Callable[[str, str], bool] | None = None,
) -> PR:
    """Pairwise precision/recall of "same cluster" over all unordered pairs of `ids`
    (default: every node of the gold clusters that has a prediction); `only` keeps the
    pairs it is true for (e.g. pairs across languages)."""
    gold_of = {member: n for n, members in enumerate(gold) for member in members}
    nodes = sorted(ids if ids is not None else (m for m in gold_of if m in predicted))
    pairs = PR()
    for a, b in combinations(nodes, 2):
        if only is None or only(a, b):
            pairs.add(predicted[a] == predicted[b], gold_of[a] == gold_of[b])
    return pairs


def linked_across(
    gold: list[set[str]],
    predicted: Mapping[str, str],
    language: Mapping[str, str],
    items: Iterable[str],
) -> PR:
    """Per item, not per pair: is each of `items` placed in a story with a report in
    another language (predicted), and does its gold story have one (gold)? A hit is an
    item linked to at least one gold story-mate in another language; an item linked only
    to other stories' reports is a false positive (and a miss, if it has gold mates).
    Big stories weigh as much as small ones here, unlike in pair counts."""
    gold_of = {member: n for n, members in enumerate(gold) for member in members}
    members: dict[str, set[str]] = {}
    for node, cluster in predicted.items():
        members.setdefault(cluster, set()).add(node)
    pr = PR()
    for item in items:
        lang = language.get(item, "en")
        mates = {m for m in members[predicted[item]] if language.get(m, "en") != lang}
        gold_mates = {m for m in gold[gold_of[item]] if language.get(m, "en") != lang}
        right = bool(mates & gold_mates)
        pr.tp += right
        pr.fp += bool(mates) and not right
        pr.fn += bool(gold_mates) and not right
    return pr


def thread_scores(items: Iterable[EvalItem], predictions: Mapping[str, Prediction]) -> PR:
    """Item × thread tags, for items labelled with threads (the default seed's)."""
    pr = PR()
    for item in items:
        tags = predictions[item.id].threads
        for thread in tags | set(item.threads):
            pr.add(thread in tags, thread in item.threads)
    return pr


def confusion_table(scores: RelationScores) -> list[str]:
    """Markdown: gold relation per row, predicted per column."""
    labels = scores.labels
    lines = [
        "| gold \\ predicted | " + " | ".join(f"`{p}`" for p in labels) + " | total |",
        "|---|" + "---:|" * (len(labels) + 1),
    ]
    for gold in RELATIONS:
        row = [scores.confusion[(gold, p)] for p in labels]
        lines.append(f"| `{gold}` | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    return lines


def class_table(scores: RelationScores) -> list[str]:
    lines = [
        "| relation | precision | recall | F1 | support | predicted |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, pr in scores.per_class.items():
        lines.append(
            f"| `{name}` | {pr.precision:.3f} | {pr.recall:.3f} | {pr.f1:.3f} "
            f"| {pr.tp + pr.fn} | {pr.tp + pr.fp} |"
        )
    lines.append(f"| **macro-F1** (four relations) | | | **{scores.macro_f1:.3f}** | | |")
    return lines
