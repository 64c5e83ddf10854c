"""The classify stage over a real store (SQLite, and PostgreSQL when reachable)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from pipeline.classify.embed import DIMENSIONS, MODEL_ID
from pipeline.classify.models import (
    ArticleEmbedding,
    ArticleFingerprint,
    ArticleRevision,
    SeedRelation,
    StoryCluster,
)
from pipeline.classify.stage import classify_pending
from pipeline.config import Settings
from pipeline.records import ArticleStatus, IndexState, Relation
from pipeline.store import Store, open_store
from pipeline.store.models import Article
from tests.classify.support import SEED_TEXT, T0, add_article, add_copy_pairs, count, get

FIXTURES = Path(__file__).parent.parent / "fixtures" / "dedup"
POTHOLES = (FIXTURES / "council_potholes.txt").read_text(encoding="utf-8")
LIBRARY = (FIXTURES / "library_reopening.txt").read_text(encoding="utf-8")


def teaser_of(text: str) -> str:
    return "\n\n".join(text.split("\n\n")[:3]) + "\n\nRead the full story on our partner site."


def test_copies_share_a_cluster_with_the_earliest_as_representative(
    store: Store, settings: Settings
) -> None:
    original = add_article(
        store, "https://wire.example/potholes", POTHOLES, outlet="Wire", published=T0
    )
    exact = add_article(
        store,
        "https://daily.example/potholes-copy",
        POTHOLES.replace("\n\n", "\n"),  # other layout, same words
        outlet="Daily",
        published=T0 + timedelta(hours=2),
    )
    teaser = add_article(
        store,
        "https://aggregator.example/t/1",
        teaser_of(POTHOLES),
        outlet="Aggregator",
        published=T0 - timedelta(hours=1),  # the teaser went out first
    )
    other = add_article(store, "https://wire.example/library", LIBRARY, outlet="Wire", published=T0)

    counts = classify_pending(store.sessions, settings)

    assert counts["classified"] == 4
    assert counts["exact_duplicates"] == 1
    assert counts["near_duplicates"] == 1
    assert counts["new_clusters"] == 2
    a, b, c, d = (get(store, x) for x in (original, exact, teaser, other))
    assert b.exact_duplicate_of == original
    assert a.exact_duplicate_of is None and c.exact_duplicate_of is None
    # The teaser was classified first (earliest published), so it opened the cluster.
    assert a.cluster_id == b.cluster_id == c.cluster_id == teaser
    assert d.cluster_id == other
    for art in (a, b, c, d):
        assert art.status == ArticleStatus.CLASSIFIED.value
        assert art.index_state == IndexState.PENDING.value
        assert art.classified_at is not None and art.classified_at.tzinfo is not None
    with store.sessions() as session:
        cluster = session.get_one(StoryCluster, teaser)
        assert cluster.representative_article_id == teaser
        assert cluster.size == 3
        assert cluster.outlets == ["Aggregator", "Wire", "Daily"]
        assert cluster.first_seen_at == T0 - timedelta(hours=1)
        assert cluster.last_seen_at == T0 + timedelta(hours=2)
    assert count(store, ArticleFingerprint) == 3  # the exact copy needs no signature of its own


def test_rerun_changes_nothing(store: Store, settings: Settings) -> None:
    add_article(store, "https://wire.example/potholes", POTHOLES, outlet="Wire", published=T0)
    add_article(store, "https://wire.example/library", LIBRARY, outlet="Wire", published=T0)
    classify_pending(store.sessions, settings)
    before = {t: count(store, t) for t in (StoryCluster, ArticleRevision, ArticleFingerprint)}

    assert classify_pending(store.sessions, settings) == {}
    assert {t: count(store, t) for t in before} == before


def test_changed_page_is_a_revision_in_the_same_cluster(store: Store, settings: Settings) -> None:
    aid = add_article(store, "https://wire.example/potholes", POTHOLES, outlet="Wire", published=T0)
    classify_pending(store.sessions, settings)
    updated = POTHOLES + "\n\nUpdate: the council has since named the contractor for the work."
    with store.sessions() as session, session.begin():
        article = session.get_one(Article, aid)
        article.text = updated
        article.status = ArticleStatus.EXTRACTED.value  # what a re-fetch and re-extract do

    counts = classify_pending(store.sessions, settings)

    assert counts["revisions"] == 1
    assert counts.get("new_clusters", 0) == 0
    assert get(store, aid).cluster_id == aid
    with store.sessions() as session:
        hashes = session.scalars(
            select(ArticleRevision.content_hash).where(ArticleRevision.article_id == aid)
        ).all()
    assert len(set(hashes)) == 2
    assert count(store, StoryCluster) == 1


def test_only_the_given_ids(store: Store, settings: Settings) -> None:
    first = add_article(
        store, "https://wire.example/potholes", POTHOLES, outlet="Wire", published=T0
    )
    second = add_article(
        store, "https://wire.example/library", LIBRARY, outlet="Wire", published=T0
    )

    counts = classify_pending(store.sessions, settings, article_ids=[second])

    assert counts["classified"] == 1
    assert get(store, first).status == ArticleStatus.EXTRACTED.value
    assert get(store, second).status == ArticleStatus.CLASSIFIED.value


def test_relations_and_threads_are_stored_with_their_evidence(
    store: Store, settings: Settings
) -> None:
    follow = add_article(
        store,
        "https://ledger.example/sizewell",
        (FIXTURES / "follow_up_nuclear.txt").read_text(encoding="utf-8"),
        outlet="Ledger",
        published=T0,
        title="Ministers plan to buy out CGN's Sizewell stake",
    )
    phone = add_article(
        store,
        "https://gadgets.example/lumen-9",
        (FIXTURES / "phone_review.txt").read_text(encoding="utf-8"),
        outlet="Gadgets",
        published=T0,
    )

    counts = classify_pending(store.sessions, settings)

    assert counts["relation_follow_up"] == 1
    assert counts["relation_unrelated"] == 1
    a, b = get(store, follow), get(store, phone)
    assert a.relation == Relation.FOLLOW_UP.value
    assert a.seed_similarity is not None and 0.35 <= a.seed_similarity < 1
    assert "nuclear" in a.threads
    assert b.relation == Relation.UNRELATED.value and b.threads == []
    with store.sessions() as session:
        rel = session.get_one(SeedRelation, (follow, "seed_article"))
        assert rel.relation == Relation.FOLLOW_UP.value
        assert rel.score == a.seed_similarity
        assert "nuclear" in rel.evidence["shared_threads"]
        assert rel.evidence["top_terms"]


def test_copies_and_a_rewrite_of_the_seed_share_one_cluster(
    store: Store, settings: Settings
) -> None:
    verbatim = add_article(
        store, "https://wire.example/pompeo", SEED_TEXT, outlet="Wire", published=T0
    )
    rewrite = add_article(
        store,
        "https://lobby.example/pompeo-hawks",
        (FIXTURES / "seed_rewrite.txt").read_text(encoding="utf-8"),
        outlet="Lobby",
        published=T0 + timedelta(hours=3),
    )

    counts = classify_pending(store.sessions, settings)

    assert counts["relation_duplicate"] == 2
    assert counts["seed_story_joins"] == 1
    assert get(store, rewrite).cluster_id == get(store, verbatim).cluster_id == verbatim
    with store.sessions() as session:
        assert session.get_one(StoryCluster, verbatim).outlets == ["Wire", "Lobby"]


def test_every_configured_seed_gets_a_relation(
    store: Store, settings: Settings, tmp_path: Path
) -> None:
    library_seed = tmp_path / "library-seed.txt"
    library_seed.write_text("---\nid: library\n---\n" + LIBRARY, encoding="utf-8")
    two_seeds = settings.model_copy(
        update={
            "dedup": settings.dedup.model_copy(
                update={"seeds": ["builtin:seed_article", str(library_seed)]}
            )
        }
    )
    aid = add_article(store, "https://wire.example/library", LIBRARY, outlet="Wire", published=T0)

    classify_pending(store.sessions, two_seeds)

    with store.sessions() as session:
        rows = {r.seed_id: r.relation for r in session.scalars(select(SeedRelation))}
    assert rows == {"seed_article": "unrelated", "library": "duplicate"}
    assert get(store, aid).relation == "unrelated"  # the first seed is the default


def test_two_concurrent_runs_on_postgres_keep_copies_together(
    postgres_store_url: str, settings: Settings
) -> None:
    store = open_store(postgres_store_url)
    try:
        # One article per batch, each copy right after its original: the two runs
        # take an original and its copy at the same time.
        one_at_a_time = settings.model_copy(
            update={"dedup": settings.dedup.model_copy(update={"batch_size": 1})}
        )
        pairs = add_copy_pairs(store, 12)
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = list(
                pool.map(lambda _: classify_pending(store.sessions, one_at_a_time), range(2))
            )

        assert sum(r.get("classified", 0) for r in runs) == 24
        assert sum(r.get("new_clusters", 0) for r in runs) == 12
        for original, copy in pairs:
            # Together in one cluster. Its id is whichever of the two took the dedup lock
            # first (the embedding makes the unlocked preparation longer, so a copy can
            # win); the cluster's representative is still the earliest published member.
            cluster_id = get(store, original).cluster_id
            assert get(store, copy).cluster_id == cluster_id
            assert cluster_id in (original, copy)
            with store.sessions() as session:
                cluster = session.get(StoryCluster, cluster_id)
                assert cluster is not None and cluster.representative_article_id == original
        assert count(store, StoryCluster) == 12
        assert count(store, SeedRelation) == 24
        assert count(store, ArticleRevision) == 24
    finally:
        store.dispose()


def test_embeddings_are_computed_once_and_stored(store: Store, settings: Settings) -> None:
    aid = add_article(
        store,
        "https://a.example/flood",
        (FIXTURES / "quarry_flood_a.txt").read_text(),
        outlet="A",
        published=T0,
        title="Quarry flood forces families out",
    )
    first = classify_pending(store.sessions, settings)
    with store.sessions() as session, session.begin():
        stored = session.get(ArticleEmbedding, aid)
        assert stored is not None and stored.model == MODEL_ID
        assert len(stored.vector) == DIMENSIONS * 4
        article = session.get(Article, aid)
        assert article is not None
        article.status = ArticleStatus.EXTRACTED.value  # as a migration or re-run would
    again = classify_pending(store.sessions, settings)
    assert first["embedded"] == 1
    assert again["classified"] == 1 and "embedded" not in again


def test_independent_reports_of_one_event_share_a_story_cluster(
    store: Store, settings: Settings
) -> None:
    first = add_article(
        store,
        "https://a.example/flood",
        (FIXTURES / "quarry_flood_a.txt").read_text(),
        outlet="Dale Gazette",
        published=T0,
        title="Quarry flood forces Harrowby Cross families out",
    )
    second = add_article(
        store,
        "https://b.example/flood",
        (FIXTURES / "quarry_flood_b.txt").read_text(),
        outlet="County Radio",
        published=T0 + timedelta(hours=5),
        title="Harrowby Cross families sleep in village hall after quarry flood",
    )
    unrelated = add_article(
        store,
        "https://d.example/potholes",
        (FIXTURES / "council_potholes.txt").read_text(),
        outlet="Dale Gazette",
        published=T0 + timedelta(hours=1),
    )
    counts = classify_pending(store.sessions, settings)
    assert counts["same_event_joins"] == 1
    assert get(store, second).cluster_id == first
    assert get(store, unrelated).cluster_id == unrelated
    with store.sessions() as session:
        cluster = session.get(StoryCluster, first)
        assert cluster is not None
        assert cluster.outlets == ["Dale Gazette", "County Radio"]
