"""The fetch stage's record-keeping for a whole batch (SQLite and PostgreSQL): new pages,
changed pages, `304 Not Modified` and failures in one batch, each article keeping its own
outcome, against a real HTTP server."""

from __future__ import annotations

from pytest_httpserver import HTTPServer
from sqlalchemy import func, select
from werkzeug import Request, Response

from pipeline.config import Settings
from pipeline.fetch.host_clock import HostSlot
from pipeline.fetch.stage import fetch_pending
from pipeline.records import ArticleStatus
from pipeline.store import Store
from pipeline.store.models import Article, Page


def page(words: str) -> str:
    head = f"<head><title>{words}</title></head>"
    return f"<!doctype html><html>{head}<body><p>{words}</p></body></html>"


def test_one_batch_records_new_changed_unchanged_and_failed_pages(
    store: Store, settings: Settings, httpserver: HTTPServer
) -> None:
    edition = {"changing": "First edition"}
    httpserver.expect_request("/changing").respond_with_handler(
        lambda _: Response(page(edition["changing"]), content_type="text/html; charset=utf-8")
    )

    def steady(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(page("Steady story"), content_type="text/html", headers={"ETag": '"v1"'})

    httpserver.expect_request("/steady").respond_with_handler(steady)
    httpserver.expect_request("/gone").respond_with_data("gone", status=404)
    urls = {name: httpserver.url_for(f"/{name}") for name in ("changing", "steady", "gone")}
    with store.sessions() as session, session.begin():
        session.add_all(Article(id=name, canonical_url=url, url=url) for name, url in urls.items())
    fetch = settings.fetch.model_copy(update={"respect_robots": False, "batch_size": 10})

    first = fetch_pending(store.sessions, fetch)
    assert first == {"fetched": 2, "fetch_failed_http_client_error": 1}

    # Both stored pages are due again (as after a revision is noticed); one has changed.
    edition["changing"] = "Second edition"
    with store.sessions() as session, session.begin():
        for name in ("changing", "steady"):
            session.get_one(Article, name).status = ArticleStatus.DISCOVERED
    second = fetch_pending(store.sessions, fetch)

    assert second == {"fetched": 1, "not_modified": 1}
    with store.sessions() as session:
        articles = {a.id: a for a in session.scalars(select(Article))}
        pages: dict[str, str] = dict(session.execute(select(Page.article_id, Page.html)).all())
        slots = session.scalar(select(func.count()).select_from(HostSlot))
    assert {name: a.status for name, a in articles.items()} == {
        "changing": ArticleStatus.FETCHED,
        "steady": ArticleStatus.FETCHED,
        "gone": ArticleStatus.FETCH_FAILED,
    }
    assert {name: a.fetch_attempts for name, a in articles.items()} == {
        "changing": 2,
        "steady": 2,
        "gone": 1,
    }
    assert articles["steady"].status_reason == "not modified since the last fetch"
    assert articles["steady"].etag == '"v1"'
    assert articles["gone"].http_status == 404
    assert set(pages) == {"changing", "steady"}  # a failed download stores nothing
    assert "Second edition" in pages["changing"]  # the changed page replaced the old one
    assert "Steady story" in pages["steady"]  # the 304 kept the stored page
    # With no per-host delay there is nothing to space out, so nothing is reserved.
    assert slots == 0
