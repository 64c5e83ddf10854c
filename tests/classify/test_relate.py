"""The relation of articles to the built-in seed, on original sample texts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.classify.analysis import SeedProfile, analyse, profile_seed
from pipeline.classify.dating import Dated
from pipeline.classify.embed import default_embedder
from pipeline.classify.key_terms import proper_nouns, term_counts
from pipeline.classify.relate import RelationResult, relate
from pipeline.classify.seeds import builtin_seed
from pipeline.classify.threads import load_thread_book, parse_thread_book
from pipeline.config import DedupSettings
from pipeline.records import Relation

FIXTURES = Path(__file__).parents[1] / "fixtures" / "dedup"
SETTINGS = DedupSettings()
BOOK = load_thread_book()
SEED = builtin_seed("seed_article")
EMBED = default_embedder()


@pytest.fixture(scope="module")
def profile() -> SeedProfile:
    return profile_seed(SEED, SETTINGS, BOOK, EMBED)


def fixture(name: str) -> str:
    return (FIXTURES / f"{name}.txt").read_text(encoding="utf-8")


def related(text: str, profile: SeedProfile, title: str | None = None) -> RelationResult:
    return relate(analyse(text, title, SETTINGS, BOOK, EMBED), profile, SETTINGS)


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
    result = relate(
        analyse(fixture("follow_up_nuclear"), None, strict, BOOK, EMBED), profile, strict
    )
    assert result.relation is Relation.UNRELATED


def _dated(day: datetime | None, discovered: datetime | None = None) -> Dated | None:
    return Dated.of(day, discovered)


def test_related_coverage_before_the_seed_is_background(profile: SeedProfile) -> None:
    text = fixture("background_hk_2019")
    analysis = analyse(text, "UK urges restraint in Hong Kong", SETTINGS, BOOK, EMBED)
    before = relate(analysis, profile, SETTINGS, _dated(datetime(2019, 7, 1, 10, tzinfo=UTC)))
    after = relate(analysis, profile, SETTINGS, _dated(datetime(2021, 7, 1, 10, tzinfo=UTC)))
    assert before.relation is Relation.BACKGROUND
    assert after.relation is Relation.FOLLOW_UP
    assert before.evidence["timing"]["dated_by"] == "published"
    assert before.evidence["timing"]["days_after_seed"] < 0
    assert "before" in before.evidence["reason"]


def test_an_undated_article_is_dated_by_its_discovery_and_says_so(
    profile: SeedProfile,
) -> None:
    analysis = analyse(fixture("background_hk_2019"), None, SETTINGS, BOOK, EMBED)
    result = relate(analysis, profile, SETTINGS, _dated(None, datetime(2019, 8, 1, 10, tzinfo=UTC)))
    assert result.relation is Relation.BACKGROUND
    assert result.evidence["timing"]["dated_by"] == "discovered"


def test_the_evidence_shows_the_semantic_score_and_the_passage_that_matched(
    profile: SeedProfile,
) -> None:
    result = related(fixture("follow_up_nuclear"), profile)
    features = result.evidence["features"]
    assert 0.25 < features["semantic"] <= 1.0
    assert result.evidence["matched_passage"] in {p.text for p in profile.passages}
    unrelated = related(fixture("council_potholes"), profile)
    assert unrelated.evidence["features"]["semantic"] < features["semantic"]


def test_a_rewrite_is_the_same_story_only_when_published_with_the_seed(
    profile: SeedProfile,
) -> None:
    analysis = analyse(fixture("seed_rewrite"), None, SETTINGS, BOOK, EMBED)
    same_day = relate(analysis, profile, SETTINGS, _dated(datetime(2020, 7, 21, 18, tzinfo=UTC)))
    months_on = relate(analysis, profile, SETTINGS, _dated(datetime(2021, 3, 1, tzinfo=UTC)))
    assert same_day.relation is Relation.DUPLICATE
    assert months_on.relation is Relation.FOLLOW_UP


def test_a_seed_without_storylines_relates_by_meaning() -> None:
    book = parse_thread_book({"threads": [], "angles": []}, "empty")
    seed = builtin_seed("seed_article")
    bare = profile_seed(seed, SETTINGS, book, EMBED)
    assert bare.angles == ()
    when = _dated(datetime(2021, 3, 1, tzinfo=UTC))
    follow = relate(
        analyse(fixture("follow_up_nuclear"), None, SETTINGS, book, EMBED), bare, SETTINGS, when
    )
    other = relate(
        analyse(fixture("library_reopening"), None, SETTINGS, book, EMBED), bare, SETTINGS, when
    )
    assert follow.relation is Relation.FOLLOW_UP
    assert follow.evidence["shared_threads"] == {}
    assert other.relation is Relation.UNRELATED


# Original text written for this test: a later development of the second seed's story.
CORVANE_FOLLOW_UP = """Hailan Technology has asked the High Court to overturn the order that
stopped it buying Corvane Photonics, the Filton maker of infrared laser diodes.

In papers filed on Tuesday, the Hong Kong-registered buyer argues that the business
secretary did not explain why safeguards it offered, such as keeping Corvane's research in
Bristol, could not meet the security concerns. Corvane said it was still looking for a new
owner and that its 140 staff had been kept informed."""


def test_a_seed_the_threads_file_does_not_name_is_related_by_its_own_story() -> None:
    corvane = profile_seed(builtin_seed("nsi_corvane"), SETTINGS, BOOK, EMBED)
    assert not corvane.keyword_lists and corvane.angles == ()
    assert "corvane" in corvane.story_terms
    after = _dated(datetime(2022, 9, 1, tzinfo=UTC))
    follow = relate(
        analyse(CORVANE_FOLLOW_UP, None, SETTINGS, BOOK, EMBED), corvane, SETTINGS, after
    )
    assert follow.relation is Relation.FOLLOW_UP
    assert follow.evidence["shared_threads"] == {}
    assert "corvane" in {t["term"] for t in follow.evidence["story_terms"]}
    assert "distinctive terms" in follow.evidence["reason"]
    assert "angle" not in follow.evidence["features"]  # no keyword lists to report on
    # UK–China coverage of another story (the first seed itself, dated before the second)
    # is neither its background nor its follow-up: it shares none of its names.
    before = _dated(datetime(2020, 7, 21, tzinfo=UTC))
    pompeo = relate(
        analyse(SEED.text, SEED.title, SETTINGS, BOOK, EMBED), corvane, SETTINGS, before
    )
    assert pompeo.relation is Relation.UNRELATED
    assert pompeo.evidence["features"]["story"] < 0.05
    assert "few of the seed's distinctive terms" in pompeo.evidence["reason"]


def test_the_seed_the_threads_file_names_keeps_its_storylines(profile: SeedProfile) -> None:
    assert profile.keyword_lists and BOOK.seeds == frozenset({"seed_article"})
    follow = related(fixture("follow_up_nuclear"), profile)
    assert follow.evidence["shared_threads"]
