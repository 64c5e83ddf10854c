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
  the passage that matched) and the seed's own lead (same event or not). Paragraphs
  far in meaning from the rest of the seed (page furniture such as a newsletter
  promotion, ``pipeline.classify.furniture``) are left out.

How these combine into one score is ``pipeline.classify.routes``: a seed the threads
file describes is related through its storylines and angles, each route backed by
meaning or by the seed's distinctive terms; any other seed has no keyword lists and is
related by its own story: semantic closeness counts only as far as the article also
shares the seed's distinctive terms, so UK–China coverage of another story is not taken
for this one's follow-up or background.

Thresholds live in ``DedupSettings``; the weights in ``routes`` were chosen on the dev split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.classify.analysis import Analysis, SeedProfile
from pipeline.classify.dating import Dated, days_from_seed, timing
from pipeline.classify.dedup import containment
from pipeline.classify.embed import Passage, Vector, cosine
from pipeline.classify.routes import (
    EXTRA_THREAD_BONUS,
    SEMANTIC_FLOOR,
    STORY_FULL,
    STORYLINE_SEMANTIC_FULL,
    related_score,
    topical_score,
)
from pipeline.classify.story import bm25
from pipeline.classify.threads import ThreadMatch
from pipeline.config import DedupSettings
from pipeline.records import Relation

TOP_TERMS_SHOWN = 10
_KEYWORD_FEATURES = ("threads", "angle", "topical")  # from the threads file's keyword lists


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
    topical = topical_score(lexical, thread_score, angle)
    passage, semantic = _closest_passage(article.vector, profile.passages)
    semantic_lead = cosine(article.vector, profile.analysis.vector)
    related = related_score(
        keyword_lists=profile.keyword_lists,
        keyword_script=article.keyword_script,
        topical=topical,
        lexical=lexical,
        angle=angle,
        semantic=semantic,
        story=story,
    )
    scores = _Scores(
        copy, lexical, thread_score, angle, topical, semantic, semantic_lead, story, related
    )
    days = days_from_seed(when, profile.seed.published)
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
        "timing": timing(when, profile.seed.published, days, settings),
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


def _closest_passage(vector: Vector, passages: tuple[Passage, ...]) -> tuple[str | None, float]:
    best: tuple[str | None, float] = (None, 0.0)
    for passage in passages:
        score = cosine(vector, passage.vector)
        if best[0] is None or score > best[1]:
            best = (passage.text, score)
    return best


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
    elif s.story <= 0:
        parts.append("none of the seed's distinctive terms")
    if shared and s.semantic < STORYLINE_SEMANTIC_FULL and s.story < STORY_FULL:
        parts.append(f"its storylines' words, but far from the seed in meaning ({s.semantic:.2f})")
    if s.semantic < SEMANTIC_FLOOR:
        parts.append(f"low semantic similarity ({s.semantic:.2f})")
    if s.lexical < settings.follow_up_threshold:
        parts.append(f"low lexical similarity ({s.lexical:.2f})")
    return "; ".join(parts) or "combined evidence below the follow-up threshold"
