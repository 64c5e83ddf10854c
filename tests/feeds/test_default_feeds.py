"""The shipped feed list: no aggregator feeds, whose links lead to the aggregator's pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from pipeline.config import default_feeds

# Hosts whose feed items link to the aggregator, not to the publisher (docs/feeds.md).
AGGREGATORS = ("news.google.com", "bing.com", "news.yahoo.com", "msn.com")


def test_no_default_feed_is_an_aggregator() -> None:
    feeds = default_feeds()
    assert len(feeds) == 21  # 10 UK and Hong Kong feeds, 11 Chinese official and Chinese-language
    for feed in feeds:
        host = urlsplit(feed.url).hostname or ""
        assert not host.endswith(AGGREGATORS), feed.name
    assert not {"gnews-uk-china", "gnews-huawei-uk"} & {f.name for f in feeds}
