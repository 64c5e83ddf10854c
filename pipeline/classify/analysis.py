"""What relating needs to know about a text, worked out once: an article's analysis and
a seed's profile (its key terms, distinctive terms, angles and embedded paragraphs).

``pipeline.classify.relate`` compares one against the other; the module docstring there
says what each kind of evidence means.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from pipeline.classify.dedup import Fingerprint, fingerprint
from pipeline.classify.embed import Embedder, Passage, Vector, mostly_cjk
from pipeline.classify.furniture import story_passages
from pipeline.classify.key_terms import proper_nouns, term_counts
from pipeline.classify.seeds import Seed
from pipeline.classify.story import bm25, story_terms
from pipeline.classify.threads import (
    AngleMatch,
    ThreadBook,
    ThreadMatch,
    match_angles,
    match_threads,
)
from pipeline.config import DedupSettings
from pipeline.text.terms import TextTerms

KEY_TERMS = 60  # the seed's strongest terms make up its lexical profile
PROPER_WEIGHT = 1.5  # names (capitalised inside a sentence) and phrases are more specific


@dataclass(frozen=True)
class Analysis:
    """What the relation needs to know about one text; built once, used for every seed."""

    fingerprint: Fingerprint  # of the body
    terms: Counter[str]  # of title and body
    length: int  # words in title and body
    threads: tuple[ThreadMatch, ...]
    angles: dict[str, AngleMatch]
    vector: Vector  # embedding of title and lead
    keyword_script: bool  # written in a script the keyword lists can match


def analyse(
    text: str,
    title: str | None,
    settings: DedupSettings,
    book: ThreadBook,
    embedder: Embedder,
    vector: Vector | None = None,
) -> Analysis:
    """Everything about a text the relations need; `vector` reuses a stored embedding."""
    full = f"{title}\n\n{text}" if title else text
    text_terms = TextTerms(full)
    return Analysis(
        fingerprint=fingerprint(text, settings),
        terms=term_counts(full),
        length=len(text_terms),
        threads=tuple(match_threads(text_terms, book)),
        angles=match_angles(text_terms, book),
        vector=embedder.embed_article(title, text) if vector is None else vector,
        keyword_script=not mostly_cjk(full),
    )


@dataclass(frozen=True)
class SeedProfile:
    seed: Seed
    analysis: Analysis
    key_terms: dict[str, float]  # term → query weight
    self_score: float  # BM25 of the seed against its own key terms
    angles: tuple[str, ...]  # the angles the seed fully shows
    passages: tuple[Passage, ...]  # the seed's paragraphs, embedded
    keyword_lists: bool  # the threads file describes this seed (its threads and angles)
    story_terms: dict[str, float]  # distinctive term → query weight
    story_self: float  # BM25 of the seed against its own story terms


def profile_seed(
    seed: Seed, settings: DedupSettings, book: ThreadBook, embedder: Embedder
) -> SeedProfile:
    analysis = analyse(seed.text, seed.title, settings, book, embedder)
    proper = proper_nouns(seed.full_text)

    def weight(term: str, tf: int) -> float:
        specific = " " in term or term in proper
        return (1 + math.log(tf)) * (PROPER_WEIGHT if specific else 1.0)

    ranked = sorted(
        ((weight(t, tf), t) for t, tf in analysis.terms.items()), key=lambda x: (-x[0], x[1])
    )
    key_terms = {t: w for w, t in ranked[:KEY_TERMS]}
    self_score = bm25(key_terms, analysis.terms, analysis.length)[0]
    keyword_lists = book.describes(seed.id)
    angles = tuple(sorted(a.name for a in analysis.angles.values() if a.strength >= 1.0))
    passages = tuple(story_passages(embedder.passages(seed.text)))
    story = story_terms(analysis.terms)
    return SeedProfile(
        seed,
        analysis,
        key_terms,
        self_score,
        angles if keyword_lists else (),
        passages,
        keyword_lists,
        story,
        bm25(story, analysis.terms, analysis.length)[0],
    )
