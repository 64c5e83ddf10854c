"""Views built on the stored embeddings: more like this (the lexical index as the fallback)
and the timeline's development marks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import delete

from pipeline.classify.models import ArticleEmbedding
from tests.api.conftest import SAMPLE, SEED_COPIES, Service, running_service

CORVANE = {slug for slug in SAMPLE if slug.startswith("corvane-")}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running_service("sqlite", tmp_path_factory.mktemp("similar")) as live:
        yield live


def _cluster_of(service: Service, article_id: str) -> str:
    article = service.get(f"/api/articles/{article_id}").json()
    cluster: str = article["cluster"]["id"]
    return cluster


def test_nearest_stories_by_embedding_leave_out_the_own_story(service: Service) -> None:
    own = service.ids["corvane-hailan-high-court-challenge"]
    body = service.get(f"/api/articles/{own}/similar", params={"limit": 4}).json()
    assert body["method"] == "embedding"
    found = body["articles"]
    assert len(found) == 4
    scores = [item["similarity"] for item in found]
    assert scores == sorted(scores, reverse=True) and all(-1 <= s <= 1 for s in scores)
    # The other Corvane reports are the closest in meaning, though they share few words.
    by_id = {v: k for k, v in service.ids.items()}
    assert by_id[found[0]["article"]["id"]] in CORVANE
    clusters = [item["article"]["cluster_id"] for item in found]
    assert len(set(clusters)) == len(clusters)
    assert _cluster_of(service, own) not in clusters


def test_a_seed_copy_is_not_more_like_its_own_copies(service: Service) -> None:
    own = service.ids["pompeo-grand-strategy-china"]
    body = service.get(f"/api/articles/{own}/similar", params={"limit": 10}).json()
    listed = {item["article"]["id"] for item in body["articles"]}
    assert body["method"] == "embedding" and listed
    assert not listed & service.ids_of(SEED_COPIES)


def test_without_an_embedding_the_index_answers(service: Service) -> None:
    own = service.ids["huawei-installation-ban-september-2021"]
    with service.store.sessions() as session:
        session.execute(delete(ArticleEmbedding).where(ArticleEmbedding.article_id == own))
        session.commit()
    body = service.get(f"/api/articles/{own}/similar", params={"limit": 3}).json()
    assert body["method"] == "lexical"
    assert body["articles"] and all(i["similarity"] is None for i in body["articles"])
    assert own not in {i["article"]["id"] for i in body["articles"]}


def test_unknown_article_and_bad_limit(service: Service) -> None:
    assert service.get("/api/articles/no-such-article/similar").status_code == 404
    own = service.ids["corvane-hailan-high-court-challenge"]
    assert service.get(f"/api/articles/{own}/similar", params={"limit": 0}).status_code in (
        400,
        422,
    )


def test_article_page_lists_more_like_this(service: Service) -> None:
    own = service.ids["corvane-sold-to-british-defence-group"]
    page = service.get(f"/articles/{own}").text
    assert "More like this" in page and "Closest in meaning" in page
    other = service.ids["corvane-hailan-high-court-challenge"]
    assert f'href="/articles/{other}"' in page


def test_timeline_marks_the_seeds_developments(service: Service) -> None:
    followups = service.get("/api/followups").json()
    firsts = {d["first"]["article_id"] for d in followups["developments"]}
    assert firsts
    page = service.get("/timeline", params={"interval": "week"}).text
    for first in firsts:
        assert f'href="/articles/{first}"' in page
    assert page.count('class="development-marker"') == len(firsts)
