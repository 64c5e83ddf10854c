"""Words of a text: one tokenisation for fingerprints, storyline terms and alert rules.

Words are runs of letters and digits (an apostrophe may join two runs: "don't"), folded
to Unicode compatibility forms and lower case, with curly apostrophes read as straight.
"""

from __future__ import annotations

import re
import unicodedata

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
    of the token each word comes from, or None when that is the word's own index."""
    if text.isascii():  # the common case: no Unicode folding, one word per token
        folded = _RAW_WORD.findall(text.lower())
        origin = None
    else:
        folded = [raw.lower() if raw.isascii() else _fold(raw) for raw in _RAW_WORD.findall(text)]
        origin = None
        if any(not w or " " in w for w in folded):  # a token folded into 0 or 2+ words
            pairs = [(part, i) for i, w in enumerate(folded) for part in w.split()]
            folded, origin = [w for w, _ in pairs], [i for _, i in pairs]
    if "'" in text or "’" in text or "‘" in text:
        folded = [w[:-2] if w.endswith("'s") else w for w in folded]
    return folded, origin


def raw_spans(text: str) -> list[tuple[int, int]]:
    """Where each token of term_words stands in the text (a possessive's 's included)."""
    return [m.span() for m in _RAW_WORD.finditer(text)]


def _fold(raw: str) -> str:
    return "gbp" if raw == "£" else " ".join(words(raw))


def plain_words(text: str) -> list[str]:
    """The words of term_words, without their origins."""
    return term_words(text)[0]
