"""Exact and near-duplicate fingerprints of article text.

Two texts are copies of one story when most of the shorter one's word shingles occur
in the longer one (containment). Containment, unlike Jaccard similarity, lets a teaser
match its full article and a page with an added UPDATE paragraph match its first
version. Candidates for that check come from two lookups, so no lookup scans the corpus:

- a MinHash LSH over whole-text signatures finds copies with a high Jaccard
  similarity: wire copies in other chrome, light edits, typos, reordering. Its band
  keys (`band_keys`) are kept in the store behind an index, so a lookup is one indexed
  query and nothing is loaded at start;
- a passage index (hashes of the long sentences, kept in the store) finds copies that
  share whole sentences but differ a lot in length, such as teasers, which a
  Jaccard-tuned LSH cannot see because their Jaccard similarity is small.

Everything here is pure; the store side lives in ``pipeline.classify.repository``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from pipeline.config import DedupSettings
from pipeline.text.tokens import words

# datasketch is imported where it is used: it imports scipy (about 0.7 s), which a process
# that does not fingerprint (search, the API, fetch or extract tasks) should not pay for.
if TYPE_CHECKING:
    from datasketch import LeanMinHash

MINHASH_SEED = 1  # part of the stored signature format: changing it invalidates signatures
MINHASH_SCHEME = "affine32"  # datasketch 2.0 default; 32-bit values, stored little-endian
_SIGNATURE_DTYPE = np.dtype("<u4")
MIN_SHINGLES = 20  # a shorter text is too small to call anything a copy of it

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+")
_SHINGLE_PRIME = np.uint64(1_099_511_628_211)  # FNV prime: mixes word hashes into a shingle


@dataclass(frozen=True)
class Tokens:
    """A text's words by paragraph (line) and sentence: one tokenising pass for all uses."""

    paragraphs: tuple[tuple[tuple[str, ...], ...], ...]

    @classmethod
    def of(cls, text: str) -> Tokens:
        paras = []
        for line in text.splitlines():
            sentences = tuple(
                tuple(ws) for ws in (words(s) for s in _SENTENCE_END.split(line)) if ws
            )
            if sentences:
                paras.append(sentences)
        return cls(tuple(paras))

    def paragraph_words(self) -> list[list[str]]:
        return [[w for sentence in para for w in sentence] for para in self.paragraphs]

    def normalised(self) -> str:
        return " ".join(" ".join(ws) for ws in self.paragraph_words())


def normalise(text: str) -> str:
    """The text as one line of words: what the exact hash is taken over.

    Layout, punctuation and case are dropped, so the same words reached through
    different markup hash the same.
    """
    return Tokens.of(text).normalised()


def _text_hash(tokens: Tokens) -> str:
    return hashlib.sha256(tokens.normalised().encode("utf-8")).hexdigest()


def text_hash(text: str) -> str:
    """sha256 of the normalised text: equal for exact copies, and per page version."""
    return _text_hash(Tokens.of(text))


@lru_cache(maxsize=1 << 18)
def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "big")


def _window_hashes(ids: np.ndarray, width: int) -> np.ndarray:
    """Polynomial hash of every run of `width` consecutive ids, wrapping at 64 bits."""
    count = len(ids) - width + 1
    hashes = ids[:count].copy()
    for j in range(1, width):
        hashes = hashes * _SHINGLE_PRIME + ids[j : j + count]
    return hashes


def _shingle_hashes(tokens: Tokens, size: int) -> np.ndarray:
    """64-bit hashes of the word n-grams inside each paragraph, so that reordered
    paragraphs keep their shingles. A paragraph shorter than `size` words is one shingle.
    """
    paras = tokens.paragraph_words()
    flat = [w for ws in paras for w in ws]
    ids = np.fromiter((_word_hash(w) for w in flat), dtype=np.uint64, count=len(flat))
    parts: list[np.ndarray] = []
    lengths = np.array([len(ws) for ws in paras], dtype=np.int64)
    ends = np.cumsum(lengths)
    if len(ids) >= size:
        # Windows over the whole text, keeping those that end inside their paragraph.
        para_end = np.repeat(ends, lengths)[: len(ids) - size + 1]
        starts = np.arange(len(ids) - size + 1)
        parts.append(_window_hashes(ids, size)[starts + size <= para_end])
    for end, length in zip(ends.tolist(), lengths.tolist(), strict=True):
        if length < size:
            parts.append(_window_hashes(ids[end - length : end], length))
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)


def shingles(text: str, size: int) -> np.ndarray:
    """Hashed word n-grams of a text (see _shingle_hashes): sorted, unique uint64.

    An array, not a set of Python ints: an eighth of the memory, so many can be cached.
    """
    return _shingle_hashes(Tokens.of(text), size)


