"""The one exponential backoff every retrying part of the pipeline uses."""

from __future__ import annotations

# 2**32 is finite and far beyond any cap; the exponent is clamped so floats never overflow.
_MAX_DOUBLINGS = 32


def exponential_backoff(base: float, doublings: int, cap: float | None = None) -> float:
    """`base` doubled `doublings` times (never fewer than none), at most `cap`.

    The unit is the caller's: seconds for fetch, index and alert retries, minutes for
    feed polls. The n-th attempt after a first failure waits base * 2**(n - 1).
    """
    delay = base * float(2 ** min(max(doublings, 0), _MAX_DOUBLINGS))
    return delay if cap is None else min(delay, cap)
