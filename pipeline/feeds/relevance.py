"""The backfill's relevance pre-filter: score sitemap candidates against the seed, unfetched.

Whole archives are too big to download, so each candidate is judged on what the sitemap
gives away: the words of its URL slug and, in news sitemaps, its title. A scorer is any
object with a `name` and a `score(batch) -> list[float]` giving 0..1 per candidate (a
batch, so a model-based scorer can embed many texts at once). `make_scorer` combines the
lexical and the semantic scorer, weighted by `backfill.semantic_weight`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote

import numpy as np

from pipeline.classify.analysis import SeedProfile, profile_seed
from pipeline.classify.embed import Embedder, default_embedder
from pipeline.classify.key_terms import term_counts
from pipeline.classify.seeds import load_seeds
from pipeline.classify.threads import ThreadBook, load_thread_book
from pipeline.config import Settings
from pipeline.feeds.sitemap_dates import url_path
from pipeline.text.terms import Term, TextTerms
from pipeline.text.tokens import plain_words

# Cosine to the closest seed text mapped onto 0..1: slugs of unrelated pages reach about
# 0.2 against the shipped seed, slugs of its story 0.28-0.52 (measured; docs/backfill.md).
SEMANTIC_FLOOR = 0.2
SEMANTIC_CEILING = 0.5
# raw / (raw + SATURATION): a slug matching two strong seed terms (≈3 each) scores ≈0.67.
SATURATION = 3.0
_SEPARATORS = str.maketrans(dict.fromkeys("/-_.+,;=", " "))
_SLUG_NOISE = frozenset({"html", "htm", "php", "aspx", "shtml", "amp", "index", "article"})


@dataclass(frozen=True, slots=True)
class Candidate:
    url: str
    title: str | None = None


class RelevanceScorer(Protocol):
    name: str

    def score(self, candidates: Sequence[Candidate]) -> list[float]:
        """0..1 per candidate, in order: how likely the page belongs to the seed's story."""
        ...


def slug_text(url: str) -> str:
    """The words of a URL's path: '/world/2020/jul/21/huawei-ban.html' → 'world jul huawei ban'."""
    path = url_path(url).partition("?")[0]
    if "%" in path:
        path = unquote(path)
    path = path.translate(_SEPARATORS)
    return " ".join(w for w in path.split() if not w.isdigit() and w.lower() not in _SLUG_NOISE)


class LexicalScorer:
    """The seed's key terms (as the relation stage weighs them) and its storylines' terms."""

    name = "lexical"

    def __init__(self, profile: SeedProfile, book: ThreadBook) -> None:
        self._key_terms = profile.key_terms
        seed_threads = {match.name for match in profile.analysis.threads}
        terms = [t for th in book.threads if th.name in seed_threads for t in th.terms]
        # Terms by their first word; those whose first word is a prefix ("strip* out") are
        # looked up by that prefix.
        self._by_first: dict[str, list[Term]] = {}
        self._by_prefix: dict[str, list[Term]] = {}
        for term in terms:
            index = self._by_prefix if term.prefixes[0] else self._by_first
            index.setdefault(term.words[0], []).append(term)
        self._prefixes = tuple(self._by_prefix)
        # Every word that can contribute: most archive URLs share none and score 0 at once.
        self._vocabulary = frozenset(w for term in self._key_terms for w in term.split())
        self._vocabulary |= frozenset(self._by_first)

    def score(self, candidates: Sequence[Candidate]) -> list[float]:
        return [self.score_text(_text(c)) for c in candidates]

    def score_text(self, text: str) -> float:
        if not any(
            w in self._vocabulary or w.startswith(self._prefixes) for w in plain_words(text)
        ):
            return 0.0
        counts = term_counts(text)
        raw = sum(self._key_terms.get(term, 0.0) for term in counts)
        raw += self._topic(TextTerms(text))
        return raw / (raw + SATURATION) if raw > 0 else 0.0

    def _topic(self, text: TextTerms) -> float:
        matched: set[Term] = set()
        for word in set(text.words):
            candidates = list(self._by_first.get(word, ()))
            if word.startswith(self._prefixes):
                candidates += [
                    t for p, ts in self._by_prefix.items() if word.startswith(p) for t in ts
                ]
            matched.update(term for term in candidates if text.count(term))
        return sum(term.weight for term in matched)


class CombinedScorer:
    """A weighted mean of scorers, e.g. lexical 0.5 + semantic 0.5."""

    def __init__(self, parts: Sequence[tuple[RelevanceScorer, float]]) -> None:
        if not parts or any(weight <= 0 for _, weight in parts):
            raise ValueError("CombinedScorer needs at least one scorer, each with a weight > 0")
        self._parts = list(parts)
        self.name = "+".join(scorer.name for scorer, _ in parts)

    def score(self, candidates: Sequence[Candidate]) -> list[float]:
        total = sum(weight for _, weight in self._parts)
        sums = [0.0] * len(candidates)
        for scorer, weight in self._parts:
            for i, value in enumerate(scorer.score(candidates)):
                sums[i] += weight * value
        return [value / total for value in sums]


class SemanticScorer:
    """Sentence-embedding closeness of slug words and title to the seed, one batch per call.

    The seed is its title-and-lead vector (as the classifier embeds articles) and its
    paragraphs' vectors (as the classifier's semantic feature compares them): a lead can be
    a photo caption or a newsletter plug, the paragraphs carry the story.
    """

    name = "semantic"

    def __init__(self, profile: SeedProfile, embedder: Embedder) -> None:
        rows = [profile.analysis.vector, *(p.vector for p in profile.passages)]
        self._seed = np.stack(rows)
        self._embedder = embedder

    def score(self, candidates: Sequence[Candidate]) -> list[float]:
        texts = [_text(c) for c in candidates]
        if not texts:
            return []
        closest = (self._embedder.embed(texts) @ self._seed.T).max(axis=1)
        scaled = (closest - SEMANTIC_FLOOR) / (SEMANTIC_CEILING - SEMANTIC_FLOOR)
        # A URL with no words (/story/4821) says nothing: the model's empty vector is noise.
        return [
            float(v) if t.strip() else 0.0
            for v, t in zip(np.clip(scaled, 0.0, 1.0), texts, strict=True)
        ]


def make_scorer(settings: Settings) -> RelevanceScorer:
    """The pre-filter for the default seed (the first of dedup.seeds)."""
    book = load_thread_book(settings.dedup.threads_file)
    seed = load_seeds(settings)[0]
    embedder = default_embedder()
    profile = profile_seed(seed, settings.dedup, book, embedder)
    semantic = settings.backfill.semantic_weight
    parts: list[tuple[RelevanceScorer, float]] = []
    if semantic < 1:
        parts.append((LexicalScorer(profile, book), 1 - semantic))
    if semantic > 0:
        parts.append((SemanticScorer(profile, embedder), semantic))
    return parts[0][0] if len(parts) == 1 else CombinedScorer(parts)


def _text(candidate: Candidate) -> str:
    slug = slug_text(candidate.url)
    return f"{candidate.title}\n{slug}" if candidate.title else slug
