"""The extract stage over a real store, in this process and with a pool of worker processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from pipeline.config import ExtractSettings
from pipeline.extract.stage import extract_pending
from pipeline.records import ArticleStatus, utcnow
from pipeline.store import open_store
from pipeline.store.models import Article, Page

PARAGRAPH = (
    "The harbour board in Saltwick voted on Thursday to delay the dredging contract by a "
    "further six months, after engineers warned that the revised plan underestimated the "
    "silt carried down the estuary each winter and that the quay walls needed surveying."
)


def page(number: int) -> str:
    body = "".join(f"<p>{PARAGRAPH} Paragraph {i} of story {number}.</p>" for i in range(6))
    return (
        f"<html lang='en'><head><title>Saltwick dredging story {number}</title></head><body>"
        "<nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        f"<article><h1>Saltwick dredging story {number}</h1>{body}</article>"
        "<footer>Copyright the Saltwick Gazette</footer></body></html>"
    )


def fetched(store_url: str, pages: dict[str, str | None]) -> Any:
    """A store with one fetched article per entry; None: the article has no stored page."""
    store = open_store(store_url)
    now = utcnow()
    with store.sessions() as session, session.begin():
        for article_id, html in pages.items():
            url = f"https://saltwick.example/news/{article_id}"
            session.add(
                Article(
                    id=article_id,
                    canonical_url=url,
                    url=url,
                    status=ArticleStatus.FETCHED,
                    discovered_at=now,
                    updated_at=now,
                    fetch_attempts=1,
                    index_attempts=0,
                    threads=[],
                )
            )
            session.flush()
            if html is not None:
                session.add(Page(article_id=article_id, html=html))
    return store


def outcomes(store: Any) -> dict[str, tuple[object, ...]]:
    with store.sessions() as session:
        return {
            a.id: (a.status, a.title, a.text, a.language, a.word_count, a.domain)
            for a in session.scalars(select(Article))
        }


@pytest.mark.parametrize("workers", [1, 2])
def test_extract_stage_gives_the_same_articles_with_any_number_of_workers(
    tmp_path: Path, workers: int
):
    pages: dict[str, str | None] = {f"a{i:02d}": page(i) for i in range(9)}
    pages["empty"] = "<html><body><nav>Home</nav></body></html>"
    pages["missing"] = None
    store = fetched(f"sqlite:///{tmp_path / 'store.db'}", pages)
    settings = ExtractSettings(workers=workers, batch_size=4)
    try:
        counts = extract_pending(store.sessions, settings)
        got = outcomes(store)
    finally:
        store.dispose()
    assert counts == {"extracted": 9, "no_content": 1, "missing_page": 1}
    assert got["empty"][0] == ArticleStatus.NO_CONTENT
    assert got["missing"][0] == ArticleStatus.FETCH_FAILED
    for number in range(9):
        status, title, text, language, words, domain = got[f"a{number:02d}"]
        assert status == ArticleStatus.EXTRACTED
        assert title == f"Saltwick dredging story {number}"
        assert f"Paragraph 5 of story {number}." in str(text)
        assert "Copyright" not in str(text)
        assert language == "en"
        assert words is not None and int(str(words)) > 200
        assert domain == "saltwick.example"
