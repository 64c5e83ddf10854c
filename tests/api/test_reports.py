"""Read-side reports over a real store (SQLite, and PostgreSQL when reachable).

The sample articles go in as extracted pages and through the real classify stage."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from pipeline.classify.seeds import load_seeds
from pipeline.classify.stage import classify_pending
from pipeline.classify.threads import ThreadBook, load_thread_book
from pipeline.config import Settings
from pipeline.demo.content import load_outlets
from pipeline.records import ArticleStatus, DateSource
from pipeline.search.reports import (
    UNTHREADED,
    article_detail,
    cluster_detail,
    filter_choices,
    seed_followups,
    thread_summaries,
)
from pipeline.store import Store
from pipeline.store.models import Article
from pipeline.urls import article_id, canonical_url
from tests.api.conftest import SAMPLE, SEED_STORY, stored_follow_ups


def sample_id(slug: str) -> str:
    spec = SAMPLE[slug]
    return article_id(canonical_url(f"https://{spec.outlet}.example{spec.path}"))


def insert_sample_articles(store: Store) -> None:
    """The sample newsroom's readable articles, as the extract stage leaves them."""
    outlets = load_outlets()
    with store.sessions() as session, session.begin():
        for slug, spec in SAMPLE.items():
            outlet = outlets[spec.outlet]
            session.add(
                Article(
                    id=sample_id(slug),
                    canonical_url=canonical_url(f"https://{spec.outlet}.example{spec.path}"),
                    url=f"https://{spec.outlet}.example{spec.path}",
                    status=ArticleStatus.EXTRACTED.value,
                    title=spec.title,
                    author=spec.author,
                    text=spec.text,
                    word_count=spec.word_count,
                    published_at=spec.published.astimezone(UTC),
                    date_source=DateSource.PAGE.value,
                    site_name=outlet.name,
                    domain=f"{spec.outlet}.example",
                    language=outlet.lang.split("-")[0],
                )
            )


@pytest.fixture
def classified(store: Store, settings: Settings) -> Store:
    insert_sample_articles(store)
    classify_pending(store.sessions, settings)
    return store


@pytest.fixture
def book() -> ThreadBook:
    return load_thread_book()


def test_thread_counts_match_the_tagged_articles(classified: Store, book: ThreadBook) -> None:
    with classified.sessions() as session:
        summaries = thread_summaries(session, book)
        rows = session.execute(
            select(Article.threads, Article.cluster_id, Article.published_at)
        ).all()
    assert [s.name for s in summaries] == [t.name for t in book.threads]
    for summary in summaries:
        tagged = [row for row in rows if summary.name in row.threads]
        assert tagged, summary.name
        assert summary.articles == len(tagged)
        assert summary.stories == len({row.cluster_id for row in tagged})
        newest = max(tagged, key=lambda row: row.published_at)
        assert summary.latest is not None
        assert summary.latest.cluster_id == newest.cluster_id


@pytest.mark.parametrize("name", ["hong", "hong_kong", "hong%", "kong"])
def test_a_thread_name_matches_whole_names_only(
    classified: Store, book: ThreadBook, name: str
) -> None:
    """'hong-kong' is tagged; look-alike names (and LIKE wildcards) must not count it."""
    lookalike = replace(book, threads=(replace(book.threads[1], name=name),))
    with classified.sessions() as session:
        [summary] = thread_summaries(session, lookalike)
    assert (summary.articles, summary.stories, summary.latest) == (0, 0, None)


def test_seed_followups_list_copies_then_follow_ups_by_thread(
    classified: Store, settings: Settings, book: ThreadBook
) -> None:
    seed = load_seeds(settings)[0]
    with classified.sessions() as session:
        report = seed_followups(session, seed, book)
        threads_of = {
            row.id: row.threads for row in session.execute(select(Article.id, Article.threads))
        }
    assert report.seed.published is not None and report.seed.published.isoformat() == "2020-07-21"
    [copies] = report.copies
    assert copies.size == len(SEED_STORY)
    outlets = load_outlets()
    assert set(report.copy_outlets) == {outlets[SAMPLE[s].outlet].name for s in SEED_STORY}
    follow_ups = stored_follow_ups(classified)
    assert follow_ups and report.followup_articles == len(follow_ups)

    order = [t.name for t in book.threads] + [UNTHREADED]
    names = [group.name for group in report.threads]
    assert names == sorted(names, key=order.index)
    listed = {story.article_id for group in report.threads for story in group.stories}
    assert listed <= follow_ups
    for group in report.threads:
        seen = [story.first_seen_at for story in group.stories]
        assert seen == sorted(seen, key=lambda d: (d is None, d))
        for story in group.stories:
            assert group.name in threads_of[story.article_id] or group.name == UNTHREADED
    two_threads = [s for g in report.threads for s in g.stories if len(s.threads) > 1]
    assert two_threads, "the sample has follow-ups on two threads"
    story = two_threads[0]
    under = [g.name for g in report.threads if story in g.stories]
    assert under == [t for t in order if t in story.threads]


def test_article_detail_keeps_every_revision(classified: Store, settings: Settings) -> None:
    aid = sample_id("huawei-removal-costs-operators")
    with classified.sessions() as session, session.begin():
        article = session.get_one(Article, aid)
        article.text = (article.text or "") + "\nUpdate: the regulator has opened a consultation."
        article.status = ArticleStatus.EXTRACTED.value
    classify_pending(classified.sessions, settings)
    with classified.sessions() as session:
        detail = article_detail(session, aid)
    assert detail is not None
    assert len(detail.revisions) == 2
    assert detail.revisions[0].seen_at <= detail.revisions[1].seen_at
    assert detail.text is not None and detail.text.endswith("opened a consultation.")
    assert detail.cluster is not None and detail.cluster.id == aid  # a story of its own
    assert [r.relation for r in detail.seed_relations] == ["follow_up"]


def test_unknown_ids_give_none(classified: Store) -> None:
    with classified.sessions() as session:
        assert article_detail(session, "missing") is None
        assert cluster_detail(session, "missing") is None


def test_filter_choices_list_outlets_and_languages(classified: Store) -> None:
    outlets = load_outlets()
    with classified.sessions() as session:
        choices = filter_choices(session)
    assert choices.outlets == sorted({outlets[s.outlet].name for s in SAMPLE.values()})
    assert choices.languages == ["en", "zh"]  # the Chinese outlet's pages are detected as zh


def test_seed_followups_list_background_before_the_seed(
    classified: Store, settings: Settings, book: ThreadBook
) -> None:
    from tests.classify.test_relate import fixture

    with classified.sessions() as session, session.begin():
        session.add(
            Article(
                id="b" * 32,
                canonical_url="https://archive.example/hk-2019",
                url="https://archive.example/hk-2019",
                status=ArticleStatus.EXTRACTED.value,
                title="UK urges restraint in Hong Kong",
                text=fixture("background_hk_2019"),
                published_at=datetime(2019, 7, 1, 10, 0, tzinfo=UTC),
                site_name="Archive Times",
                domain="archive.example",
            )
        )
    classify_pending(classified.sessions, settings)
    seed = load_seeds(settings)[0]
    with classified.sessions() as session:
        report = seed_followups(session, seed, book)
    assert [s.article_id for s in report.background] == ["b" * 32]
    listed = {s.article_id for group in report.threads for s in group.stories}
    assert "b" * 32 not in listed
