"""How related an article is to a seed (0..1), from its evidence: the routes it can take.

A seed the threads file describes is related through its storylines and angles:

- the storyline route: lexical closeness and shared storylines, scaled by the share of
  the seed's angles the article shows. Keyword lists match words anywhere on a page, so
  a page of several short items can carry a storyline's words about something else: the
  route counts in full only when the article is also close in meaning to the seed
  (semantic ≥ ``STORYLINE_SEMANTIC_FULL``, in proportion from ``SEMANTIC_FLOOR``) or
  shares the seed's distinctive terms (story ≥ ``STORY_FULL``, in proportion below);
- the semantic route: closeness in meaning to the seed's closest paragraph, gated softly
  by the angles, and only for an article sharing at least one of the seed's distinctive
  terms (story > 0): great-power vocabulary alone (sanctions, security) is not the
  seed's story.

Any other seed has no keyword lists and is related by its own story: the semantic score
counts in proportion to the story score. Text in a script the keyword lists and terms
cannot match (Chinese) is judged by meaning alone. The weights were chosen on the dev
split of ``benchmarks/dedup_eval``.
"""

from __future__ import annotations

LEXICAL_WEIGHT = 0.5
THREAD_WEIGHT = 0.5
EXTRA_THREAD_BONUS = 0.25  # each further shared storyline beyond the strongest one
# The semantic cosine to the seed's best paragraph is mapped onto 0..1 between these two
# points (on dev, unrelated items stay below the first, related ones mostly above it).
SEMANTIC_FLOOR = 0.25
SEMANTIC_CEILING = 0.55
SEMANTIC_WEIGHT = 0.8  # its share of the semantic route's score; lexical closeness has the rest
# The storyline route counts in full from this semantic cosine up (on dev, every
# storyline follow-up but one is at 0.38 or more; that one shares the seed's terms).
STORYLINE_SEMANTIC_FULL = 0.35
# The semantic route is gated by the seed's angles too, but softly: an article showing
# this much of its weakest angle counts in full. Angle terms are English keyword lists,
# so text in a script they cannot match (Chinese) is not gated by them.
ANGLE_FULL = 0.4
# The story score (share of the seed's distinctive terms) at which story evidence counts
# in full. Text the terms cannot match needs a closer passage: CJK_SEMANTIC_FLOOR.
STORY_FULL = 0.12
CJK_SEMANTIC_FLOOR = 0.45


def scaled(semantic: float, floor: float, ceiling: float = SEMANTIC_CEILING) -> float:
    """A cosine mapped onto 0..1 between `floor` and `ceiling`."""
    return min(1.0, max(0.0, (semantic - floor) / (ceiling - floor)))


def topical_score(lexical: float, threads: float, angle: float) -> float:
    """Lexical closeness and shared storylines, scaled by the seed's weakest angle."""
    return (LEXICAL_WEIGHT * lexical + THREAD_WEIGHT * threads) * angle


def related_score(
    *,
    keyword_lists: bool,
    keyword_script: bool,
    topical: float,
    lexical: float,
    angle: float,
    semantic: float,
    story: float,
) -> float:
    """How related the article is to the seed, by the routes its seed allows."""
    story_part = min(1.0, story / STORY_FULL)
    if not keyword_lists:
        return (
            scaled(semantic, SEMANTIC_FLOOR) * story_part
            if keyword_script
            else scaled(semantic, CJK_SEMANTIC_FLOOR)
        )
    if not keyword_script:  # neither the angles nor the distinctive terms can match it
        return max(topical, _semantic_route(semantic, lexical, 1.0))
    closeness = max(scaled(semantic, SEMANTIC_FLOOR, STORYLINE_SEMANTIC_FULL), story_part)
    semantic_route = _semantic_route(semantic, lexical, min(1.0, angle / ANGLE_FULL))
    return max(topical * closeness, semantic_route if story > 0 else 0.0)


def _semantic_route(semantic: float, lexical: float, gate: float) -> float:
    part = scaled(semantic, SEMANTIC_FLOOR)
    return (SEMANTIC_WEIGHT * part + (1 - SEMANTIC_WEIGHT) * lexical) * gate
