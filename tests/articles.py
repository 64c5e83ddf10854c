"""Articles written straight into a real store, as a pipeline stage would leave them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.store import Store
from pipeline.store.models import Article
from pipeline.urls import article_id


def insert_article(
    store: Store,
    url: str,
    text: str,
    *,
    status: str,
    title: str,
    outlet: str,
    published: datetime | None,
    discovered: datetime,
    **columns: Any,
) -> str:
    """One article row (its id, domain and word count follow from `url` and `text`);
    `columns` sets any other column, such as a classified article's cluster."""
    aid = article_id(url)
    with store.sessions() as session, session.begin():
        session.add(
            Article(
                id=aid,
                canonical_url=url,
                url=url,
                status=status,
                title=title,
                text=text,
                word_count=len(text.split()),
                published_at=published,
                discovered_at=discovered,
                site_name=outlet,
                domain=url.split("/")[2],
                **columns,
            )
        )
    return aid
