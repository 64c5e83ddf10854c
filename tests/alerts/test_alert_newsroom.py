"""End to end on the sample newsroom: the whole pipeline over real HTTP, with the shipped rules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from sqlalchemy import select

from pipeline.alerts.models import Alert, AlertArticle
from pipeline.alerts.notifiers.atom import feed_path
from pipeline.alerts.report import alerts_report
from pipeline.demo.server import NewsroomServer
from pipeline.index.factory import open_index
from pipeline.runs.runner import run_pipeline
from pipeline.store import Store
from pipeline.store.models import Article
from pipeline.urls import article_id, canonical_url
from tests.conftest import make_test_settings


@pytest.fixture(scope="module")
def newsroom() -> Iterator[NewsroomServer]:
    with NewsroomServer(slow_seconds=2.0) as server:
        yield server


@pytest.mark.slow
def test_one_alert_per_huawei_story_listing_every_outlet_and_none_for_hkex(
    tmp_path: Path, newsroom: NewsroomServer, store: Store
) -> None:
    feeds = [{"name": name, "url": url} for name, url in newsroom.feed_urls().items()]
    settings = make_test_settings(tmp_path, feeds=feeds)
    backend = open_index(settings)
    backend.ensure_ready()

    summary = run_pipeline(store.sessions, settings, backend)

    assert summary.state == "succeeded"
    assert summary.stage_counts["alerts"]["alerts_raised"] > 0
    with store.sessions() as session:
        cluster_of = {a.id: a.cluster_id for a in session.scalars(select(Article))}
        members: dict[str | None, set[str]] = {}
        for article in session.scalars(select(Article).where(Article.cluster_id.is_not(None))):
            members.setdefault(article.cluster_id, set()).add(article.outlet)
        raised = list(session.scalars(select(Alert)))
        attached = set(session.scalars(select(AlertArticle.article_id)))

    def cluster(slug: str) -> str | None:
        spec = next(s for s in newsroom.manifest() if s.slug == slug)
        return cluster_of[article_id(canonical_url(spec.url))]

    # The newsroom labels exactly the stories about Huawei with the huawei-5g thread.
    about_huawei = {
        cluster(s.slug)
        for s in newsroom.manifest()
        if "huawei-5g" in s.threads and s.kind != "stub"
    }
    huawei = [a for a in raised if a.rule_name == "huawei"]
    # One alert per story: the alerted clusters are exactly the Huawei stories, none twice.
    assert sorted(a.cluster_id for a in huawei) == sorted(c or "" for c in about_huawei)
    seed_story = cluster("pompeo-grand-strategy-china")
    report = {(r.rule, r.url): r for r in alerts_report(store.sessions)}
    seed_alert = next(a for a in huawei if a.cluster_id == seed_story)
    outlets = report[("huawei", seed_alert.url)].outlets
    assert len(members[seed_story]) >= 4
    assert set(outlets) == members[seed_story]  # every copy's outlet is listed

    lumora = cluster("lumora-biotech-hkex-debut")
    assert lumora not in {a.cluster_id for a in raised}
    lumora_id = article_id(canonical_url(newsroom.article_url("lumora-biotech-hkex-debut")))
    assert lumora_id not in attached
    phone_review = cluster("aster-x3-phone-review")  # mentions Huawei once, in passing
    assert phone_review not in {a.cluster_id for a in huawei}

    parsed = feedparser.parse(feed_path(settings.data_dir, "huawei").read_bytes())
    assert not parsed.bozo
    assert len(parsed.entries) == len(huawei)

    # A second run finds nothing new and sends nothing.
    again = run_pipeline(store.sessions, settings, backend)
    assert again.stage_counts["alerts"] == {}
