"""The sample newsroom the demo-server tests talk to, once per test module."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import feedparser
import pytest

from pipeline.demo.content import ArticleSpec
from pipeline.demo.server import NewsroomServer
from tests.demo_server.client import SLOW_SECONDS


@pytest.fixture(scope="module")
def newsroom() -> Iterator[NewsroomServer]:
    with NewsroomServer(slow_seconds=SLOW_SECONDS) as server:
        yield server


@pytest.fixture(scope="module")
def articles(newsroom: NewsroomServer) -> dict[str, ArticleSpec]:
    return {a.slug: a for a in newsroom.manifest()}


@pytest.fixture(scope="module")
def parsed_feeds(newsroom: NewsroomServer) -> dict[str, feedparser.FeedParserDict]:
    parsed = {}
    for name, url in newsroom.feed_urls().items():
        with urllib.request.urlopen(url, timeout=10) as response:
            parsed[name] = feedparser.parse(response.read())
    return parsed
