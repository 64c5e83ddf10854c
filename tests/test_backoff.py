"""The one exponential backoff: doubles per attempt, never below the base, capped."""

from __future__ import annotations

from pipeline.backoff import exponential_backoff


def test_doubles_from_the_base() -> None:
    assert [exponential_backoff(60.0, n) for n in range(4)] == [60.0, 120.0, 240.0, 480.0]


def test_is_capped_and_never_shorter_than_the_base() -> None:
    assert exponential_backoff(60.0, 10, cap=3600.0) == 3600.0
    assert exponential_backoff(60.0, -1) == 60.0


def test_a_huge_attempt_count_stays_finite() -> None:
    assert exponential_backoff(1.0, 10_000) == 2.0**32
    assert exponential_backoff(1.0, 10_000, cap=5.0) == 5.0
