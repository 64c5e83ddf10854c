"""A seed's distinctive terms: rare in general English, so its own story's, not its beat's."""

from __future__ import annotations

from collections import Counter

from pipeline.classify.key_terms import term_counts
from pipeline.classify.seeds import builtin_seed
from pipeline.classify.story import bm25, rarity, story_terms


def test_rarity_ranks_names_above_beat_words() -> None:
    assert rarity("the") == 0.0 and rarity("government") == 0.0
    assert rarity("corvane") == 1.0  # a name no word list knows
    assert rarity("photonics") > rarity("laser") > rarity("chinese") > 0.0
    # The tokenizer writes the pound sign as "gbp": as common as the word for it.
    assert rarity("gbp") == rarity("pounds") < rarity("corvane") / 2


def test_the_story_profile_is_the_seeds_names_not_its_beat() -> None:
    terms = story_terms(term_counts(builtin_seed("nsi_corvane").full_text))
    top = list(terms)[:8]
    assert {"corvane", "hailan", "photonics"} <= set(top)
    beat = {"chinese", "china", "british", "uk", "security", "government", "national"}
    assert all(terms.get(word, 0.0) < terms["corvane"] / 4 for word in beat)
    assert all(weight > 0 for weight in terms.values())


def test_bm25_credits_each_shared_term() -> None:
    query = {"corvane": 2.0, "hailan": 1.0}
    score, parts = bm25(query, Counter({"corvane": 2, "other": 5}), length=300)
    assert set(parts) == {"corvane"} and score == parts["corvane"] > 0
    assert bm25(query, Counter({"other": 1}), length=300) == (0.0, {})
