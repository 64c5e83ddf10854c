"""Queries the JSON API tests share: search, and what the store says a search should find."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.index.query import words_of
from pipeline.store.models import Article
from tests.api.conftest import Service

ALL = {"limit": 100, "collapse": "false"}


def search(service: Service, **params: Any) -> dict[str, Any]:
    response = service.get("/api/search", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def hit_ids(body: dict[str, Any]) -> set[str]:
    return {hit["article_id"] for hit in body["hits"]}


def published(article: Article) -> datetime:
    assert article.published_at is not None
    return article.published_at


def containing(service: Service, *phrase: str) -> set[str]:
    """Indexed articles whose title or text holds these consecutive words."""
    found = set()
    for article in service.indexed():
        words = words_of(f"{article.title}\n{article.text}")
        n = len(phrase)
        if any(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1)):
            found.add(article.id)
    return found