def _passages(tokens: Tokens, min_words: int) -> frozenset[int]:
    out: set[int] = set()
    for para in tokens.paragraphs:
        for ws in para:
            if len(ws) >= min_words:
                digest = hashlib.blake2b(" ".join(ws).encode("utf-8"), digest_size=8).digest()
                out.add(int.from_bytes(digest, "big", signed=True))  # fits a BIGINT column
    return frozenset(out)


def passages(text: str, min_words: int) -> frozenset[int]:
    """64-bit hashes of the sentences with at least `min_words` words.

    Short sentences ("Sign up now.") are left out: they repeat across unrelated pages.
    """
    return _passages(Tokens.of(text), min_words)


def containment(a: np.ndarray, b: np.ndarray) -> float:
    """Share of the smaller shingle set found in the larger one (0 when either is too
    small). Both are sorted unique arrays, as `shingles` gives them."""
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    if len(small) < MIN_SHINGLES:
        return 0.0
    found = np.searchsorted(large, small).clip(max=len(large) - 1)
    return int(np.count_nonzero(large[found] == small)) / len(small)


@lru_cache(maxsize=4)
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    from datasketch import MinHash

    # Building the permutations is the costly part of a MinHash; share them.
    template = MinHash(num_perm=num_perm, seed=MINHASH_SEED, scheme=MINHASH_SCHEME)
    a, b = template.permutations
    return a, b


def _identity(value: int) -> int:
    return value


def minhash(shingle_hashes: np.ndarray, num_perm: int) -> LeanMinHash:
    """datasketch MinHash of hashed shingles (folded to the 32 bits the scheme takes)."""
    from datasketch import LeanMinHash, MinHash

    sketch = MinHash(
        num_perm=num_perm,
        seed=MINHASH_SEED,
        hashfunc=_identity,  # the shingles are hashed already
        permutations=_permutations(num_perm),
        scheme=MINHASH_SCHEME,
    )
    folded = (shingle_hashes ^ (shingle_hashes >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
    sketch.update_batch(folded.tolist())
    return LeanMinHash(sketch)


def signature_bytes(signature: LeanMinHash) -> bytes:
    return np.asarray(signature.hashvalues, dtype=_SIGNATURE_DTYPE).tobytes()


def signature_from_bytes(data: bytes) -> LeanMinHash:
    from datasketch import LeanMinHash

    values = np.frombuffer(data, dtype=_SIGNATURE_DTYPE)
    return LeanMinHash(seed=MINHASH_SEED, hashvalues=values, scheme=MINHASH_SCHEME)


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """Everything dedup needs to know about one text."""

    text_hash: str
    shingles: np.ndarray  # 64-bit hashes of word n-grams, sorted and unique
    passages: frozenset[int]
    signature: LeanMinHash

    @property
    def indexable(self) -> bool:
        """Long enough to be matched as a copy (see MIN_SHINGLES)."""
        return len(self.shingles) >= MIN_SHINGLES


def fingerprint(text: str, settings: DedupSettings) -> Fingerprint:
    tokens = Tokens.of(text)
    hashes = _shingle_hashes(tokens, settings.shingle_words)
    return Fingerprint(
        text_hash=_text_hash(tokens),
        shingles=hashes,
        passages=_passages(tokens, settings.passage_min_words),
        signature=minhash(hashes, settings.num_perm),
    )


@lru_cache(maxsize=8)
def band_layout(lsh_threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band) of the LSH: what datasketch's MinHashLSH picks for this
    threshold, so candidates are the pairs its in-memory index would propose."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=lsh_threshold, num_perm=num_perm)
    return int(lsh.b), int(lsh.r)


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per band of each signature (a 2-D array of 32-bit MinHash values,
    one row per signature), as signed int64 so it fits a BIGINT column.

    Two signatures share a key in band i exactly when their values in that band are
    equal (up to 64-bit hash collisions). The band index and `rows` are mixed in, so
    keys of another band or another layout never coincide by construction.
    """
    values = np.asarray(signatures, dtype=np.uint64)[:, : bands * rows]
    values = values.reshape(len(values), bands, rows)
    keys = np.broadcast_to(
        np.arange(1, bands + 1, dtype=np.uint64) * np.uint64(rows), (len(values), bands)
    ).copy()
    for j in range(rows):
        keys = (keys * _SHINGLE_PRIME) ^ values[:, :, j]
    # A final avalanche (splitmix64), so nearby values do not give nearby keys.
    keys ^= keys >> np.uint64(30)
    keys *= np.uint64(0xBF58476D1CE4E5B9)
    keys ^= keys >> np.uint64(27)
    keys *= np.uint64(0x94D049BB133111EB)
    keys ^= keys >> np.uint64(31)
    return keys.view(np.int64)


def signature_band_keys(signature: LeanMinHash, settings: DedupSettings) -> list[int]:
    """The band keys of one signature, band 0 first."""
    bands, rows = band_layout(settings.lsh_threshold, settings.num_perm)
    values = np.asarray(signature.hashvalues, dtype=_SIGNATURE_DTYPE).reshape(1, -1)
    return [int(k) for k in band_keys(values, bands, rows)[0]]
