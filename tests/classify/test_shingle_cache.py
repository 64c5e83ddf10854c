"""The shingle cache gives what `shingles` gives, computes each text once while it holds
it, and stays within its byte budget."""

from __future__ import annotations

from pathlib import Path

from pipeline.classify.dedup import shingles
from pipeline.classify.shingle_cache import ShingleCache

FIXTURES = Path(__file__).parent.parent / "fixtures" / "dedup"
TEXTS = [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.txt"))[:6]]


def test_cached_shingles_are_the_texts_shingles() -> None:
    cache = ShingleCache()
    for text in TEXTS:
        assert cache.shingles(text, 5).tolist() == shingles(text, 5).tolist()
        assert cache.shingles(text, 5) is cache.shingles(text, 5)  # computed once
    assert cache.shingles(TEXTS[0], 3).tolist() == shingles(TEXTS[0], 3).tolist()
    assert len(cache) == len(TEXTS) + 1


def test_the_least_recently_used_go_first_within_the_budget() -> None:
    unbounded = ShingleCache()
    for text in TEXTS[:3]:
        unbounded.shingles(text, 5)
    budget = unbounded.size  # room for exactly these three
    cache = ShingleCache(max_bytes=budget)
    held = [cache.shingles(t, 5) for t in TEXTS[:3]]
    assert cache.size <= budget and len(cache) == 3
    cache.shingles(TEXTS[0], 5)  # used again: now the most recent
    cache.shingles(TEXTS[3], 5)
    assert cache.size <= budget
    assert cache.shingles(TEXTS[0], 5) is held[0]
    assert cache.shingles(TEXTS[1], 5) is not held[1]  # dropped, computed afresh
