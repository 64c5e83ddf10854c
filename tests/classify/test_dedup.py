"""Fingerprints, containment and the LSH index, on original sample texts."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.classify.dedup import (
    NearDuplicateIndex,
    containment,
    fingerprint,
    normalise,
    passages,
    shingles,
    signature_bytes,
    signature_from_bytes,
    text_hash,
    words,
)
from pipeline.config import DedupSettings

FIXTURES = Path(__file__).parents[1] / "fixtures" / "dedup"
POTHOLES = (FIXTURES / "council_potholes.txt").read_text(encoding="utf-8")
LIBRARY = (FIXTURES / "library_reopening.txt").read_text(encoding="utf-8")
SETTINGS = DedupSettings()


def paras(text: str) -> list[str]:
    return text.split("\n\n")


def test_words_fold_case_quotes_and_compatibility_forms() -> None:
    assert words("The Council’s ＲＯＡＤ plan — “finally” agreed") == [
        "the",
        "council's",
        "road",
        "plan",
        "finally",
        "agreed",
    ]


def test_exact_hash_ignores_layout_and_punctuation_but_not_words() -> None:
    relaid = POTHOLES.replace("\n\n", "\n").replace(",", " ,").upper()
    assert text_hash(relaid) == text_hash(POTHOLES)
    assert normalise("A  line.\n\nAnother!") == "a line another"
    assert text_hash(POTHOLES.replace("Thursday", "Friday")) != text_hash(POTHOLES)


def test_shingles_stay_inside_paragraphs() -> None:
    reordered = "\n\n".join(reversed(paras(POTHOLES)))
    assert shingles(reordered, 5) == shingles(POTHOLES, 5)
    assert len(shingles("one two three\n\nfour five six seven eight nine", 5)) == 1 + 2


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(
            lambda t: "Share this story\n\n" + t + "\n\nSign up for our newsletter", id="chrome"
        ),
        pytest.param(lambda t: "\n\n".join(paras(t)[:2] + paras(t)[3:]), id="dropped-paragraph"),
        pytest.param(lambda t: t.replace("voted to move", "agreed to shift"), id="reworded"),
        pytest.param(lambda t: "\n\n".join(paras(t)[:3]) + "\n\nRead more.", id="teaser"),
        pytest.param(
            lambda t: (
                "UPDATE: the contractor has now been named as a regional firm that "
                "resurfaced the bypass two years ago.\n\n" + t
            ),
            id="update-added",
        ),
    ],
)
def test_copies_are_contained(variant: object) -> None:
    copy = variant(POTHOLES)  # type: ignore[operator]
    score = containment(shingles(copy, 5), shingles(POTHOLES, 5))
    assert score >= SETTINGS.duplicate_threshold


def test_different_stories_are_not_contained() -> None:
    assert containment(shingles(LIBRARY, 5), shingles(POTHOLES, 5)) < 0.05


def test_too_short_a_text_is_never_a_copy() -> None:
    sentence = " ".join(POTHOLES.split()[:15])  # 11 shingles, all found in the story
    assert containment(shingles(sentence, 5), shingles(POTHOLES, 5)) == 0.0


def test_passages_skip_short_sentences() -> None:
    found = passages("Sign up now. " + paras(LIBRARY)[0], SETTINGS.passage_min_words)
    assert len(found) == 1
    assert found == passages(paras(LIBRARY)[0].upper(), SETTINGS.passage_min_words)


def test_signature_round_trips_through_bytes() -> None:
    fp = fingerprint(POTHOLES, SETTINGS)
    data = signature_bytes(fp.signature)
    assert len(data) == 4 * SETTINGS.num_perm
    restored = signature_from_bytes(data)
    assert restored.jaccard(fp.signature) == 1.0


def test_lsh_finds_light_edits_and_not_other_stories() -> None:
    index = NearDuplicateIndex(SETTINGS)
    index.add("potholes", fingerprint(POTHOLES, SETTINGS).signature)
    index.add("library", fingerprint(LIBRARY, SETTINGS).signature)
    edited = POTHOLES.replace("Thursday", "Friday").replace("£1.2 million", "£1.3m")

    assert index.candidates(fingerprint(edited, SETTINGS).signature) == {"potholes"}
    assert len(index) == 2


def test_lsh_add_replaces_an_existing_key() -> None:
    index = NearDuplicateIndex(SETTINGS)
    index.add("a", fingerprint(POTHOLES, SETTINGS).signature)
    index.add("a", fingerprint(LIBRARY, SETTINGS).signature)
    assert len(index) == 1
    assert index.candidates(fingerprint(LIBRARY, SETTINGS).signature) == {"a"}
    assert index.candidates(fingerprint(POTHOLES, SETTINGS).signature) == set()
