"""How an article relates to a seed story, with evidence, and when it was published.

Relations (``docs/statuses.md`` has examples):

- ``duplicate``: the seed's own story: a copy of it, or the same event reported
  independently within ``dedup.same_day_tolerance_days`` of the seed;
- ``follow_up``: related coverage published after the seed (a later development);
- ``background``: related coverage published before the seed;
- ``unrelated``: none of these.

An article without a publication date is dated by its discovery time, and the evidence
says so. Four kinds of evidence are combined, so no single keyword decides:

- copy: containment of word shingles between the article and the seed (as in
  ``pipeline.classify.dedup``) — a copy of the seed, whatever its chrome, headline or length;
- lexical: BM25 of the article over the seed's key terms, scaled so that the seed
  itself scores 1. Key terms are the seed's words and two-word phrases, weighted by
  how often the seed uses them and by a background weight: the commonest words of
  English news (``pipeline/data/common_words.txt``) are left out and proper nouns and
  phrases count extra. A fixed background keeps a relation reproducible: the same
  article gets the same relation on a fresh store and on a full one;
- topic: the storylines (threads) the article shares with the seed, and the story
  angles (e.g. Britain and China) the seed shows and the article must show too; both
  come from the optional threads file, and only for the seeds it names (``seeds``);
- story: BM25 of the article over the seed's *distinctive* terms, weighted by rarity in
  general English (``pipeline.classify.story``): the names and specifics of the seed's
  own story rather than the vocabulary of its beat;
- semantic: the cosine between the article's embedding (title and lead, see
  ``pipeline.classify.embed``) and the seed's paragraphs (the best one is quoted as
  the passage that matched) and the seed's own lead (same event or not).

A seed the threads file describes is related through its storylines and angles (topic,
lexical, semantic gated by the angles). Any other seed has no keyword lists and is
related by its own story: semantic closeness counts only as far as the article also
shares the seed's distinctive terms, so UK–China coverage of another story is not taken
for this one's follow-up or background.

Thresholds live in ``DedupSettings``; the weights below were chosen on the dev split.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from importlib import resources
from itertools import pairwise
from typing import Any

from pipeline.classify.dedup import Fingerprint, containment, fingerprint
from pipeline.classify.embed import Embedder, Passage, Vector, cosine, mostly_cjk
from pipeline.classify.seeds import Seed
from pipeline.classify.story import bm25, story_terms
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
# How the follow-up score is made: lexical closeness and shared storylines, scaled by
# the share of the seed's angles the article shows (none: score 0).
LEXICAL_WEIGHT = 0.5
THREAD_WEIGHT = 0.5
EXTRA_THREAD_BONUS = 0.25  # each further shared storyline beyond the strongest one
TOP_TERMS_SHOWN = 10
# The semantic cosine to the seed's best paragraph is mapped onto 0..1 between these two
# points (on dev, unrelated items stay below the first, related ones mostly above it).
SEMANTIC_FLOOR = 0.25
SEMANTIC_CEILING = 0.55
SEMANTIC_WEIGHT = 0.8  # its share of the semantic route's score; lexical closeness has the rest
# The semantic route is gated by the seed's angles too, but softly: an article showing
# this much of its weakest angle counts in full. Angle terms are English keyword lists,
# so text in a script they cannot match (Chinese) is not gated by them.
ANGLE_FULL = 0.4
# A seed without keyword lists: the semantic score counts in full once the article's
# story score (its share of the seed's distinctive terms) reaches STORY_FULL, in
# proportion below it. Text in a script the terms cannot match (Chinese) is judged by
# meaning alone, so it needs a closer passage: its semantic floor is CJK_SEMANTIC_FLOOR.
STORY_FULL = 0.12
CJK_SEMANTIC_FLOOR = 0.45
_KEYWORD_FEATURES = ("threads", "angle", "topical")  # from the threads file's keyword lists


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
    vector: Vector  # embedding of title and lead
    keyword_script: bool  # written in a script the keyword lists can match


def analyse(
    text: str,
    title: str | None,
    settings: DedupSettings,
    book: ThreadBook,
    embedder: Embedder,
    vector: Vector | None = None,
) -> Analysis:
    """Everything about a text the relations need; `vector` reuses a stored embedding."""
    full = f"{title}\n\n{text}" if title else text
    text_terms = TextTerms(full)
    return Analysis(
        fingerprint=fingerprint(text, settings),
        terms=term_counts(full),
        length=len(text_terms),
        threads=tuple(match_threads(text_terms, book)),
        angles=match_angles(text_terms, book),
        vector=embedder.embed_article(title, text) if vector is None else vector,
        keyword_script=not mostly_cjk(full),
    )


@dataclass(frozen=True)
class SeedProfile:
    seed: Seed
    analysis: Analysis
    key_terms: dict[str, float]  # term → query weight
    self_score: float  # BM25 of the seed against its own key terms
    angles: tuple[str, ...]  # the angles the seed fully shows
    passages: tuple[Passage, ...]  # the seed's paragraphs, embedded
    keyword_lists: bool  # the threads file describes this seed (its threads and angles)
    story_terms: dict[str, float]  # distinctive term → query weight
    story_self: float  # BM25 of the seed against its own story terms


def profile_seed(
    seed: Seed, settings: DedupSettings, book: ThreadBook, embedder: Embedder
) -> SeedProfile:
    analysis = analyse(seed.text, seed.title, settings, book, embedder)
    proper = proper_nouns(seed.full_text)

    def weight(term: str, tf: int) -> float:
        specific = " " in term or term in proper
        return (1 + math.log(tf)) * (PROPER_WEIGHT if specific else 1.0)

    ranked = sorted(
        ((weight(t, tf), t) for t, tf in analysis.terms.items()), key=lambda x: (-x[0], x[1])
    )
    key_terms = {t: w for w, t in ranked[:KEY_TERMS]}
    self_score = bm25(key_terms, analysis.terms, analysis.length)[0]
    keyword_lists = book.describes(seed.id)
    angles = tuple(sorted(a.name for a in analysis.angles.values() if a.strength >= 1.0))
    passages = tuple(embedder.passages(seed.text))
    story = story_terms(analysis.terms)
    return SeedProfile(
        seed,
        analysis,
        key_terms,
        self_score,
        angles if keyword_lists else (),
        passages,
        keyword_lists,
        story,
        bm25(story, analysis.terms, analysis.length)[0],
    )


@dataclass(frozen=True)
class Dated:
    """When an article appeared: its publication time, else its discovery time."""

    at: datetime
    source: str  # "published" or "discovered"

    @classmethod
    def of(cls, published: datetime | None, discovered: datetime | None) -> Dated | None:
        if published is not None:
            return cls(_utc(published), "published")
        if discovered is not None:
            return cls(_utc(discovered), "discovered")
        return None


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class RelationResult:
    seed_id: str
    relation: Relation
    score: float  # 0..1
    evidence: dict[str, Any]


@dataclass(frozen=True)
class _Scores:
    copy: float
    lexical: float
    threads: float
    angle: float
    topical: float
    semantic: float  # cosine to the seed's closest paragraph
    semantic_lead: float  # cosine to the seed's own title and lead
    story: float  # share of the seed's distinctive terms
    related: float


def relate(
    article: Analysis, profile: SeedProfile, settings: DedupSettings, when: Dated | None = None
) -> RelationResult:
    """The article's relation to one seed, its score and the evidence behind it."""
    copy = containment(article.fingerprint.shingles, profile.analysis.fingerprint.shingles)
    raw, contributions = bm25(profile.key_terms, article.terms, article.length)
    lexical = min(1.0, raw / profile.self_score) if profile.self_score else 0.0
    raw_story, story_contributions = bm25(profile.story_terms, article.terms, article.length)
    story = min(1.0, raw_story / profile.story_self) if profile.story_self else 0.0

    seed_threads = {m.name for m in profile.analysis.threads} if profile.keyword_lists else ()
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
    passage, semantic = _closest_passage(article.vector, profile.passages)
    semantic_lead = cosine(article.vector, profile.analysis.vector)
    if profile.keyword_lists:
        # Semantic closeness carries follow-ups off the storylines; the angles gate it.
        gate = min(1.0, angle / ANGLE_FULL) if article.keyword_script else 1.0
        semantic_part = _scaled(semantic, SEMANTIC_FLOOR)
        related = max(
            topical, (SEMANTIC_WEIGHT * semantic_part + (1 - SEMANTIC_WEIGHT) * lexical) * gate
        )
    elif article.keyword_script:
        related = _scaled(semantic, SEMANTIC_FLOOR) * min(1.0, story / STORY_FULL)
    else:
        related = _scaled(semantic, CJK_SEMANTIC_FLOOR)
    scores = _Scores(
        copy, lexical, thread_score, angle, topical, semantic, semantic_lead, story, related
    )
    days = _days_from_seed(when, profile.seed.published)
    relation, score, reason = _decide(scores, days, shared, profile, settings)
    if relation is Relation.UNRELATED:
        reason = _unrelated_reason(scores, profile, shared, angle_strengths, settings)

    top = sorted(contributions.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TERMS_SHOWN]
    top_story = sorted(story_contributions.items(), key=lambda kv: (-kv[1], kv[0]))
    evidence: dict[str, Any] = {
        "reason": reason,
        "features": {
            name: round(value, 3)
            for name, value in (
                ("containment", copy),
                ("lexical", lexical),
                ("threads", thread_score),
                ("angle", angle),
                ("topical", topical),
                ("semantic", semantic),
                ("semantic_lead", semantic_lead),
                ("story", story),
                ("related", related),
            )
            # A seed without keyword lists has no storylines or angles to report.
            if profile.keyword_lists or name not in _KEYWORD_FEATURES
        },
        "timing": _timing(when, profile.seed.published, days, settings),
        "matched_passage": passage,
        # Each term's share of the lexical score (the shares add up to "lexical").
        "top_terms": [{"term": t, "share": round(w / profile.self_score, 4)} for t, w in top],
        # The seed's distinctive terms the article shares (shares add up to "story").
        "story_terms": [
            {"term": t, "share": round(w / profile.story_self, 4)}
            for t, w in top_story[:TOP_TERMS_SHOWN]
        ],
        "shared_threads": {m.name: m.terms for m in shared},
        "angles": {
            name: {"strength": s, "terms": article.angles[name].terms}
            if name in article.angles
            else {"strength": s, "terms": {}}
            for name, s in angle_strengths.items()
        },
    }
    return RelationResult(profile.seed.id, relation, round(min(1.0, score), 4), evidence)


