"""`newswatch classify` engine: read-only relation of given files and URLs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pytest_httpserver import HTTPServer

from pipeline.classify.given_pages import classify_inputs
from pipeline.classify.models import ArticleFingerprint, SeedRelation
from pipeline.classify.stage import classify_pending
from pipeline.config import Settings
from pipeline.records import ArticleStatus
from pipeline.store import Store, open_store
from pipeline.store.models import Article
from tests.classify.support import SEED_TEXT, count

FIXTURES = Path(__file__).parents[1] / "fixtures" / "dedup"
POTHOLES = (FIXTURES / "council_potholes.txt").read_text(encoding="utf-8")


def sqlite_store(tmp_path: Path) -> Store:
    return open_store(f"sqlite:///{tmp_path / 'store.db'}")


def test_a_fresh_store_knows_the_seed(tmp_path: Path, settings: Settings) -> None:
    store = sqlite_store(tmp_path)
    copy = tmp_path / "copy.txt"
    copy.write_text(
        "---\ntitle: Pompeo urges Tory MPs to get tougher on China\n---\n"
        "Advertisement\n\n" + SEED_TEXT,
        encoding="utf-8",
    )
    follow = FIXTURES / "follow_up_nuclear.txt"

    first, second = classify_inputs([str(copy), str(follow)], settings, store.sessions)

    assert first["relation"] == "duplicate"
    assert first["duplicate_of"] == "seed"
    assert first["title"] == "Pompeo urges Tory MPs to get tougher on China"
    assert first["seed_similarity"] >= settings.dedup.duplicate_threshold
    assert second["relation"] == "follow_up"
    assert second["duplicate_of"] is None
    assert "nuclear" in second["threads"]
    assert second["evidence"]["shared_threads"]["nuclear"]
    assert second["relations"] == {
        "seed_article": {"relation": "follow_up", "score": second["seed_similarity"]}
    }
    store.dispose()


def test_copies_of_stored_articles_are_named_and_nothing_is_written(
    tmp_path: Path, settings: Settings
) -> None:
    store = sqlite_store(tmp_path)
    url = "https://wire.example/potholes"
    with store.sessions() as session, session.begin():
        session.add(
            Article(
                id="a" * 32,
                canonical_url=url,
                url=url,
                status=ArticleStatus.EXTRACTED.value,
                text=POTHOLES,
                published_at=datetime(2021, 3, 4, tzinfo=UTC),
            )
        )
    classify_pending(store.sessions, settings)
    before = {m: count(store, m) for m in (Article, ArticleFingerprint, SeedRelation)}
    teaser = tmp_path / "teaser.txt"
    teaser.write_text("\n\n".join(POTHOLES.split("\n\n")[:3]), encoding="utf-8")
    exact = tmp_path / "exact.txt"
    exact.write_text(POTHOLES.upper(), encoding="utf-8")

    results = classify_inputs([str(teaser), str(exact)], settings, store.sessions)

    assert [r["duplicate_of"] for r in results] == ["a" * 32, "a" * 32]
    assert [r["duplicate_of_url"] for r in results] == [url, url]
    assert all(r["relation"] == "unrelated" for r in results)  # to the seed
    assert {m: count(store, m) for m in before} == before
    store.dispose()


def test_unreadable_inputs_are_reported_one_by_one(tmp_path: Path, settings: Settings) -> None:
    store = sqlite_store(tmp_path)
    results = classify_inputs(
        [str(tmp_path / "missing.txt"), str(FIXTURES / "phone_review.txt")],
        settings,
        store.sessions,
    )
    assert "cannot read" in results[0]["error"] and results[0]["relation"] is None
    assert results[1]["relation"] == "unrelated"
    store.dispose()


def test_urls_are_downloaded_and_extracted(
    httpserver: HTTPServer, tmp_path: Path, settings: Settings
) -> None:
    paragraphs = "".join(f"<p>{p}</p>" for p in POTHOLES.split("\n\n"))
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/roads").respond_with_data(
        "<html><head><title>Pothole repairs delayed</title></head><body><article>"
        f"<h1>Pothole repairs delayed</h1>{paragraphs}</article></body></html>",
        content_type="text/html",
    )
    httpserver.expect_request("/gone").respond_with_data("not here", status=404)
    store = sqlite_store(tmp_path)

    ok, gone = classify_inputs(
        [httpserver.url_for("/roads"), httpserver.url_for("/gone")], settings, store.sessions
    )

    assert ok["relation"] == "unrelated"
    assert ok["url"] == httpserver.url_for("/roads")
    assert ok["words"] > 150
    assert "cannot download" in gone["error"]
    store.dispose()
