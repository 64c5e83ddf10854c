"""Page furniture among a seed's paragraphs: the ones far in meaning from all the others.

A seed shipped as a page's text can carry a newsletter promotion, a subscription prompt
or a photo credit between its paragraphs ("Coronavirus has changed everything. Make
sense of it all with the Waugh Zone…"). Embedded as one of the seed's passages, such a
paragraph lets unrelated pages (a coronavirus podcast) match the seed. Rather than a list
of phrases, a paragraph is judged by its meaning: one whose cosine to the mean of the
seed's other paragraphs is below ``FURNITURE_COSINE`` is not part of the story, and is
left out of the passages the relation compares articles with.
"""

from __future__ import annotations

import numpy as np

from pipeline.classify.embed import Passage, cosine

# On the two built-in seeds the story's own paragraphs (quotes and captions included)
# score 0.22 and up against the rest; the newsletter promotion scores 0.13.
FURNITURE_COSINE = 0.2
MIN_PASSAGES = 4  # with fewer, "the others" are too few to say what the story is


def story_passages(passages: list[Passage]) -> list[Passage]:
    """The passages without the outliers in meaning (page furniture), in order."""
    if len(passages) < MIN_PASSAGES:
        return passages
    vectors = np.stack([p.vector for p in passages])
    total = vectors.sum(axis=0)
    kept = []
    for passage in passages:
        others = total - passage.vector
        norm = float(np.linalg.norm(others))
        if norm == 0 or cosine(passage.vector, others / norm) >= FURNITURE_COSINE:
            kept.append(passage)
    return kept
