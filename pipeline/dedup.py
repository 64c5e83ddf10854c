"""Exact and near-duplicate fingerprints of article text.

Two texts are copies of one story when most of the shorter one's word shingles occur
in the longer one (containment). Containment, unlike Jaccard similarity, lets a teaser
match its full article and a page with an added UPDATE paragraph match its first
version. Candidates for that check come from two lookups, so no lookup scans the corpus:

- a MinHash LSH (datasketch) over whole-text signatures finds copies with a high
  Jaccard similarity: wire copies in other chrome, light edits, typos, reordering;
- a passage index (hashes of the long sentences, kept in the store) finds copies that
  share whole sentences but differ a lot in length, such as teasers, which a
  Jaccard-tuned LSH cannot see because their Jaccard similarity is small.

Everything here is pure; the store side lives in ``pipeline.store.dedup_repo``.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

from pipeline.config import DedupSettings

MINHASH_SEED = 1  # part of the stored signature format: changing it invalidates signatures
MINHASH_SCHEME = "affine32"  # datasketch 2.0 default; 32-bit values, stored little-endian
_SIGNATURE_DTYPE = np.dtype("<u4")
MIN_SHINGLES = 20  # a shorter text is too small to call anything a copy of it

_PUNCTUATION = str.maketrans({"‘": "'", "’": "'", "`": "'", "“": '"', "”": '"'})
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+")


def words(text: str) -> list[str]:
    """Lower-case words, with Unicode compatibility forms and curly quotes folded."""
    folded = unicodedata.normalize("NFKC", text).translate(_PUNCTUATION).casefold()
    return _WORD.findall(folded)


def normalise(text: str) -> str:
    """The text as one line of words: what the exact hash is taken over.

    Layout, punctuation and case are dropped, so the same words reached through
    different markup hash the same.
    """
    return " ".join(words(text))


def text_hash(text: str) -> str:
    """sha256 of the normalised text: equal for exact copies, and per page version."""
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def paragraphs(text: str) -> list[list[str]]:
    """The words of each non-empty paragraph (a line of extracted text)."""
    return [ws for ws in (words(line) for line in text.splitlines()) if ws]


def shingles(text: str, size: int) -> frozenset[str]:
    """Word n-grams taken inside paragraphs, so reordered paragraphs keep their shingles.

    A paragraph shorter than `size` words is one shingle.
    """
    out: set[str] = set()
    for ws in paragraphs(text):
        if len(ws) <= size:
            out.add(" ".join(ws))
            continue
        out.update(" ".join(ws[i : i + size]) for i in range(len(ws) - size + 1))
    return frozenset(out)


def passages(text: str, min_words: int) -> frozenset[int]:
    """64-bit hashes of the sentences with at least `min_words` words.

    Short sentences ("Sign up now.") are left out: they repeat across unrelated pages.
    """
    out: set[int] = set()
    for line in text.splitlines():
        for sentence in _SENTENCE_END.split(line):
            ws = words(sentence)
            if len(ws) >= min_words:
                digest = hashlib.blake2b(" ".join(ws).encode("utf-8"), digest_size=8).digest()
                out.add(int.from_bytes(digest, "big", signed=True))  # fits a BIGINT column
    return frozenset(out)


def containment(a: frozenset[str], b: frozenset[str]) -> float:
    """Share of the smaller set found in the larger one (0 when either is too small)."""
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    if len(small) < MIN_SHINGLES:
        return 0.0
    return len(small & large) / len(small)


@lru_cache(maxsize=4)
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    # Building the permutations is the costly part of a MinHash; share them.
    template = MinHash(num_perm=num_perm, seed=MINHASH_SEED, scheme=MINHASH_SCHEME)
    a, b = template.permutations
    return a, b


def minhash(items: Iterable[str], num_perm: int) -> LeanMinHash:
    sketch = MinHash(
        num_perm=num_perm,
        seed=MINHASH_SEED,
        permutations=_permutations(num_perm),
        scheme=MINHASH_SCHEME,
    )
    sketch.update_batch([item.encode("utf-8") for item in items])
    return LeanMinHash(sketch)


def signature_bytes(signature: LeanMinHash) -> bytes:
    return np.asarray(signature.hashvalues, dtype=_SIGNATURE_DTYPE).tobytes()


def signature_from_bytes(data: bytes) -> LeanMinHash:
    values = np.frombuffer(data, dtype=_SIGNATURE_DTYPE)
    return LeanMinHash(seed=MINHASH_SEED, hashvalues=values, scheme=MINHASH_SCHEME)


@dataclass(frozen=True)
class Fingerprint:
    """Everything dedup needs to know about one text."""

    text_hash: str
    shingles: frozenset[str]
    passages: frozenset[int]
    signature: LeanMinHash

    @property
    def indexable(self) -> bool:
        """Long enough to be matched as a copy (see MIN_SHINGLES)."""
        return len(self.shingles) >= MIN_SHINGLES


def fingerprint(text: str, settings: DedupSettings) -> Fingerprint:
    grams = shingles(text, settings.shingle_words)
    return Fingerprint(
        text_hash=text_hash(text),
        shingles=grams,
        passages=passages(text, settings.passage_min_words),
        signature=minhash(grams, settings.num_perm),
    )


def is_copy(a: frozenset[str], b: frozenset[str], settings: DedupSettings) -> bool:
    return containment(a, b) >= settings.duplicate_threshold


class NearDuplicateIndex:
    """In-memory MinHash LSH over article signatures, keyed by article id.

    Rebuilt from the stored signatures at the start of a classify run, then kept
    current by adding what the run (and concurrent runs, see `last_seq`) store.
    """

    def __init__(self, settings: DedupSettings) -> None:
        self._lsh = MinHashLSH(threshold=settings.lsh_threshold, num_perm=settings.num_perm)
        self.last_seq = 0  # highest stored fingerprint sequence number loaded so far

    def __len__(self) -> int:
        return len(self._lsh.keys)

    def __contains__(self, key: str) -> bool:
        return key in self._lsh

    def add(self, key: str, signature: LeanMinHash) -> None:
        """Insert or replace the signature stored under `key`."""
        if key in self._lsh:
            self._lsh.remove(key)
        self._lsh.insert(key, signature, check_duplication=False)

    def candidates(self, signature: LeanMinHash) -> set[str]:
        return set(self._lsh.query(signature))
