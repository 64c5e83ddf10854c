"""The sample newsroom's content: labels that match the pages, and the Chinese-language outlet."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlsplit

import feedparser
import httpx
import pytest

from pipeline.demo.content import KINDS, SEED, THREADS, ArticleSpec, load_outlets, parse_article
from pipeline.demo.server import NewsroomServer

# -- content labels ------------------------------------------------------------------------


def test_manifest_labels_are_consistent(articles: dict[str, ArticleSpec]) -> None:
    assert len(articles) >= 30
    for article in articles.values():
        assert article.kind in KINDS, article.slug
        assert set(article.threads) <= set(THREADS), article.slug
        assert article.published.utcoffset() is not None, article.slug
        if article.copy_of is not None:
            assert article.copy_of == SEED or article.copy_of in articles, article.slug
        if article.kind in ("seed_copy", "seed_edited"):
            assert article.copy_of == SEED, article.slug


def test_every_thread_has_at_least_two_follow_ups(articles: dict[str, ArticleSpec]) -> None:
    per_thread = Counter(
        thread for a in articles.values() if a.kind == "follow_up" for thread in a.threads
    )
    assert {thread: per_thread[thread] >= 2 for thread in THREADS} == dict.fromkeys(THREADS, True)


def test_kinds_cover_the_scenarios(articles: dict[str, ArticleSpec]) -> None:
    kinds = Counter(a.kind for a in articles.values())
    assert kinds["seed_copy"] + kinds["seed_edited"] >= 4
    assert kinds["unrelated"] >= 6
    assert kinds["stub"] == 1
    # A follow-up syndicated on a second outlet: a duplicate cluster other than the seed's.
    pairs = [a for a in articles.values() if a.kind == "follow_up" and a.copy_of]
    assert pairs
    for copy in pairs:
        original = articles[copy.copy_of or ""]
        assert copy.outlet != original.outlet
        shared = set(copy.text.splitlines()) & set(original.text.splitlines())
        assert len(shared) >= len(original.blocks) - 2


def test_real_articles_have_realistic_length(articles: dict[str, ArticleSpec]) -> None:
    real = [a for a in articles.values() if a.kind in ("follow_up", "unrelated")]
    assert len(real) >= 10  # the loop below must check something
    for article in real:
        assert 250 <= article.word_count <= 600, (article.slug, article.word_count)
    stub = next(a for a in articles.values() if a.kind == "stub")
    assert stub.word_count < 60
    assert "Subscribe to read" in stub.text


def test_seed_variants_differ_as_described(articles: dict[str, ArticleSpec]) -> None:
    copies = [a for a in articles.values() if a.kind == "seed_copy"]
    edited = [a for a in articles.values() if a.kind == "seed_edited"]
    # Verbatim copies share one body whatever their headline.
    assert len({a.text for a in copies}) == 1
    assert len({a.title for a in copies}) == 2
    full = copies[0].text
    teaser = next(a for a in edited if a.text.endswith("Read more »"))
    assert 0.3 < teaser.word_count / copies[0].word_count < 0.5
    updated = next(a for a in edited if a.blocks[0].text.startswith("UPDATE:"))
    assert updated.updated is not None and updated.updated > updated.published
    assert "\n".join(b.text for b in updated.blocks[1:]) == full
    reworded = next(a for a in edited if a not in (teaser, updated))
    assert reworded.text != full and reworded.word_count < copies[0].word_count


def test_unrelated_traps_mention_trigger_words_only_in_passing(
    articles: dict[str, ArticleSpec],
) -> None:
    unrelated = [a for a in articles.values() if a.kind == "unrelated"]
    listing = [a for a in unrelated if "HKEX" in a.text]
    assert listing and all("Hong Kong" not in a.text for a in listing)
    review = [a for a in unrelated if "Huawei" in a.text]
    assert len(review) == 1 and review[0].text.count("Huawei") == 1


def test_each_outlet_has_its_own_host(newsroom: NewsroomServer) -> None:
    hosts = [urlsplit(url).netloc for url in newsroom.outlet_urls().values()]
    assert len(hosts) == len(set(hosts)) >= 6
    feed_host = urlsplit(next(iter(newsroom.feed_urls().values()))).netloc
    assert feed_host not in hosts


# -- the Chinese-language outlet -----------------------------------------------------------


def test_chinese_outlet_serves_gb18030_pages_and_feed(newsroom: NewsroomServer) -> None:
    feed = httpx.get(newsroom.feed_urls()["zh-news"])
    assert feed.content.startswith(b'<?xml version="1.0" encoding="gb18030"?>')
    parsed = feedparser.parse(feed.content)
    assert not parsed.bozo
    titles = {e.title for e in parsed.entries}
    assert "英国提前禁止安装华为5G设备 明年9月起生效" in titles
    page = httpx.get(newsroom.article_url("zh-huawei-installation-ban-brought-forward"))
    assert page.headers["content-type"] == "text/html"  # declared only in the page
    with pytest.raises(UnicodeDecodeError):
        page.content.decode("utf-8")
    html = page.content.decode("gb18030")
    assert 'charset=gb18030"' in html
    assert "发布时间：2020-12-01 09:15" in html  # Beijing time, as the header's +08:00 says


def test_other_language_items_say_which_relation_a_reader_would_give(
    articles: dict[str, ArticleSpec],
) -> None:
    chinese = [a for a in articles.values() if a.language == "zh"]
    assert {a.relation for a in chinese} == {"duplicate", "follow_up", "unrelated"}
    assert all(a.kind == "other_language" for a in chinese)
    state_media = [a for a in articles.values() if a.outlet == "huaxia-news-agency"]
    assert state_media and all(a.language == "en" for a in state_media)


def test_chinese_invalid_relation_header_is_refused() -> None:
    outlets = load_outlets()
    text = (
        "slug: x\noutlet: jiangpan-daily\ntitle: t\nauthor: a\n"
        "published: 2020-07-22T08:30:00+08:00\nsection: 国际\nkind: other_language\n"
        "relation: background\n---\n正文。"
    )
    with pytest.raises(ValueError, match="relation 'background'"):
        parse_article(text, outlets)
