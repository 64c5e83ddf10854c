"""The routes by which an article relates to a seed, and the seed's page furniture."""

from __future__ import annotations

import pytest

from pipeline.classify.analysis import profile_seed
from pipeline.classify.embed import default_embedder
from pipeline.classify.furniture import story_passages
from pipeline.classify.routes import STORY_FULL, related_score
from pipeline.classify.seeds import builtin_seed
from pipeline.classify.threads import load_thread_book
from pipeline.config import DedupSettings

THRESHOLD = DedupSettings().follow_up_threshold
EMBED = default_embedder()

PARAGRAPHS = [
    "The harbour authority in Porthallow approved a new ferry terminal on Monday after "
    "two years of delay.",
    "The terminal will let larger ferries dock at the harbour and is expected to double "
    "the number of crossings.",
    "Councillors said the harbour ferry plan would bring jobs to the town and ease queues "
    "at the old quay.",
    "Work on the terminal begins in spring, and the first ferries should berth at the new "
    "quay next year.",
]
PROMOTION = "Love a good quiz? Get our weekend puzzles straight to your inbox. Subscribe today."


def keyword_seed(**scores: float) -> float:
    """The related score for English text and a seed the threads file describes."""
    evidence = {"topical": 0.0, "lexical": 0.0, "angle": 1.0, "semantic": 0.0, "story": 0.0}
    evidence.update(scores)
    return related_score(keyword_lists=True, keyword_script=True, **evidence)


def test_a_promotion_among_the_story_paragraphs_is_left_out() -> None:
    text = "\n\n".join([*PARAGRAPHS[:2], PROMOTION, *PARAGRAPHS[2:]])
    kept = [p.text for p in story_passages(EMBED.passages(text))]
    assert PROMOTION not in kept
    assert kept == PARAGRAPHS


def test_a_short_seed_keeps_every_passage() -> None:
    text = "\n\n".join([PARAGRAPHS[0], PROMOTION])
    assert len(story_passages(EMBED.passages(text))) == 2


def test_the_shipped_seed_loses_only_its_newsletter_promotion() -> None:
    seed = builtin_seed("seed_article")
    settings = DedupSettings()
    profile = profile_seed(seed, settings, load_thread_book(), EMBED)
    every = EMBED.passages(seed.text)
    left_out = {p.text for p in every} - {p.text for p in profile.passages}
    assert len(left_out) == 1
    assert "Waugh Zone" in left_out.pop()


def test_storyline_words_far_from_the_seed_in_meaning_do_not_relate() -> None:
    # A page of several short items: the storyline's words, another story's lead.
    assert keyword_seed(topical=0.55, semantic=0.28, story=0.02) < THRESHOLD


@pytest.mark.parametrize(
    ("semantic", "story"),
    [(0.38, 0.0), (0.27, STORY_FULL)],
    ids=["close-in-meaning", "the-seed's-distinctive-terms"],
)
def test_storyline_words_backed_by_meaning_or_story_terms_relate(
    semantic: float, story: float
) -> None:
    assert keyword_seed(topical=0.55, semantic=semantic, story=story) == pytest.approx(0.55)


def test_closeness_in_meaning_needs_one_of_the_seed_distinctive_terms() -> None:
    # Sanctions-and-security vocabulary close to one seed paragraph, none of its story.
    alone = keyword_seed(semantic=0.39, lexical=0.07, angle=0.375, story=0.0)
    with_term = keyword_seed(semantic=0.39, lexical=0.07, angle=0.375, story=0.02)
    assert alone < THRESHOLD <= with_term


def test_chinese_text_is_judged_by_meaning_alone() -> None:
    # Neither the angles nor the distinctive terms can match it: no story gate.
    score = related_score(
        keyword_lists=True,
        keyword_script=False,
        topical=0.0,
        lexical=0.0,
        angle=0.0,
        semantic=0.5,
        story=0.0,
    )
    assert score >= THRESHOLD
