"""What is distinctive about a seed's own story, as terms: its evidence for seeds without
keyword lists.

A seed's *story terms* are its words and two-word phrases weighted by how often the seed
uses them and by how rare they are in general English, so the names and specifics of the
story (Corvane, Hailan, photonics, Filton) outweigh the vocabulary of its beat (Chinese,
British, security, government), which every UK–China article shares. Rarity comes from
the word frequencies of the ``wordfreq`` package (Apache-2.0 code, CC-BY-SA data, read
locally: no network), a fixed background, so an article gets the same score on a fresh
store and on a full one. An article's *story* score is its BM25 over the story terms,
scaled so that the seed itself scores 1.
"""

from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache

STORY_TERMS = 60  # the seed's most distinctive terms make up its story profile
BM25_K1 = 1.2
BM25_B = 0.5  # half length normalisation: teasers and long features both occur
AVG_WORDS = 600  # typical article length for BM25's length normalisation
# Zipf frequency (log10 of occurrences per billion words) at which a term is as common
# as beat vocabulary ("british" 5.2, "security" 5.2): rarity 0; and at which it is
# specific to a story ("photonics" 2.6, "okafor" 2.6): rarity 1. Linear in between.
ZIPF_COMMON = 5.5
ZIPF_SPECIFIC = 2.5
# Words the tokenizer writes for a symbol are as common as the symbol's name.
_SYMBOL_WORDS = {"gbp": "pounds"}


@lru_cache(maxsize=65536)
def rarity(term: str) -> float:
    """0 for a word (or phrase) common in English news and beyond, 1 for a specific one."""
    # imported here: wordfreq and its language tables take ~0.4 s to import, needed only
    # once a seed or an article is profiled
    from wordfreq import zipf_frequency

    zipf = zipf_frequency(_SYMBOL_WORDS.get(term, term), "en")
    return min(1.0, max(0.0, (ZIPF_COMMON - zipf) / (ZIPF_COMMON - ZIPF_SPECIFIC)))


def story_terms(counts: Counter[str]) -> dict[str, float]:
    """The seed's story profile: term → weight, (1 + ln tf) × rarity, strongest first."""
    ranked = sorted(
        (((1 + math.log(tf)) * rarity(t), t) for t, tf in counts.items()),
        key=lambda x: (-x[0], x[1]),
    )
    return {t: w for w, t in ranked[:STORY_TERMS] if w > 0}


def bm25(
    key_terms: dict[str, float], counts: Counter[str], length: int
) -> tuple[float, dict[str, float]]:
    """BM25 of a text (its term counts and length in words) over weighted query terms,
    with each term's contribution."""
    norm = BM25_K1 * (1 - BM25_B + BM25_B * length / AVG_WORDS)
    contributions: dict[str, float] = {}
    for term, weight in key_terms.items():
        tf = counts.get(term, 0)
        if tf:
            contributions[term] = weight * tf * (BM25_K1 + 1) / (tf + norm)
    return sum(contributions.values()), contributions
