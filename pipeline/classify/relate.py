"""How an article relates to a seed story: duplicate, follow-up or unrelated, with evidence.

Three kinds of evidence are combined, so no single keyword decides:

- copy: containment of word shingles between the article and the seed (as in
  ``pipeline.classify.dedup``) — a copy of the seed, whatever its chrome, headline or length;
- lexical: BM25 of the article over the seed's key terms, scaled so that the seed
  itself scores 1. Key terms are the seed's words and two-word phrases, weighted by
  how often the seed uses them and by a background weight: the commonest words of
  English news (``pipeline/data/common_words.txt``) are left out and proper nouns and
  phrases count extra. A fixed background keeps a relation reproducible: the same
  article gets the same relation on a fresh store and on a full one;
- topic: the storylines (threads) the article shares with the seed, and the story
  angles (e.g. Britain and China) the seed shows and the article must show too.

A rewrite of the seed (same event, new words) has a lexical score close to the seed's
own and is a duplicate too. Thresholds live in ``DedupSettings``.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from itertools import pairwise
from typing import Any

from pipeline.classify.dedup import Fingerprint, containment, fingerprint
from pipeline.classify.seeds import Seed
from pipeline.classify.threads import (
    AngleMatch,
    ThreadBook,
    ThreadMatch,
    match_angles,
    match_threads,
)
from pipeline.config import DedupSettings
from pipeline.records import Relation
from pipeline.text.terms import TextTerms
from pipeline.text.tokens import plain_words, words

KEY_TERMS = 60  # the seed's strongest terms make up its lexical profile
PROPER_WEIGHT = 1.5  # names (capitalised inside a sentence) and phrases are more specific
BM25_K1 = 1.2
BM25_B = 0.5  # half length normalisation: teasers and long features both occur
AVG_WORDS = 600  # typical article length for BM25's length normalisation
# How the follow-up score is made: lexical closeness and shared storylines, scaled by
# the share of the seed's angles the article shows (none: score 0).
LEXICAL_WEIGHT = 0.5
THREAD_WEIGHT = 0.5
EXTRA_THREAD_BONUS = 0.25  # each further shared storyline beyond the strongest one
TOP_TERMS_SHOWN = 10


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    raw = resources.files("pipeline").joinpath("data/common_words.txt").read_text("utf-8")
    found: set[str] = set()
    for line in raw.splitlines():
        if not line.lstrip().startswith("#"):
            found.update(words(line))
    return frozenset(found)


def term_counts(text: str) -> Counter[str]:
    """Counts of the uncommon words and of two-word phrases of uncommon words."""
    common = common_words()
    counts: Counter[str] = Counter()
    previous: str | None = None
    for word in plain_words(text):
        if word in common or len(word) < 2:
            previous = None
            continue
        counts[word] += 1
        if previous is not None:
            counts[f"{previous} {word}"] += 1
        previous = word
    return counts


def proper_nouns(text: str) -> frozenset[str]:
    """Lower-cased words written capitalised somewhere other than a sentence start."""
    found: set[str] = set()
    for line in text.splitlines():
        tokens = line.split()
        for prev, token in pairwise(tokens):
            if token[:1].isupper() and not prev.endswith((".", "!", "?", ":", "“", '"')):
                found.update(words(token))
    return frozenset(found)


@dataclass(frozen=True)
class Analysis:
    """What the relation needs to know about one text; built once, used for every seed."""

    fingerprint: Fingerprint  # of the body
    terms: Counter[str]  # of title and body
    length: int  # words in title and body
    threads: tuple[ThreadMatch, ...]
    angles: dict[str, AngleMatch]


def analyse(text: str, title: str | None, settings: DedupSettings, book: ThreadBook) -> Analysis:
    full = f"{title}\n\n{text}" if title else text
    text_terms = TextTerms(full)
    return Analysis(
        fingerprint=fingerprint(text, settings),
        terms=term_counts(full),
        length=len(text_terms),
        threads=tuple(match_threads(text_terms, book)),
        angles=match_angles(text_terms, book),
    )


@dataclass(frozen=True)
class SeedProfile:
    seed: Seed
    analysis: Analysis
    key_terms: dict[str, float]  # term → query weight
    self_score: float  # BM25 of the seed against its own key terms
    angles: tuple[str, ...]  # the angles the seed fully shows


def profile_seed(seed: Seed, settings: DedupSettings, book: ThreadBook) -> SeedProfile:
    analysis = analyse(seed.text, seed.title, settings, book)
    proper = proper_nouns(seed.full_text)

    def weight(term: str, tf: int) -> float:
        specific = " " in term or term in proper
        return (1 + math.log(tf)) * (PROPER_WEIGHT if specific else 1.0)

    ranked = sorted(
        ((weight(t, tf), t) for t, tf in analysis.terms.items()), key=lambda x: (-x[0], x[1])
    )
    key_terms = {t: w for w, t in ranked[:KEY_TERMS]}
    self_score = _bm25(key_terms, analysis.terms, analysis.length)[0]
    angles = tuple(sorted(a.name for a in analysis.angles.values() if a.strength >= 1.0))
    return SeedProfile(seed, analysis, key_terms, self_score, angles)


def _bm25(
    key_terms: dict[str, float], counts: Counter[str], length: int
) -> tuple[float, dict[str, float]]:
    norm = BM25_K1 * (1 - BM25_B + BM25_B * length / AVG_WORDS)
    contributions: dict[str, float] = {}
    for term, weight in key_terms.items():
        tf = counts.get(term, 0)
        if tf:
            contributions[term] = weight * tf * (BM25_K1 + 1) / (tf + norm)
    return sum(contributions.values()), contributions


@dataclass(frozen=True)
class RelationResult:
    seed_id: str
    relation: Relation
    score: float  # 0..1
    evidence: dict[str, Any]


def relate(article: Analysis, profile: SeedProfile, settings: DedupSettings) -> RelationResult:
    """The article's relation to one seed, its score and the evidence behind it."""
    copy = containment(article.fingerprint.shingles, profile.analysis.fingerprint.shingles)
    raw, contributions = _bm25(profile.key_terms, article.terms, article.length)
    lexical = min(1.0, raw / profile.self_score) if profile.self_score else 0.0

    seed_threads = {m.name for m in profile.analysis.threads}
    shared = [m for m in article.threads if m.name in seed_threads]
    thread_score = 0.0
    if shared:
        strengths = sorted((m.strength for m in shared), reverse=True)
        thread_score = min(1.0, strengths[0] + EXTRA_THREAD_BONUS * sum(strengths[1:]))
    angle_strengths = {
        name: article.angles[name].strength if name in article.angles else 0.0
        for name in profile.angles
    }
    angle = min(angle_strengths.values(), default=1.0)
    topical = (LEXICAL_WEIGHT * lexical + THREAD_WEIGHT * thread_score) * angle

    if copy >= settings.duplicate_threshold:
        relation, score = Relation.DUPLICATE, copy
        reason = f"{copy:.0%} of the shorter text's shingles appear in the other: a copy"
    elif lexical >= settings.rewrite_threshold:
        relation, score = Relation.DUPLICATE, lexical
        reason = f"lexical similarity {lexical:.2f} to the seed: the same story rewritten"
    elif topical >= settings.follow_up_threshold:
        relation, score = Relation.FOLLOW_UP, topical
        reason = (
            f"shares storylines ({', '.join(m.name for m in shared) or 'none'}) and key terms "
            f"with the seed, with its angles ({', '.join(profile.angles) or 'none'})"
        )
    else:
        relation, score = Relation.UNRELATED, topical
        reason = _unrelated_reason(lexical, shared, angle_strengths, settings)

    top = sorted(contributions.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TERMS_SHOWN]
    evidence: dict[str, Any] = {
        "reason": reason,
        "features": {
            "containment": round(copy, 3),
            "lexical": round(lexical, 3),
            "threads": round(thread_score, 3),
            "angle": round(angle, 3),
            "topical": round(topical, 3),
        },
        # Each term's share of the lexical score (the shares add up to "lexical").
        "top_terms": [{"term": t, "share": round(w / profile.self_score, 4)} for t, w in top],
        "shared_threads": {m.name: m.terms for m in shared},
        "angles": {
            name: {"strength": s, "terms": article.angles[name].terms}
            if name in article.angles
            else {"strength": s, "terms": {}}
            for name, s in angle_strengths.items()
        },
    }
    return RelationResult(profile.seed.id, relation, round(min(1.0, score), 4), evidence)


def _unrelated_reason(
    lexical: float,
    shared: list[ThreadMatch],
    angle_strengths: dict[str, float],
    settings: DedupSettings,
) -> str:
    missing = [name for name, s in angle_strengths.items() if s < 1.0]
    parts = []
    if not shared:
        parts.append("no storyline in common with the seed")
    if missing:
        parts.append(f"weak or missing angle: {', '.join(missing)}")
    if lexical < settings.follow_up_threshold:
        parts.append(f"low lexical similarity ({lexical:.2f})")
    return "; ".join(parts) or "combined evidence below the follow-up threshold"
