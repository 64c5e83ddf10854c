"""Migration 0007: band keys backfilled from the stored signatures (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect, text

from pipeline.classify.dedup import fingerprint, signature_band_keys, signature_bytes
from pipeline.classify.stage import classify_pending
from pipeline.config import Settings
from pipeline.records import ArticleStatus
from pipeline.store import open_store
from pipeline.store.db import make_engine
from pipeline.store.migrate import current_revision, head_revision, upgrade
from tests.classify.support import add_article, get, synthetic_story
from tests.classify.test_copy_window import reworded

PUBLISHED = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
DISCOVERED = datetime(2026, 9, 2, 8, 0, tzinfo=UTC)


def test_upgrade_backfills_band_keys_that_later_copies_find(
    store_url: str, settings: Settings
) -> None:
    engine = make_engine(store_url)
    stories = {f"{n:032x}": synthetic_story(40 + n) for n in range(3)}
    try:
        upgrade(engine, "0006_article_perspective")
        with engine.begin() as conn:
            for n, (aid, story) in enumerate(stories.items()):
                conn.execute(
                    text(
                        "INSERT INTO articles (id, canonical_url, url, ignore_robots, status, "
                        "text, text_hash, published_at, discovered_at, updated_at, "
                        "classified_at, cluster_id, fetch_attempts, index_attempts, threads) "
                        "VALUES (:id, :u, :u, false, 'indexed', :t, :h, :p, :d, :d, :d, :id, "
                        "0, 0, '[]')"
                    ),
                    {
                        "id": aid,
                        "u": f"https://old.example/{n}",
                        "t": story,
                        "h": fingerprint(story, settings.dedup).text_hash,
                        # The last one has no date: its discovery time stands in.
                        "p": PUBLISHED if n < 2 else None,
                        "d": DISCOVERED,
                    },
                )
                conn.execute(
                    text(
                        "INSERT INTO fingerprints (article_id, signature, shingle_count, "
                        "created_at) VALUES (:id, :s, 100, :d)"
                    ),
                    {
                        "id": aid,
                        "s": signature_bytes(fingerprint(story, settings.dedup).signature),
                        "d": DISCOVERED,
                    },
                )
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        indexes = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("dedup_bands")}
        assert indexes["ix_dedup_bands_band_key"] == ["band", "key"]
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT article_id, band, key, seen_at FROM dedup_bands")
            ).all()
    finally:
        engine.dispose()

    for aid, story in stories.items():
        keys = signature_band_keys(fingerprint(story, settings.dedup).signature, settings.dedup)
        mine = sorted((r.band, r.key) for r in rows if r.article_id == aid)
        assert mine == list(enumerate(keys))
    seen = {r.article_id: _utc(r.seen_at) for r in rows}
    assert [seen[aid] for aid in stories] == [PUBLISHED, PUBLISHED, DISCOVERED]

    # A reworded copy shares no sentence with its original: only the bands can find it.
    store = open_store(store_url)
    try:
        original = next(iter(stories))
        copy = add_article(
            store,
            "https://new.example/copy",
            reworded(stories[original]),
            outlet="New",
            published=PUBLISHED + timedelta(hours=3),
        )
        counts = classify_pending(store.sessions, settings)
        assert counts["near_duplicates"] == 1
        assert get(store, copy).cluster_id == original
        assert get(store, copy).status == ArticleStatus.CLASSIFIED.value
    finally:
        store.dispose()


def _utc(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
