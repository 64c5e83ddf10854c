"""A small time-bounded cache for answers that change only when a run indexes new articles.

Thread summaries and timelines scan every matching article, yet their answer changes only
when a pipeline run (every 30 minutes by default) adds articles. The callers put the index
generation in the key (pipeline/api/context.py), so a run's articles show at the next
request; `api.cache_seconds` bounds how long an answer is kept besides (for changes no
index run makes, e.g. retention's deletions). Each worker process keeps its own copy; 0
turns caching off.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class TtlCache(Generic[T]):
    """Answers by key, each kept `seconds` after it was computed; the oldest go past `size`."""

    def __init__(self, seconds: float, size: int = 512) -> None:
        self._seconds = seconds
        self._size = size
        self._items: OrderedDict[str, tuple[float, T]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, compute: Callable[[], T]) -> T:
        if self._seconds <= 0:
            return compute()
        now = time.monotonic()
        with self._lock:
            found = self._items.get(key)
            if found is not None and found[0] > now:
                self._items.move_to_end(key)
                return found[1]
        value = compute()  # outside the lock: a slow answer does not block cached ones
        with self._lock:
            self._items[key] = (now + self._seconds, value)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value
