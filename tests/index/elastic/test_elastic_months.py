"""Monthly indices: each article in its month's index, moved when its date changes, never in
two; rebuilds by month; retention that drops whole months and deletes the boundary
month's expired articles one by one. On osmem (8 and 9 header paths) and a real cluster."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from pipeline.index.base import SearchQuery
from pipeline.index.elastic import ElasticIndex
from pipeline.index.elastic.months import Month, month_of
from pipeline.index.stage import rebuild_index
from pipeline.records import IndexDocument, utcnow
from pipeline.store import Store
from pipeline.store.models import Article
from pipeline.store.retention import delete_expired
from tests.dags.test_maintenance import article, fill
from tests.index.elastic.test_elastic import doc, found

MAY, JUNE = datetime(2021, 5, 20, 9, tzinfo=UTC), datetime(2021, 6, 3, 9, tzinfo=UTC)
THIS_MONTH = month_of(utcnow()).label


def homes(index: ElasticIndex, article_id: str) -> list[str]:
    """Every index that holds a document of the article, through both aliases."""
    index.refresh()
    response = index.client.search(
        index=[index.read_alias, index.write_alias], query={"ids": {"values": [article_id]}}
    )
    return sorted(h["_index"] for h in response["hits"]["hits"])


def months_of(index: ElasticIndex) -> set[str]:
    names = index.client.indices.get_alias(index=f"{index.read_alias}-v*")
    return {name.rsplit("-", 1)[1] for name in names}


def dated(article_id: str, when: datetime | None, **changes: object) -> IndexDocument:
    text = f"The harbour board met about the ferry timetable ({article_id})."
    return replace(doc(article_id, text, published_at=when), **changes)  # type: ignore[arg-type]


def test_each_article_goes_to_the_index_of_its_month(elastic: ElasticIndex) -> None:
    undated = dated("undated", None, discovered_at=datetime(2020, 1, 31, 23, 59, tzinfo=UTC))
    docs = [dated("may", MAY), dated("june", JUNE), undated]
    assert all(o.ok for o in elastic.index(docs))
    prefix = elastic.read_alias
    assert homes(elastic, "may") == [f"{prefix}-v1-2021.05"]
    assert homes(elastic, "june") == [f"{prefix}-v1-2021.06"]
    assert homes(elastic, "undated") == [f"{prefix}-v1-2020.01"]  # its discovery month
    assert months_of(elastic) == {"2020.01", "2021.05", "2021.06", THIS_MONTH}
    # the read alias spans every month: one search, one count, one timeline
    assert found(elastic, "ferry") == {"may", "june", "undated"}
    assert elastic.count() == 3
    health = elastic.health()
    assert health["index"] == f"{prefix}-v1" and health["rebuilding"] is False
    assert health["months"] == f"2020.01 to {THIS_MONTH} (4 indices)"


def test_an_article_whose_date_changes_moves_to_its_new_month(elastic: ElasticIndex) -> None:
    prefix = elastic.read_alias
    undated = dated("story", None, discovered_at=MAY)
    assert elastic.index([undated])[0].ok  # no refresh in between: found all the same
    assert elastic.index([replace(undated, published_at=JUNE)])[0].ok  # the page gained a date
    assert homes(elastic, "story") == [f"{prefix}-v1-2021.06"]
    corrected = replace(undated, published_at=MAY - timedelta(days=40), title="Corrected")
    for _ in range(2):  # indexing the same again changes nothing
        assert all(o.ok for o in elastic.index([corrected, dated("other", JUNE)]))
    assert homes(elastic, "story") == [f"{prefix}-v1-2021.04"]
    assert elastic.count() == 2
    hits = elastic.search(SearchQuery(text="ferry", collapse=False)).hits
    assert sorted(h.article_id for h in hits) == ["other", "story"]  # never twice

    elastic.delete(["story"])  # a delete finds it in whatever month it is
    assert homes(elastic, "story") == []
    assert elastic.count() == 1


def test_a_rebuild_fills_a_new_generation_month_by_month(elastic: ElasticIndex) -> None:
    prefix = elastic.read_alias
    snapshot = [dated("may", MAY), dated("june", JUNE), dated("moved", MAY)]
    assert all(o.ok for o in elastic.index(snapshot))
    newer = replace(dated("moved", JUNE), indexed_at=JUNE + timedelta(days=1))

    def store() -> Iterator[IndexDocument]:
        yield snapshot[0]
        # meanwhile ingest moves "moved" to June, in both generations ...
        assert elastic.index([newer])[0].ok
        assert homes(elastic, "moved") == [f"{prefix}-v1-2021.06", f"{prefix}-v2-2021.06"]
        # ... and the rebuild then loads its older May copy from the store snapshot
        yield from snapshot[1:]

    assert elastic.rebuild(store()) == 3
    assert homes(elastic, "moved") == [f"{prefix}-v2-2021.06"]  # the newer copy alone
    assert homes(elastic, "may") == [f"{prefix}-v2-2021.05"]
    assert months_of(elastic) == {"2021.05", "2021.06", THIS_MONTH}
    live = elastic.client.indices.get_alias(name=prefix)
    assert sorted(live) == sorted(f"{prefix}-v2-{m}" for m in ("2021.05", "2021.06", THIS_MONTH))
    assert elastic.count() == 3
    for name in live:  # every month got its serving settings back
        settings = elastic.client.indices.get_settings(index=name)[name]["settings"]["index"]
        assert settings.get("auto_expand_replicas") == "0-1", name
        assert settings.get("refresh_interval") in (None, "1s"), name


def test_a_generation_from_before_monthly_indices_takes_every_write(
    elastic: ElasticIndex,
) -> None:
    prefix = elastic.read_alias
    monthly = elastic.client.indices.get_alias(name=prefix)
    elastic.client.indices.delete(index=list(monthly))
    elastic.client.indices.create(
        index=f"{prefix}-v1", aliases={prefix: {}, elastic.write_alias: {}}
    )
    assert all(o.ok for o in elastic.index([dated("may", MAY), dated("june", JUNE)]))
    assert homes(elastic, "may") == homes(elastic, "june") == [f"{prefix}-v1"]
    assert elastic.rebuild(iter([dated("may", MAY), dated("june", JUNE)])) == 2
    assert months_of(elastic) == {"2021.05", "2021.06", THIS_MONTH}  # monthly from now on


# -- retention -------------------------------------------------------------------------------

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)  # tests.dags.test_maintenance's clock


def test_retention_drops_whole_months_and_the_boundary_month_article_by_article(
    store: Store, elastic: ElasticIndex
) -> None:
    # keep 365 days from NOW: the cut-off is 2025-11-01 12:00, inside November 2025
    cutoff = NOW - timedelta(days=365)
    assert month_of(cutoff) == Month(2025, 11)
    fill(
        store,
        [
            article(1, published_at=datetime(2025, 9, 14, tzinfo=UTC)),  # a month long past
            article(2, published_at=datetime(2025, 10, 31, 23, tzinfo=UTC)),  # ends at cut-off
            article(3, published_at=None, discovered_at=datetime(2025, 10, 2, tzinfo=UTC)),
            article(4, published_at=datetime(2025, 11, 1, 6, tzinfo=UTC)),  # boundary, expired
            article(5, published_at=datetime(2025, 11, 20, tzinfo=UTC)),  # boundary, kept
            article(6, published_at=NOW - timedelta(days=3)),
        ],
    )
    rebuild_index(store.sessions, elastic)
    prefix = elastic.read_alias
    assert months_of(elastic) >= {"2025.09", "2025.10", "2025.11", "2026.10"}

    # an expired month a write auto-created in a race with retention: no alias, unseen
    elastic.client.indices.create(index=f"{prefix}-v2-2025.01")

    counts = delete_expired(store.sessions, elastic, keep_days=365, now=NOW)

    assert counts["index_months_dropped"] == 3  # September and October 2025, whole; the stray
    assert counts["articles_deleted"] == 4
    assert not {"2025.01", "2025.09", "2025.10"} & months_of(elastic)
    assert homes(elastic, f"{5:032x}") == [f"{prefix}-v2-2025.11"]  # the boundary stays
    assert homes(elastic, f"{4:032x}") == []  # deleted from it one by one
    with store.sessions() as session:
        left = sorted(int(i, 16) for i in session.scalars(select(Article.id)))
    assert left == [5, 6]
    assert elastic.count() == 2
    assert THIS_MONTH in months_of(elastic)  # the aliases keep an index to stand on

    again = delete_expired(store.sessions, elastic, keep_days=365, now=NOW)
    assert again == {}  # idempotent: nothing left to drop or delete
