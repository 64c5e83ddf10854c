"""The relation of articles to the built-in seed, on original sample texts."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.classify.relate import (
    RelationResult,
    SeedProfile,
    analyse,
    profile_seed,
    proper_nouns,
    relate,
    term_counts,
)
from pipeline.classify.seeds import builtin_seed
from pipeline.classify.threads import load_thread_book
from pipeline.config import DedupSettings
from pipeline.records import Relation

FIXTURES = Path(__file__).parents[1] / "fixtures" / "dedup"
SETTINGS = DedupSettings()
BOOK = load_thread_book()
SEED = builtin_seed("seed_article")


@pytest.fixture(scope="module")
def profile() -> SeedProfile:
    return profile_seed(SEED, SETTINGS, BOOK)


def fixture(name: str) -> str:
    return (FIXTURES / f"{name}.txt").read_text(encoding="utf-8")


def related(text: str, profile: SeedProfile, title: str | None = None) -> RelationResult:
    return relate(analyse(text, title, SETTINGS, BOOK), profile, SETTINGS)


def test_key_terms_leave_out_common_words_and_favour_names(profile: SeedProfile) -> None:
    assert "said" not in profile.key_terms and "the" not in profile.key_terms
    top = sorted(profile.key_terms, key=lambda t: -profile.key_terms[t])[:12]
    assert {"pompeo", "china", "hong kong"} <= set(top)
    assert profile.angles == ("china", "uk")
    assert "pompeo" in proper_nouns(SEED.text)
    assert term_counts("China's grand strategy")["grand strategy"] == 1


def test_the_seed_in_other_chrome_is_a_duplicate(profile: SeedProfile) -> None:
    copy = "Listen to this article\n\n" + SEED.text + "\n\nMore from Politics"
    result = related(copy, profile, title="Pompeo urges Tories to get tough on China")
    assert result.relation is Relation.DUPLICATE
    assert result.score >= SETTINGS.duplicate_threshold
    assert result.evidence["features"]["containment"] >= 0.95
    assert "copy" in result.evidence["reason"]


def test_a_teaser_of_the_seed_is_a_duplicate(profile: SeedProfile) -> None:
    teaser = "\n\n".join(SEED.text.split("\n\n")[3:7])
    result = related(teaser, profile)
    assert result.relation is Relation.DUPLICATE


def test_a_rewrite_of_the_seed_story_is_a_duplicate(profile: SeedProfile) -> None:
    result = related(fixture("seed_rewrite"), profile)
    assert result.relation is Relation.DUPLICATE
    assert result.evidence["features"]["containment"] < 0.2  # new wording
    assert result.evidence["features"]["lexical"] >= SETTINGS.rewrite_threshold


def test_a_uk_china_storyline_is_a_follow_up_and_says_why(profile: SeedProfile) -> None:
    result = related(fixture("follow_up_nuclear"), profile)
    assert result.relation is Relation.FOLLOW_UP
    assert SETTINGS.follow_up_threshold <= result.score < 1
    evidence = result.evidence
    assert "nuclear" in evidence["shared_threads"]
    assert evidence["shared_threads"]["nuclear"]["cgn"] == 3
    assert evidence["angles"]["uk"]["strength"] == evidence["angles"]["china"]["strength"] == 1
    terms = [t["term"] for t in evidence["top_terms"]]
    assert "chinese" in terms and "huawei" in terms
    shares = sum(t["share"] for t in evidence["top_terms"])
    assert 0 < shares <= evidence["features"]["lexical"] + 1e-3


@pytest.mark.parametrize(
    "name", ["phone_review", "hkex_listing", "china_keywords_only", "council_potholes"]
)
def test_passing_mentions_and_other_stories_are_unrelated(name: str, profile: SeedProfile) -> None:
    result = related(fixture(name), profile)
    assert result.relation is Relation.UNRELATED
    assert 0 <= result.score < SETTINGS.follow_up_threshold
    assert result.evidence["reason"]


def test_seed_keywords_without_a_uk_angle_are_not_a_follow_up(profile: SeedProfile) -> None:
    result = related(fixture("china_keywords_only"), profile)
    assert result.evidence["features"]["lexical"] > 0.1  # Huawei, Hong Kong, Beijing, China
    assert result.evidence["angles"]["uk"]["strength"] < 0.5
    assert "uk" in result.evidence["reason"]


def test_thresholds_come_from_settings(profile: SeedProfile) -> None:
    strict = DedupSettings(follow_up_threshold=0.99)
    result = relate(analyse(fixture("follow_up_nuclear"), None, strict, BOOK), profile, strict)
    assert result.relation is Relation.UNRELATED