def _decide(
    s: _Scores,
    days: int | None,
    shared: list[ThreadMatch],
    profile: SeedProfile,
    settings: DedupSettings,
) -> tuple[Relation, float, str]:
    same_time = days is None or abs(days) <= settings.same_day_tolerance_days
    # (applies, score, threshold, reason): the ways an article is the seed's own story.
    same_story = (
        (
            True,
            s.copy,
            settings.duplicate_threshold,
            f"{s.copy:.0%} of the shorter text's shingles appear in the other: a copy",
        ),
        (
            same_time,
            s.lexical,
            settings.rewrite_threshold,
            f"lexical similarity {s.lexical:.2f} to the seed, published with it: "
            "the same story rewritten",
        ),
        (
            same_time,
            s.semantic_lead,
            settings.same_event_threshold,
            f"its lead says what the seed's says (semantic {s.semantic_lead:.2f}), "
            "published with it: the same event reported independently",
        ),
    )
    for applies, score, threshold, reason in same_story:
        if applies and score >= threshold:
            return Relation.DUPLICATE, score, reason
    if s.related < settings.follow_up_threshold:
        return Relation.UNRELATED, s.related, ""
    why = (
        f"related to the seed (semantic {s.semantic:.2f}, lexical {s.lexical:.2f}"
        + ("" if profile.keyword_lists else f", its distinctive terms {s.story:.2f}")
        + (f", storylines {', '.join(m.name for m in shared)}" if shared else "")
        + (f", angles {', '.join(profile.angles)}" if profile.angles else "")
        + ")"
    )
    if days is not None and days < 0:
        return Relation.BACKGROUND, s.related, f"{why}, published before it: background"
    return Relation.FOLLOW_UP, s.related, f"{why}, published after it: a later development"


