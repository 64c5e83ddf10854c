"""Words of a text: one tokenisation for fingerprints, storyline terms and alert rules.

Words are runs of letters and digits (an apostrophe may join two runs: "don't"), folded
to Unicode compatibility forms and lower case, with curly apostrophes read as straight.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
# The same words in unfolded text (so offsets point into it), plus the pound sign.
_RAW_WORD = re.compile(r"£|[^\W_]+(?:['’‘][^\W_]+)*")


def words(text: str) -> list[str]:
    """Lower-case words, with Unicode compatibility forms and curly apostrophes folded."""
    folded = unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'")
    return _WORD.findall(folded.casefold())


@dataclass(frozen=True)
class Token:
    word: str  # as the term matcher reads it (see term_tokens)
    start: int  # offsets of the word as written in the text
    end: int


def term_tokens(text: str) -> list[Token]:
    """Words for term matching, where they stand: possessives dropped ("China's" is
    "china"), and a pound sign read as the word "gbp", a sign of a UK story."""
    found: list[Token] = []
    for m in _RAW_WORD.finditer(text):
        raw = m.group()
        if raw == "£":
            found.append(Token("gbp", m.start(), m.end()))
            continue
        for word in words(raw):
            if word.endswith("'s"):
                found.append(Token(word[:-2], m.start(), m.end() - 2))
            else:
                found.append(Token(word, m.start(), m.end()))
    return found


def plain_words(text: str) -> list[str]:
    """The words of term_tokens, without their offsets."""
    return [t.word for t in term_tokens(text)]
