"""Fingerprints, containment and LSH band keys, on original sample texts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from datasketch import MinHashLSH

from pipeline.classify.dedup import (
    band_keys,
    band_layout,
    containment,
    fingerprint,
    normalise,
    passages,
    shingles,
    signature_band_keys,
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
    assert shingles(reordered, 5).tolist() == shingles(POTHOLES, 5).tolist()
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


def shared_bands(a: str, b: str) -> int:
    keys_a = signature_band_keys(fingerprint(a, SETTINGS).signature, SETTINGS)
    keys_b = signature_band_keys(fingerprint(b, SETTINGS).signature, SETTINGS)
    return sum(x == y for x, y in zip(keys_a, keys_b, strict=True))


def test_band_keys_meet_for_light_edits_and_not_for_other_stories() -> None:
    edited = POTHOLES.replace("Thursday", "Friday").replace("£1.2 million", "£1.3m")
    assert shared_bands(POTHOLES, edited) > 0
    assert shared_bands(POTHOLES, LIBRARY) == 0


def test_band_keys_propose_exactly_the_pairs_datasketch_lsh_proposes() -> None:
    # Signatures that agree on a random share of their values, from none to all.
    rng = np.random.default_rng(7)
    base = rng.integers(0, 2**32, size=SETTINGS.num_perm, dtype=np.uint64)
    others = []
    for agree in np.linspace(0.0, 1.0, 200):
        other = rng.integers(0, 2**32, size=SETTINGS.num_perm, dtype=np.uint64)
        same = rng.random(SETTINGS.num_perm) < agree
        others.append(np.where(same, base, other))
    lsh = MinHashLSH(threshold=SETTINGS.lsh_threshold, num_perm=SETTINGS.num_perm)
    for n, values in enumerate(others):
        lsh.insert(str(n), signature_from_bytes(values.astype("<u4").tobytes()))
    expected = set(lsh.query(signature_from_bytes(base.astype("<u4").tobytes())))

    bands, rows = band_layout(SETTINGS.lsh_threshold, SETTINGS.num_perm)
    keys = band_keys(np.vstack([base, *others]), bands, rows)
    found = {str(n) for n in range(len(others)) if (keys[n + 1] == keys[0]).any()}
    assert found == expected
    assert 0 < len(found) < len(others)


def test_band_keys_differ_between_bands_holding_equal_values() -> None:
    bands, rows = band_layout(SETTINGS.lsh_threshold, SETTINGS.num_perm)
    keys = band_keys(np.zeros((1, SETTINGS.num_perm), dtype=np.uint32), bands, rows)
    assert keys.dtype == np.int64 and keys.shape == (1, bands)
    assert len(set(keys[0].tolist())) == bands
