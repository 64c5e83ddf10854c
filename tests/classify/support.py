"""Helpers for the classify tests (and others that classify): extracted articles in a real
store, made-up stories that are unrelated to each other, and reads of the results."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from pipeline.records import ArticleStatus
from pipeline.store import Store
from pipeline.store.models import Article
from tests.articles import insert_article

T0 = datetime(2020, 7, 21, 9, 0, tzinfo=UTC)  # the seed's day: copies and rewrites appear with it
SEED_TEXT = (
    Path(__file__).parents[2] / "pipeline" / "data" / "seeds" / "seed_article.txt"
).read_text(encoding="utf-8")


def add_article(
    store: Store,
    url: str,
    text: str,
    *,
    outlet: str,
    published: datetime | None,
    discovered: datetime = T0,
    title: str = "A story",
) -> str:
    """An article as the extract stage leaves it, waiting to be classified."""
    return insert_article(
        store,
        url,
        text,
        status=ArticleStatus.EXTRACTED.value,
        title=title,
        outlet=outlet,
        published=published,
        discovered=discovered,
    )


def add_copy_pairs(store: Store, count: int, *, first_story: int = 0) -> list[tuple[str, str]]:
    """`count` (original, copy) pairs of synthetic stories, each copy with chrome on another
    outlet a minute later. The stories are days apart: made-up-word stories of one day
    would be one event to the embedding model."""
    pairs = []
    for n in range(count):
        text = synthetic_story(first_story + n)
        when = T0 + timedelta(days=3 * n)
        original = add_article(store, f"https://a.example/{n}", text, outlet="A", published=when)
        copy = add_article(
            store,
            f"https://b.example/{n}",
            "Shared from our partners\n\n" + text,
            outlet="B",
            published=when + timedelta(minutes=1),
        )
        pairs.append((original, copy))
    return pairs


def get(store: Store, aid: str) -> Article:
    with store.sessions() as session:
        return session.get_one(Article, aid)


def count(store: Store, model: type) -> int:
    with store.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def synthetic_story(n: int) -> str:
    """A story of made-up words (deterministic), so that any two are unrelated."""
    rng = random.Random(n)
    syllables = ["ka", "lo", "mi", "ter", "van", "sul", "dro", "pe", "quin", "bar", "ost"]
    vocab = ["".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(400)]
    return "\n\n".join(" ".join(rng.choices(vocab, k=35)).capitalize() + "." for _ in range(8))
