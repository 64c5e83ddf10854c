"""Words and phrases ("terms") found in a text: storyline tags and alert rules share it.

A term matches whole words, case-insensitively, consecutive in the text whatever lies
between them (spaces, line breaks, punctuation: "BN(O)" is the phrase "bn o"). A word
ending in * matches any word it begins ("sanction*" matches "sanctions"), so "HK" never
matches inside "HKEX" unless the term asks for it ("HK*").
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from pipeline.text.tokens import phrase_words, raw_spans, term_words


class TermError(ValueError):
    """A term with no words in it."""


@dataclass(frozen=True)
class Term:
    phrase: str  # as written
    words: tuple[str, ...]
    prefixes: tuple[bool, ...]  # per word: matches any word it begins
    weight: float = 1.0


@dataclass(frozen=True)
class TermMatch:
    term: int  # index into the terms searched for
    first: int  # token positions, end exclusive
    end: int


def parse_term(phrase: str, weight: float = 1.0) -> Term:
    ws: list[str] = []
    prefixes: list[bool] = []
    for chunk in phrase.split():
        chunk_words = phrase_words(chunk.replace("*", " "))
        ws.extend(chunk_words)
        last = len(chunk_words) - 1
        prefixes.extend(i == last and chunk.endswith("*") for i in range(len(chunk_words)))
    if not ws:
        raise TermError(f"term {phrase!r} has no words")
    return Term(phrase=phrase, words=tuple(ws), prefixes=tuple(prefixes), weight=weight)


class TextTerms:
    """A text's words, indexed for finding and counting terms quickly."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.words, self._origin = term_words(text)
        self._spans: list[tuple[int, int]] | None = None  # computed when first asked for
        self._positions: dict[str, list[int]] = defaultdict(list)
        for i, word in enumerate(self.words):
            self._positions[word].append(i)
        self._vocabulary: list[str] | None = None  # sorted, for prefix lookups; when needed
        self._counts: dict[Term, int] = {}

    def __len__(self) -> int:
        return len(self.words)

    def span(self, match: TermMatch) -> tuple[int, int]:
        """Character offsets of a match in the text (without a final possessive 's)."""
        if self._spans is None:
            self._spans = raw_spans(self.text)
        first, last = match.first, match.end - 1
        if self._origin is not None:
            first, last = self._origin[first], self._origin[last]
        start, end = self._spans[first][0], self._spans[last][1]
        if self.text[end - 2 : end - 1] in ("'", "’", "‘") and self.text[end - 1] in "sS":
            end -= 2
        return start, end

    def starts(self, term: Term) -> list[int]:
        """Positions where the term occurs (occurrences may overlap)."""
        first = term.words[0]
        candidates = self._with_prefix(first) if term.prefixes[0] else [first]
        found = [i for w in candidates for i in self._positions.get(w, ())]
        if len(term.words) > 1:
            found = [i for i in found if self._matches_at(i, term)]
        return sorted(found)

    def count(self, term: Term) -> int:
        if term not in self._counts:
            self._counts[term] = len(self.starts(term))
        return self._counts[term]

    def find(self, terms: tuple[Term, ...]) -> list[TermMatch]:
        """Occurrences of any of the terms, left to right, never overlapping: where several
        match at one place, the one of most words wins, then an exact one, then the longest."""

        def rank(i: int) -> tuple[int, bool, int]:
            return (-len(terms[i].words), any(terms[i].prefixes), -len(terms[i].phrase))

        candidates = sorted(
            (start, rank(i), i) for i, term in enumerate(terms) for start in self.starts(term)
        )
        found: list[TermMatch] = []
        free = 0
        for start, _, i in candidates:
            if start >= free:
                free = start + len(terms[i].words)
                found.append(TermMatch(i, start, free))
        return found

    def _matches_at(self, start: int, term: Term) -> bool:
        end = start + len(term.words)
        if end > len(self.words):
            return False
        window = self.words[start:end]
        return all(
            word.startswith(want) if prefix else word == want
            for word, want, prefix in zip(window, term.words, term.prefixes, strict=True)
        )

    def _with_prefix(self, prefix: str) -> list[str]:
        if self._vocabulary is None:
            self._vocabulary = sorted(self._positions)
        found = []
        for word in self._vocabulary[bisect_left(self._vocabulary, prefix) :]:
            if not word.startswith(prefix):
                break
            found.append(word)
        return found


@lru_cache(maxsize=16)
def text_terms(text: str) -> TextTerms:
    """TextTerms of a text, kept for the next caller (alert rules scan one article each)."""
    return TextTerms(text)
