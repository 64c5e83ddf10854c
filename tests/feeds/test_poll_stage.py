"""The poll stage over a real HTTP server and both stores: new versus already-known articles.

The count comes from the store's INSERT … ON CONFLICT DO NOTHING. Driven by the driver's
row count it was wrong on PostgreSQL (psycopg reported -1, so every new article counted
as already known); it now asks with RETURNING.
"""

from __future__ import annotations

from pathlib import Path

from pytest_httpserver import HTTPServer
from sqlalchemy import select, text

from pipeline.config import FeedConfig
from pipeline.feeds.stage import poll_feeds
from pipeline.records import ArticleStatus
from pipeline.store import Article, FeedEntryRow, Store
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


def test_one_cycle_records_every_feed_alike_whether_parsed_here_or_in_workers(
    httpserver: HTTPServer, store: Store, tmp_path: Path
) -> None:
    """Feeds listing the same pages, polled in one cycle: each page is one article, new
    for the feed listed first and known for the others, with the parser in this process
    or in two worker processes; an unchanged document is not parsed again."""
    names = [f"feed-{n}" for n in range(6)]
    for n, name in enumerate(names):
        httpserver.expect_request(f"/{name}.xml").respond_with_data(
            rss(f"own-{n}", "shared", f"own-{n}-b"), content_type="application/rss+xml"
        )
    feeds = [FeedConfig(name=name, url=httpserver.url_for(f"/{name}.xml")) for name in names]
    recorded = {}
    for workers in (1, 2):
        settings = make_test_settings(tmp_path, feeds=feeds, poll={"parse_workers": workers})
        with store.sessions() as session, session.begin():  # start afresh each time
            for table in ("feed_entries", "articles", "feeds"):
                session.execute(text(f"DELETE FROM {table}"))
        first = poll_feeds(store.sessions, settings)
        again = poll_feeds(store.sessions, settings, names=names)
        with store.sessions() as session:
            rows = session.execute(select(FeedEntryRow.feed_name, FeedEntryRow.article_id))
            recorded[workers] = sorted((feed, aid or "") for feed, aid in rows)
        assert first.counts["documents_parsed"] == 6
        assert first.counts["articles_new"] == 13  # two own pages per feed and the shared one
        assert first.counts["articles_already_known"] == 5
        assert first.counts["entries_new"] == 18
        assert again.counts["documents_parsed"] == 0  # same body: nothing to parse
        assert again.counts["entries_new"] == 0
    assert recorded[1] == recorded[2] and len(recorded[1]) == 18
