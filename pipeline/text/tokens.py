"""Words of a text: one tokenisation for fingerprints, storyline terms and alert rules.

Words are runs of letters and digits (an apostrophe may join two runs: "don't"), folded
to Unicode compatibility forms and lower case, with curly apostrophes read as straight.
"""

from __future__ import annotations

import re
import unicodedata

from pipeline.cjk import CJK_RUN, has_cjk
from pipeline.cjk import spans as cjk_spans
from pipeline.cjk import words as cjk_words

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
# The same words in unfolded text (so offsets point into it), plus the pound sign.
_RAW_WORD = re.compile(r"£|[^\W_]+(?:['’‘][^\W_]+)*")


def words(text: str) -> list[str]:
    """Lower-case words, with Unicode compatibility forms and curly apostrophes folded."""
    folded = unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'")
    return _WORD.findall(folded.casefold())


def term_words(text: str) -> tuple[list[str], list[int] | None]:
    """Words for term matching: possessives dropped ("China's" is "china"), and a pound
    sign read as the word "gbp", a sign of a UK story. With them, the index in raw_spans
    of the token each word comes from, or None when that is the word's own index.

    Chinese has no spaces: a run of it is cut into the jieba words it holds, inner words
    included (华为公司 gives 华为, 公司, 华为公司), so 华为 is a word there but not in
    中华为民族 (中华, 为, 民族)."""
    if text.isascii():  # the common case: no Unicode folding, one word per token
        folded = _RAW_WORD.findall(text.lower())
        origin = None
    else:
        raws = [text[start:end] for start, end in raw_spans(text)]
        folded = [raw.lower() if raw.isascii() else _fold(raw) for raw in raws]
        origin = None
        if any(not w or " " in w for w in folded):  # a token folded into 0 or 2+ words
            pairs = [(part, i) for i, w in enumerate(folded) for part in w.split()]
            folded, origin = [w for w, _ in pairs], [i for _, i in pairs]
    if "'" in text or "’" in text or "‘" in text:
        folded = [w[:-2] if w.endswith("'s") else w for w in folded]
    return folded, origin


def raw_spans(text: str) -> list[tuple[int, int]]:
    """Where each token of term_words stands in the text (a possessive's 's included)."""
    if not has_cjk(text):
        return [m.span() for m in _RAW_WORD.finditer(text)]
    spans: list[tuple[int, int]] = []
    for m in _RAW_WORD.finditer(text):
        if not has_cjk(m.group()):
            spans.append(m.span())
            continue
        at = m.start()  # a token mixing scripts (在Huawei手机) splits where the script changes
        for run in CJK_RUN.finditer(m.group()):
            start, end = m.start() + run.start(), m.start() + run.end()
            spans += [p for p in (_latin_part(text, at, start),) if p]
            spans += [(start + s, start + e) for s, e in cjk_spans(run.group())]
            at = end
        spans += [p for p in (_latin_part(text, at, m.end()),) if p]
    return spans


def _latin_part(text: str, start: int, end: int) -> tuple[int, int] | None:
    piece = text[start:end].strip("'’‘")
    if not piece:
        return None
    offset = text.index(piece, start)
    return offset, offset + len(piece)


def _fold(raw: str) -> str:
    return "gbp" if raw == "£" else " ".join(words(raw))


def plain_words(text: str) -> list[str]:
    """The words of term_words, without their origins."""
    return term_words(text)[0]


def phrase_words(text: str) -> list[str]:
    """The words of a term as written: plain_words, but a Chinese run is only its jieba
    words in order, without the inner words, so they follow each other as in a text."""
    if not has_cjk(text):
        return plain_words(text)
    found: list[str] = []
    at = 0
    for run in CJK_RUN.finditer(text):
        found += plain_words(text[at : run.start()]) + cjk_words(run.group())
        at = run.end()
    return found + plain_words(text[at:])
