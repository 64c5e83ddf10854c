"""Near-copy lookups from the store: band keys within the MinHash window, passages beyond it
(SQLite, and PostgreSQL when reachable)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from pipeline.classify.dedup import fingerprint, signature_band_keys
from pipeline.classify.models import DedupBand
from pipeline.classify.stage import classify_pending
from pipeline.config import Settings
from pipeline.store import Store
from tests.classify.support import T0, add_article, get, synthetic_story

STORY = synthetic_story(3)


def reworded(text: str, word: str = "altered") -> str:
    """One word changed in every sentence: no long sentence left intact (so no shared
    passage), but most word shingles kept (a MinHash near-copy)."""
    out = []
    for paragraph in text.split("\n\n"):
        words = paragraph.split(" ")
        words[len(words) // 2] = word
        out.append(" ".join(words))
    return "\n\n".join(out)


def with_chrome(text: str) -> str:
    return "Shared from our partners\n\n" + text + "\n\nSign up for our newsletter."


def test_reworded_copy_is_found_by_its_bands_inside_the_window_only(
    store: Store, settings: Settings
) -> None:
    original = add_article(store, "https://a.example/1", STORY, outlet="A", published=T0)
    classify_pending(store.sessions, settings)
    with store.sessions() as session:
        stored = session.scalars(
            select(DedupBand.key).where(DedupBand.article_id == original).order_by(DedupBand.band)
        ).all()
    assert stored == signature_band_keys(
        fingerprint(STORY, settings.dedup).signature, settings.dedup
    )

    window = timedelta(days=settings.dedup.minhash_window_days)
    near = add_article(
        store, "https://b.example/1", reworded(STORY), outlet="B", published=T0 + timedelta(days=2)
    )
    late = add_article(
        store,
        "https://c.example/1",
        reworded(STORY, "changed"),
        outlet="C",
        published=T0 + 3 * window,
    )
    counts = classify_pending(store.sessions, settings)

    assert get(store, near).cluster_id == original
    assert get(store, late).cluster_id == late  # outside the window, nothing else links it
    assert counts["near_duplicates"] == 1 and counts["new_clusters"] == 1


def test_copy_older_than_the_window_is_still_found_by_its_passages(
    store: Store, settings: Settings
) -> None:
    original = add_article(store, "https://a.example/2", STORY, outlet="A", published=T0)
    late = T0 + 3 * timedelta(days=settings.dedup.minhash_window_days)
    copy = add_article(store, "https://b.example/2", with_chrome(STORY), outlet="B", published=late)

    counts = classify_pending(store.sessions, settings)

    assert counts["near_duplicates"] == 1
    assert get(store, copy).cluster_id == original


def test_copies_within_one_batch_find_each_other(store: Store, settings: Settings) -> None:
    # Classified in one batch: the later ones must see the earlier ones before any write.
    first = add_article(store, "https://a.example/3", STORY, outlet="A", published=T0)
    hour = timedelta(hours=1)
    near = add_article(
        store, "https://b.example/3", reworded(STORY), outlet="B", published=T0 + hour
    )
    exact = add_article(store, "https://c.example/3", STORY, outlet="C", published=T0 + 2 * hour)
    teaser = add_article(
        store, "https://d.example/3", with_chrome(STORY), outlet="D", published=T0 + 3 * hour
    )

    counts = classify_pending(store.sessions, settings)

    assert counts["classified"] == 4 and counts["new_clusters"] == 1
    assert counts["exact_duplicates"] == 1 and counts["near_duplicates"] == 2
    assert {get(store, a).cluster_id for a in (first, near, exact, teaser)} == {first}
    assert get(store, exact).exact_duplicate_of == first
