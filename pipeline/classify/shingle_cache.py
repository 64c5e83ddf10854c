"""Shingles of stored texts, kept from one near-copy check to the next.

Verifying a near-copy candidate needs its shingles, and candidates recur: every later
copy of a story names the same earlier ones, in this batch and the next. Re-shingling
them was most of the work done under the dedup lock. Entries are keyed by a hash of the
exact text, so an entry is never stale (an edited text is another key), and the cache is
bounded in bytes, least recently used first out, so memory does not grow with the store.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np

from pipeline.classify.dedup import shingles

MAX_BYTES = 32 << 20  # 8 bytes a shingle: thousands of articles, a few batches' candidates
_ENTRY_OVERHEAD = 200  # bytes per entry besides the array's data: key, array header, slot


class ShingleCache:
    """Least recently used shingle arrays of texts, at most `max_bytes` of them."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size = 0  # bytes held, as counted against max_bytes
        self._entries: OrderedDict[tuple[int, bytes], np.ndarray] = OrderedDict()

    def shingles(self, text: str, size: int) -> np.ndarray:
        """`dedup.shingles(text, size)`, computed once while it stays in the cache."""
        key = (size, hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest())
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
            return found
        value = shingles(text, size)
        value.flags.writeable = False  # shared by every later lookup
        self._entries[key] = value
        self.size += value.nbytes + _ENTRY_OVERHEAD
        while self.size > self.max_bytes and self._entries:
            _, dropped = self._entries.popitem(last=False)
            self.size -= dropped.nbytes + _ENTRY_OVERHEAD
        return value

    def __len__(self) -> int:
        return len(self._entries)


# One per process: a classify run's batches, and an Airflow task's, share it.
stored_shingles = ShingleCache()
