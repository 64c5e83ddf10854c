"""Same-event story clusters across languages, through the real classify stage and the real
embedding model, on SQLite and PostgreSQL.

The fixtures are one fictional event (a sale ordered under the investment-screening law)
reported in English and in Chinese, and a Chinese report of another decision of the same
day on the same subject (a Chinese-owned buyer cleared, with conditions)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from pipeline.classify.models import StoryCluster
from pipeline.classify.stage import classify_pending
from pipeline.config import Settings
from pipeline.store import Store
from tests.classify.support import T0, add_article, get

FIXTURES = Path(__file__).parent.parent / "fixtures" / "dedup"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def add_reports(store: Store, english_first: bool) -> tuple[str, str, str]:
    """(English report, Chinese report of the same event, Chinese report of another)."""
    english_at, chinese_at = (T0, T0 + timedelta(hours=5))
    if not english_first:
        english_at, chinese_at = chinese_at, english_at
    english = add_article(
        store,
        "https://ledger.example/celyn-order",
        fixture("battery_order_en.txt"),
        outlet="Westminster Ledger",
        published=english_at,
        title="Ministers order Chinese-owned group to sell Swansea battery maker stake",
    )
    chinese = add_article(
        store,
        "https://huanqiu-kuaixun.example/celyn",
        fixture("battery_order_zh.txt"),
        outlet="环球时事快讯",
        published=chinese_at,
        title="英国以国家安全为由要求中资企业出售电池企业股份",
    )
    other = add_article(
        store,
        "https://caijing-ribao.example/derby-signalling",
        fixture("signalling_cleared_zh.txt"),
        outlet="科技财经日报",
        published=T0 + timedelta(hours=6),  # the last of the three to be classified
        title="英国附条件批准中资企业收购德比铁路信号公司",
    )
    return english, chinese, other


@pytest.mark.parametrize("english_first", [True, False], ids=["english-first", "chinese-first"])
def test_english_and_chinese_reports_of_one_event_share_a_story_cluster(
    store: Store, settings: Settings, english_first: bool
) -> None:
    english, chinese, _ = add_reports(store, english_first)

    counts = classify_pending(store.sessions, settings)

    first = english if english_first else chinese
    assert get(store, english).cluster_id == get(store, chinese).cluster_id == first
    assert counts["same_event_joins"] == 1
    with store.sessions() as session:
        cluster = session.get_one(StoryCluster, first)
        assert cluster.size == 2
        assert set(cluster.outlets) == {"Westminster Ledger", "环球时事快讯"}


def test_a_chinese_report_of_another_same_day_decision_stays_apart(
    store: Store, settings: Settings
) -> None:
    english, _, other = add_reports(store, english_first=True)

    classify_pending(store.sessions, settings)

    assert get(store, other).cluster_id == other
    assert get(store, other).cluster_id != get(store, english).cluster_id


def test_a_story_is_joined_across_languages_only_by_its_closest_report(
    store: Store, settings: Settings
) -> None:
    """With the bar lowered to let anything through, the Chinese report of the other
    decision would join the English story; the English story's own Chinese report is
    closer to it, so the match is not mutual and the other report stays apart."""
    english, chinese, other = add_reports(store, english_first=True)
    lax = settings.model_copy(
        update={"dedup": settings.dedup.model_copy(update={"event_cross_lingual_threshold": 0.01})}
    )

    classify_pending(store.sessions, lax)

    assert get(store, chinese).cluster_id == english
    assert get(store, other).cluster_id == other