def _scaled(semantic: float, floor: float) -> float:
    """A cosine mapped onto 0..1 between `floor` and SEMANTIC_CEILING."""
    return min(1.0, max(0.0, (semantic - floor) / (SEMANTIC_CEILING - floor)))


def _closest_passage(vector: Vector, passages: tuple[Passage, ...]) -> tuple[str | None, float]:
    best: tuple[str | None, float] = (None, 0.0)
    for passage in passages:
        score = cosine(vector, passage.vector)
        if best[0] is None or score > best[1]:
            best = (passage.text, score)
    return best


def _days_from_seed(when: Dated | None, seed_day: date | None) -> int | None:
    """Whole days from the seed's publication day to the article's (UTC), if both known."""
    if when is None or seed_day is None:
        return None
    return (when.at.date() - seed_day).days


def _timing(
    when: Dated | None, seed_day: date | None, days: int | None, settings: DedupSettings
) -> dict[str, Any]:
    return {
        "article_date": when.at.isoformat() if when else None,
        "dated_by": when.source if when else "none",
        "seed_date": seed_day.isoformat() if seed_day else None,
        "days_after_seed": days,
        "same_day_tolerance_days": settings.same_day_tolerance_days,
    }


def _unrelated_reason(
    s: _Scores,
    profile: SeedProfile,
    shared: list[ThreadMatch],
    angle_strengths: dict[str, float],
    settings: DedupSettings,
) -> str:
    missing = [name for name, strength in angle_strengths.items() if strength < 1.0]
    parts = []
    if profile.keyword_lists and not shared:
        parts.append("no storyline in common with the seed")
    if missing:
        parts.append(f"weak or missing angle: {', '.join(missing)}")
    if not profile.keyword_lists and s.story < STORY_FULL:
        parts.append(f"few of the seed's distinctive terms ({s.story:.2f})")
    if s.semantic < SEMANTIC_FLOOR:
        parts.append(f"low semantic similarity ({s.semantic:.2f})")
    if s.lexical < settings.follow_up_threshold:
        parts.append(f"low lexical similarity ({s.lexical:.2f})")
    return "; ".join(parts) or "combined evidence below the follow-up threshold"
