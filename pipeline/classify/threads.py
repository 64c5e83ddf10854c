"""Storyline tags ("threads") and story angles, defined in a user-editable JSON file.

A thread is a weighted list of words and phrases plus co-occurrence rules, so that a
story is tagged for what it is about rather than for a passing mention: a phone review
that names Huawei is not the Huawei/5G storyline, and a Hong Kong stock-market story
is not the Hong Kong freedoms storyline. The shipped definitions are in
``pipeline/data/threads.json``; ``dedup.threads_file`` points at another copy.

Threads always label articles. For the seed relation they are overrides: a file's
``seeds`` names the seeds whose storylines and angles it describes (the shipped file:
``seed_article``); any other seed is related by its own story alone
(``pipeline.classify.story``). A file without ``seeds`` describes every seed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from pipeline.text import terms
from pipeline.text.terms import Term, TermError, TextTerms


class ThreadsFileError(ValueError):
    """The thread definitions file is missing, not JSON, or not in the expected shape."""


@dataclass(frozen=True)
class ThreadDefinition:
    name: str
    label: str
    description: str
    terms: tuple[Term, ...]
    require: tuple[tuple[Term, ...], ...]
    min_mentions: int  # occurrences of the first require group: above 1, no passing mentions
    min_terms: int
    min_score: float


@dataclass(frozen=True)
class AngleDefinition:
    name: str
    label: str
    terms: tuple[Term, ...]
    min_score: float


@dataclass(frozen=True)
class ThreadBook:
    threads: tuple[ThreadDefinition, ...]
    angles: tuple[AngleDefinition, ...]
    source: str
    seeds: frozenset[str] | None = None  # the seeds it describes; None: every seed

    def describes(self, seed_id: str) -> bool:
        """Whether its storylines and angles are the keyword lists of this seed."""
        return self.seeds is None or seed_id in self.seeds


@dataclass(frozen=True)
class ThreadMatch:
    name: str
    label: str
    score: float
    strength: float  # 0..1; 1 at twice the thread's minimum score, well past a bare tag
    terms: dict[str, int]  # matched term → occurrences (negative-weight terms included)


@dataclass(frozen=True)
class AngleMatch:
    name: str
    score: float
    strength: float  # score / min_score, capped at 1
    terms: dict[str, int]


class _TermFile(BaseModel):
    name: str = Field(min_length=1)
    label: str = ""
    description: str = ""
    terms: dict[str, float] = Field(min_length=1)
    require: list[list[str]] = Field(default_factory=list)
    min_mentions: int = Field(1, ge=1)
    min_terms: int = Field(1, ge=1)
    min_score: float = Field(1.0, gt=0)


class _BookFile(BaseModel):
    threads: list[_TermFile]
    angles: list[_TermFile] = Field(default_factory=list)
    seeds: list[str] | None = None


def parse_term(phrase: str, weight: float = 1.0) -> Term:
    try:
        return terms.parse_term(phrase, weight)
    except TermError as exc:
        raise ThreadsFileError(str(exc)) from None


def _terms(raw: dict[str, float]) -> tuple[Term, ...]:
    return tuple(parse_term(phrase, weight) for phrase, weight in raw.items())


def parse_thread_book(data: object, source: str = "<data>") -> ThreadBook:
    try:
        book = _BookFile.model_validate(data)
    except ValidationError as exc:
        raise ThreadsFileError(f"{source}: {exc}") from exc
    names = [t.name for t in book.threads]
    if len(set(names)) != len(names):
        raise ThreadsFileError(f"{source}: thread names must be unique")
    threads = tuple(
        ThreadDefinition(
            name=t.name,
            label=t.label or t.name,
            description=t.description,
            terms=_terms(t.terms),
            require=tuple(tuple(parse_term(p) for p in group) for group in t.require),
            min_mentions=t.min_mentions,
            min_terms=t.min_terms,
            min_score=t.min_score,
        )
        for t in book.threads
    )
    angles = tuple(
        AngleDefinition(a.name, a.label or a.name, _terms(a.terms), a.min_score)
        for a in book.angles
    )
    seeds = None if book.seeds is None else frozenset(book.seeds)
    return ThreadBook(threads=threads, angles=angles, source=source, seeds=seeds)


@lru_cache(maxsize=8)
def load_thread_book(path: Path | None = None) -> ThreadBook:
    """The definitions in `path`, or the shipped ones. Cached per path."""
    if path is None:
        raw = resources.files("pipeline").joinpath("data/threads.json").read_text("utf-8")
        source = "pipeline/data/threads.json"
    else:
        try:
            raw = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ThreadsFileError(f"cannot read threads file {path}: {exc}") from exc
        source = str(path)
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ThreadsFileError(f"{source} is not valid JSON: {exc}") from exc
    return parse_thread_book(data, source)


def _score(text: TextTerms, terms: tuple[Term, ...]) -> tuple[float, dict[str, int], int]:
    """(score, counts of matched terms, number of distinct positive terms matched)."""
    score, counts, positive = 0.0, {}, 0
    for term in terms:
        n = text.count(term)
        if n:
            counts[term.phrase] = n
            score += term.weight * (1 + math.log(n))  # repeats count, but less and less
            positive += term.weight > 0
    return score, counts, positive


def match_threads(text: TextTerms, book: ThreadBook) -> list[ThreadMatch]:
    """The threads a text carries, strongest first."""
    found: list[ThreadMatch] = []
    for thread in book.threads:
        if not all(any(text.count(t) for t in group) for group in thread.require):
            continue
        if thread.require and sum(text.count(t) for t in thread.require[0]) < thread.min_mentions:
            continue
        score, counts, positive = _score(text, thread.terms)
        if positive >= thread.min_terms and score >= thread.min_score:
            strength = min(1.0, score / (2 * thread.min_score))
            found.append(
                ThreadMatch(thread.name, thread.label, round(score, 3), round(strength, 3), counts)
            )
    return sorted(found, key=lambda m: (-m.score, m.name))


def match_angles(text: TextTerms, book: ThreadBook) -> dict[str, AngleMatch]:
    out: dict[str, AngleMatch] = {}
    for angle in book.angles:
        score, counts, _ = _score(text, angle.terms)
        strength = min(1.0, max(score, 0.0) / angle.min_score)
        out[angle.name] = AngleMatch(angle.name, round(score, 3), round(strength, 3), counts)
    return out


def tag_threads(text: str, book: ThreadBook | None = None) -> list[ThreadMatch]:
    """Threads of a text (title included if the caller puts it in), strongest first."""
    return match_threads(TextTerms(text), book or load_thread_book())
