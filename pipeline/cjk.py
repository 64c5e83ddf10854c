"""Chinese words in text written without spaces: segmentation for search and alerts.

Chinese (and Japanese kana/kanji) runs have no spaces between words, so a word-based
tokenizer sees a whole clause as one token and "华为" never matches inside "华为公司".
jieba splits a run into dictionary words; search mode also emits the shorter words
inside long ones (中华人民共和国 → 中华, 华人, 人民, 共和, 共和国, …), so a query word
is found whichever way the text around it was cut. benchmarks/bench_cjk_search.py
measures this against the FTS5 trigram tokenizer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

# Han (with extension A and compatibility ideographs), kana: the scripts without spaces.
CJK_RUN = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def has_cjk(text: str) -> bool:
    return CJK_RUN.search(text) is not None


@cache
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)  # it logs its dictionary loading at INFO
    return jieba


def words(run: str) -> list[str]:
    """One CJK run as words in order, each once (jieba's accurate mode, no HMM guessing).

    HMM would invent words for unknown names, and invent them differently in the query
    and the text; the dictionary alone is consistent.
    """
    return [w for w in _jieba().lcut(run, HMM=False) if w.strip()]


def search_words(run: str) -> list[str]:
    """One CJK run as words, each preceded by every dictionary word inside it.

    Like jieba's search mode, but with inner words of any length: jieba's own stops at
    three characters, so 特区政府 inside 香港特区政府 would never be found.
    """
    return [run[s:e] for s, e in spans(run)]


def spans(run: str) -> Iterator[tuple[int, int]]:
    """(start, end) of every word and inner dictionary word of a run, in reading order."""
    known = _dictionary()
    offset = 0
    for word in words(run):
        start = run.index(word, offset)
        for size in range(2, len(word)):
            for i in range(len(word) - size + 1):
                if known.get(word[i : i + size]):
                    yield start + i, start + i + size
        yield start, start + len(word)
        offset = start + len(word)


@cache
def _dictionary() -> dict[str, int]:
    tokenizer = _jieba().dt
    tokenizer.check_initialized()
    frequencies: dict[str, int] = tokenizer.FREQ
    return frequencies


def segmented(text: str) -> str:
    """Text for a word-based index: each CJK run replaced by its search-mode words, spaced.

    Everything else is left as it is, so the index tokenizer treats Latin text as before.
    """
    if not has_cjk(text):
        return text
    return CJK_RUN.sub(lambda m: " " + " ".join(search_words(m.group())) + " ", text)


def is_word_at(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] (CJK) begins and ends on word boundaries of its run.

    A match inside a longer run counts when the segmenter could cut there: 华为 in
    华为公司 (华为|公司) does, 香港 in 东方香港路 would only if the dictionary cuts it so.
    """
    run = next((m for m in CJK_RUN.finditer(text) if m.start() <= start < m.end()), None)
    if run is None:
        return True
    local_start, local_end = start - run.start(), min(end, run.end()) - run.start()
    starts, ends = {0}, {len(run.group())}
    for s, e in spans(run.group()):
        if (s, e) == (local_start, local_end):
            return True
        starts.add(s)
        ends.add(e)
    return local_start in starts and local_end in ends
