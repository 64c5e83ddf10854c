"""The poll stage over a real HTTP server and both stores: new versus already-known articles.

The count comes from the store's INSERT … ON CONFLICT DO NOTHING. Driven by the driver's
row count it was wrong on PostgreSQL (psycopg reported -1, so every new article counted
as already known); it now asks with RETURNING.
"""

from __future__ import annotations

from pathlib import Path

from pytest_httpserver import HTTPServer
from sqlalchemy import select

from pipeline.config import FeedConfig
from pipeline.feeds.stage import poll_feeds
from pipeline.records import ArticleStatus
from pipeline.store import Article, Store
from tests.conftest import make_test_settings


def rss(*paths: str) -> str:
    items = "".join(
        f"<item><title>Story {p}</title><link>http://127.0.0.1:9/{p}</link><guid>{p}</guid></item>"
        for p in paths
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    )


def test_new_and_known_articles_are_told_apart(
    httpserver: HTTPServer, store: Store, tmp_path: Path
) -> None:
    for name, paths in {"first": ("a", "b", "c"), "second": ("b", "c", "d")}.items():
        httpserver.expect_request(f"/{name}.xml").respond_with_data(
            rss(*paths), content_type="application/rss+xml"
        )
    settings = make_test_settings(
        tmp_path,
        feeds=[
            FeedConfig(name=name, url=httpserver.url_for(f"/{name}.xml"))
            for name in ("first", "second")
        ],
    )

    first = poll_feeds(store.sessions, settings, names=["first"])
    second = poll_feeds(store.sessions, settings, names=["second"])

    assert first.counts["articles_new"] == 3 and first.counts["articles_already_known"] == 0
    assert second.counts["articles_new"] == 1 and second.counts["articles_already_known"] == 2
    assert len(first.new_article_ids) == 3 and len(second.new_article_ids) == 1
    with store.sessions() as session:
        articles = session.scalars(select(Article).order_by(Article.canonical_url)).all()
    assert [a.canonical_url.rsplit("/", 1)[1] for a in articles] == ["a", "b", "c", "d"]
    assert {a.status for a in articles} == {ArticleStatus.DISCOVERED}
    assert {a.feed_name for a in articles if a.id in second.new_article_ids} == {"second"}
