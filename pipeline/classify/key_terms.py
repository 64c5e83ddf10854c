"""The words and phrases texts are compared by: uncommon words, their pairs, and names.

The commonest words of English news (``pipeline/data/common_words.txt``) are left out,
so what is left says what a text is about; a fixed list keeps a comparison reproducible
whatever the store holds.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from importlib import resources
from itertools import pairwise

from pipeline.text.tokens import plain_words, words


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    raw = resources.files("pipeline").joinpath("data/common_words.txt").read_text("utf-8")
    found: set[str] = set()
    for line in raw.splitlines():
        if not line.lstrip().startswith("#"):
            found.update(words(line))
    return frozenset(found)


def term_counts(text: str) -> Counter[str]:
    """Counts of the uncommon words and of two-word phrases of uncommon words."""
    common = common_words()
    counts: Counter[str] = Counter()
    previous: str | None = None
    for word in plain_words(text):
        if word in common or len(word) < 2:
            previous = None
            continue
        counts[word] += 1
        if previous is not None:
            counts[f"{previous} {word}"] += 1
        previous = word
    return counts


def proper_nouns(text: str) -> frozenset[str]:
    """Lower-cased words written capitalised somewhere other than a sentence start."""
    found: set[str] = set()
    for line in text.splitlines():
        tokens = line.split()
        for prev, token in pairwise(tokens):
            if token[:1].isupper() and not prev.endswith((".", "!", "?", ":", "“", '"')):
                found.update(words(token))
    return frozenset(found)
