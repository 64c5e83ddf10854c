"""Both sides of the story (issue #16) on the demo newsroom, run as `newswatch demo` runs it
(its settings, both seeds, the backfill), on SQLite and PostgreSQL, then served.

The Huawei installation deadline (30 November 2020) is reported by a UK paper (Northgate
Courier, feed perspective `uk`), a Chinese state agency's English service (Huaxia, `china`)
and a Chinese-language daily (江畔日报, in GB18030, `international`): the demo shows it as
one development from both perspectives in both languages, 华为 finds the Chinese reports,
and the huawei alert fires once for the story.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from pipeline.alerts.models import Alert
from pipeline.api.app import create_app
from pipeline.classify.seeds import load_seeds
from pipeline.classify.threads import load_thread_book
from pipeline.cli.run import print_both_sides
from pipeline.config import Settings
from pipeline.demo.command import demo_backfill, demo_settings
from pipeline.demo.server import NewsroomServer
from pipeline.index.factory import open_index
from pipeline.runs.runner import run_pipeline
from pipeline.search.perspectives import both_sides
from pipeline.search.reports import seed_followups
from pipeline.store import Store, open_store
from pipeline.store.models import Article
from pipeline.urls import article_id, canonical_url
from tests.api.conftest import SAMPLE, ServerThread
from tests.conftest import make_test_settings, postgres_schema, postgres_url

UK, CHINA, CHINESE = (
    "huawei-installation-ban-september-2021",
    "huaxia-huawei-installation-deadline",
    "zh-huawei-installation-ban-brought-forward",
)
DEADLINE = (UK, CHINA, CHINESE)


@dataclass
class Demo:
    settings: Settings
    store: Store
    http: httpx.Client
    ids: dict[str, str]  # sample slug -> article id

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params)

    def json(self, path: str, **params: Any) -> Any:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    tmp_path = tmp_path_factory.mktemp(f"both-sides-{request.param}")
    with ExitStack() as stack:
        if request.param == "sqlite":
            store_url = f"sqlite:///{tmp_path / 'store.db'}"
        else:
            base = postgres_url()
            if base is None:
                pytest.skip("PostgreSQL is not reachable")
            store_url = stack.enter_context(postgres_schema(base))
        newsroom = stack.enter_context(NewsroomServer(slow_seconds=0.1))
        settings = demo_settings(make_test_settings(tmp_path), newsroom)
        store = open_store(store_url)
        stack.callback(store.dispose)
        backend = open_index(settings)
        backend.ensure_ready()
        assert run_pipeline(store.sessions, settings, backend).state == "succeeded"
        demo_backfill(store.sessions, settings, backend)
        assert run_pipeline(store.sessions, settings, backend).state == "succeeded"  # idempotent
        server = stack.enter_context(ServerThread(create_app(settings, store, backend)))
        http = stack.enter_context(httpx.Client(base_url=server.url, timeout=30))
        ids = {a.slug: article_id(canonical_url(a.url)) for a in newsroom.manifest()}
        yield Demo(settings, store, http, ids)


def test_demo_shows_one_development_from_both_perspectives_in_both_languages(
    demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    with demo.store.sessions() as session:
        seed = load_seeds(demo.settings)[0]
        report = seed_followups(session, seed, load_thread_book(None))
    development = both_sides(report.developments)
    assert development is not None
    by_side = {s.perspective: {r.article_id for r in s.reports} for s in development.sides}
    assert demo.ids[UK] in by_side["uk"]
    assert demo.ids[CHINA] in by_side["china"]
    assert demo.ids[CHINESE] in by_side["international"]  # the daily's feed is not official
    assert development.languages == ["en", "zh"]

    print_both_sides(demo.store, demo.settings)
    out = capsys.readouterr().out
    assert "One development, both sides and both languages" in out
    for outlet in ("Northgate", "Huaxia", "江畔日报"):  # long names wrap in a narrow table
        assert outlet in out
    assert "2020-11-30" in out and "2020-12-01" in out
    assert "UK outlets" in out and "official media" in out


def test_searching_huawei_in_chinese_on_the_web_page_finds_the_chinese_reports(
    demo: Demo,
) -> None:
    page = demo.get("/search", q="华为")
    assert page.status_code == 200
    chinese = [s for s in SAMPLE.values() if s.language == "zh" and "华为" in s.text]
    assert len(chinese) >= 2
    for spec in chinese:
        assert f'href="/articles/{demo.ids[spec.slug]}" lang="zh"' in page.text
    assert "<mark>华为</mark>" in page.text


def test_the_huawei_alert_fires_once_for_the_story(demo: Demo) -> None:
    with demo.store.sessions() as session:
        clusters = {
            session.get(Article, demo.ids[slug]).cluster_id  # type: ignore[union-attr]
            for slug in DEADLINE
        }
        alerts = session.scalars(
            select(Alert).where(Alert.rule_name == "huawei", Alert.cluster_id.in_(clusters))
        ).all()
    # one story: the three reports of the event are one cluster, and it raised one alert
    # (the pipeline ran twice, and the Chinese report matched 华为, not "Huawei")
    assert len(clusters) == 1
    assert len(alerts) == 1


def test_followups_show_each_development_side_by_side(demo: Demo) -> None:
    body = demo.json("/api/followups")
    development = next(d for d in body["developments"] if demo.ids[CHINA] in _reports(d, "china"))
    assert [s["perspective"] for s in development["sides"]] == ["uk", "china", "international"]
    assert [s["label"] for s in development["sides"]] == [
        "UK outlets",
        "Chinese official media",
        "Others",
    ]
    assert demo.ids[UK] in _reports(development, "uk")
    assert demo.ids[CHINESE] in _reports(development, "international")
    report = next(
        r for s in development["sides"] for r in s["reports"] if r["article_id"] == demo.ids[CHINA]
    )
    assert (report["language"], report["perspective"]) == ("en", "china")
    assert report["outlet"] == "Huaxia News Agency" and report["published_at"]

    page = demo.get("/followups")
    assert page.status_code == 200
    assert page.text.count('class="sides"') == len(body["developments"])
    assert 'aria-label="Filter the follow-ups"' in page.text
    assert f'href="/articles/{demo.ids[CHINESE]}" lang="zh"' in page.text


@pytest.mark.parametrize(
    ("params", "admits"),
    [
        ({"lang": "zh"}, lambda r: r["language"] == "zh"),
        ({"perspective": "china"}, lambda r: r["perspective"] == "china"),
        (
            {"perspective": "uk", "lang": "en"},
            lambda r: (r["perspective"], r["language"]) == ("uk", "en"),
        ),
    ],
)
def test_followups_filter_by_language_and_perspective(
    demo: Demo, params: dict[str, str], admits: Any
) -> None:
    everything = demo.json("/api/followups")
    narrowed = demo.json("/api/followups", **params)
    reports = [r for d in narrowed["developments"] for s in d["sides"] for r in s["reports"]]
    assert reports and all(admits(r) for r in reports)
    expected = {
        r["article_id"]
        for d in everything["developments"]
        for s in d["sides"]
        for r in s["reports"]
        if admits(r)
    }
    assert {r["article_id"] for r in reports} == expected
    stories = {s["cluster_id"] for g in narrowed["threads"] for s in g["stories"]}
    assert stories == {s["cluster_id"] for d in narrowed["developments"] for s in d["stories"]}
    assert stories < {s["cluster_id"] for g in everything["threads"] for s in g["stories"]}
    page = demo.get("/followups", **params)
    assert page.status_code == 200 and "Show all" in page.text


def test_a_bad_perspective_is_a_400_everywhere(demo: Demo) -> None:
    for path in ("/api/followups", "/api/search", "/followups", "/search"):
        response = demo.get(path, perspective="beijing")
        assert response.status_code == 400, path
        assert "perspective must be one of uk, china, international" in response.text


def test_search_filters_by_perspective(demo: Demo) -> None:
    with demo.store.sessions() as session:
        china = set(
            session.scalars(
                select(Article.id).where(
                    Article.perspective == "china", Article.index_state == "indexed"
                )
            )
        )
    assert demo.ids[CHINA] in china
    body = demo.json("/api/search", perspective="china", collapse="false", limit=100)
    assert {h["article_id"] for h in body["hits"]} == china
    assert all(h["perspective"] == "china" for h in body["hits"])
    huawei = demo.json("/api/search", q="华为 OR huawei", perspective="uk", lang="en", limit=100)
    assert demo.ids[UK] in {h["article_id"] for h in huawei["hits"]}
    assert all(h["perspective"] == "uk" for h in huawei["hits"])
    page = demo.get("/search", q="huawei", perspective="china")
    assert page.status_code == 200 and "Chinese official media" in page.text
    assert '<option value="china" selected>' in page.text


def test_article_page_links_the_other_languages_and_perspectives(demo: Demo) -> None:
    sides = demo.json(f"/api/articles/{demo.ids[UK]}/other-sides")
    linked = {r["article_id"]: r for r in [*sides["same_story"], *sides["same_development"]]}
    assert {demo.ids[CHINA], demo.ids[CHINESE]} <= linked.keys()
    assert demo.ids[UK] not in linked
    assert all(
        (r["language"], r["perspective"]) != ("en", "uk") for r in linked.values()
    )  # only other languages or perspectives
    page = demo.get(f"/articles/{demo.ids[UK]}")
    assert "Other languages and perspectives" in page.text
    assert "zh · international · 江畔日报 · " in page.text
    assert "en · Chinese official media · Huaxia News Agency · " in page.text
    assert demo.get("/api/articles/0000/other-sides").status_code == 404


def _reports(development: dict[str, Any], perspective: str) -> set[str]:
    side = next(s for s in development["sides"] if s["perspective"] == perspective)
    return {r["article_id"] for r in side["reports"]}
