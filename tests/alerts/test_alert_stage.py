"""The alerts stage over real stores: once per story, only new coverage, idempotent, concurrent."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from pipeline.alerts.delivery import window
from pipeline.alerts.models import AlertDelivery, AlertDeliveryItem
from pipeline.alerts.stage import deliver_pending, raise_alerts
from pipeline.config import Settings
from pipeline.store import Store, open_store
from tests.alerts.support import (
    RULE_SEEN,
    T0,
    add_article,
    alerts,
    book,
    copies,
    deliveries,
    revise,
    rule,
)

HUAWEI_STORY = (
    "Britain's mobile operators are counting the cost of removing Huawei equipment from their "
    "5G networks. Engineers are auditing every mast that carries Huawei radio gear before the "
    "2027 deadline, and the two remaining vendors face a queue of customers."
)
TEASER = "Operators tally the bill for stripping Huawei kit out of 5G networks. Read more."
HKEX_STORY = (
    "Shares in Lumora Biotech rose by a third on their first day of trading on HKEX after the "
    "cancer-drug developer raised US$310m. Several biotech names listed on HKEX this year are "
    "trading well above their offer prices."
)
RULES = book(
    rule("huawei", ["Huawei", "Huawei Technologies"], min_mentions=2, channels=["log", "atom"]),
    rule("hong-kong", ["Hong Kong", "Hongkong", "HK", "HKSAR"]),
)


def registered(store: Store, settings: Settings) -> None:
    """The rules are first seen a day before the coverage arrives."""
    raise_alerts(store.sessions, settings, now=RULE_SEEN, book=RULES)


def test_a_story_alerts_once_however_many_copies_and_revisions(
    store: Store, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    registered(store, settings)
    first = add_article(store, "https://ledger.example/huawei", HUAWEI_STORY, outlet="Ledger")
    add_article(
        store,
        "https://courier.example/huawei-copy",
        HUAWEI_STORY,
        outlet="Courier",
        cluster=first,
        published=T0 + timedelta(hours=1),
    )
    teaser = add_article(
        store,
        "https://wire.example/teaser",
        TEASER,
        outlet="Wire",
        cluster=first,
        published=T0 + timedelta(hours=2),
    )

    counts = raise_alerts(store.sessions, settings, now=T0, book=RULES)

    (alert,) = alerts(store)
    assert (alert.rule_name, alert.cluster_id, alert.article_id) == ("huawei", first, first)
    assert counts["alerts_raised"] == 1 and counts["articles_scanned"] == 3
    attached = copies(store, alert.id)
    assert {row.outlet for row in attached.values()} == {"Ledger", "Courier", "Wire"}
    assert attached[teaser].mentions == 1  # below min_mentions, but the same story
    assert sorted(d.channel for d in deliveries(store)) == ["atom", "log"]

    with caplog.at_level(logging.INFO, logger="newswatch.alerts"):
        sent = deliver_pending(store.sessions, settings, now=T0, book=RULES)
    assert sent["deliveries_sent"] == 2
    (line,) = [r.getMessage() for r in caplog.records if r.name == "newswatch.alerts"]
    assert "[huawei]" in line and "Ledger" in line and "also: Courier, Wire" in line

    # A fourth copy and a revision of the first, in a later run: added, nothing sent.
    add_article(
        store,
        "https://albion.example/huawei",
        HUAWEI_STORY,
        outlet="Albion",
        cluster=first,
        discovered=T0 + timedelta(hours=3),
    )
    revise(store, first, HUAWEI_STORY + " UPDATE: Huawei declined to comment.")
    later = T0 + timedelta(hours=4)
    counts = raise_alerts(store.sessions, settings, now=later, book=RULES)

    assert counts["alerts_raised"] == 0
    assert counts["copies_added"] == 1 and counts["copies_revised"] == 1
    (alert,) = alerts(store)
    assert alert.updated_at == later and alert.mentions == 3
    assert len(copies(store, alert.id)) == 4
    assert len(deliveries(store)) == 2
    assert deliver_pending(store.sessions, settings, now=later, book=RULES).total() == 0

    # Nothing waits any more.
    assert raise_alerts(store.sessions, settings, now=later, book=RULES).total() == 0


def test_coverage_older_than_the_rule_never_alerts(store: Store, settings: Settings) -> None:
    registered(store, settings)
    add_article(
        store,
        "https://ledger.example/old",
        HUAWEI_STORY,
        discovered=RULE_SEEN - timedelta(days=30),
    )
    grace = settings.alerts.new_rule_grace_minutes
    in_grace = add_article(
        store,
        "https://ledger.example/same-run",
        HUAWEI_STORY.replace("Britain's", "The UK's"),
        discovered=RULE_SEEN - timedelta(minutes=grace / 2),
    )

    counts = raise_alerts(store.sessions, settings, now=T0, book=RULES)

    assert counts["older_than_rule"] == 1
    assert [a.article_id for a in alerts(store)] == [in_grace]


def test_a_story_that_only_names_hkex_raises_nothing(store: Store, settings: Settings) -> None:
    registered(store, settings)
    add_article(store, "https://ledger.example/lumora", HKEX_STORY, title="Lumora on HKEX")
    counts = raise_alerts(store.sessions, settings, now=T0, book=RULES)
    assert counts["articles_scanned"] == 1
    assert alerts(store) == [] and deliveries(store) == []


def test_filters_decide_whether_a_story_fires_not_which_copies_are_listed(
    store: Store, settings: Settings
) -> None:
    rules = book(rule("huawei", ["Huawei"], filters={"sources": ["ledger.example"]}))
    raise_alerts(store.sessions, settings, now=RULE_SEEN, book=rules)
    elsewhere = add_article(store, "https://wire.example/h", HUAWEI_STORY, outlet="Wire")
    raise_alerts(store.sessions, settings, now=T0, book=rules)
    assert alerts(store) == []

    add_article(store, "https://ledger.example/h", HUAWEI_STORY, outlet="Ledger", cluster=elsewhere)
    raise_alerts(store.sessions, settings, now=T0 + timedelta(hours=1), book=rules)
    (alert,) = alerts(store)
    assert alert.outlet == "Ledger"
    assert {c.outlet for c in copies(store, alert.id).values()} == {"Wire", "Ledger"}


def test_digest_rules_collect_alerts_and_send_one_message_per_closed_window(
    store: Store, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    rules = book(rule("huawei", ["Huawei"], delivery="daily"))
    raise_alerts(store.sessions, settings, now=RULE_SEEN, book=rules)
    add_article(store, "https://ledger.example/1", HUAWEI_STORY, title="Operators count cost")
    add_article(store, "https://wire.example/2", "Huawei loses a contract.", title="Contract lost")
    raise_alerts(store.sessions, settings, now=T0, book=rules)
    assert len(alerts(store)) == 2 and deliveries(store) == []

    same_day = deliver_pending(store.sessions, settings, now=T0 + timedelta(hours=2), book=rules)
    assert same_day.total() == 0 and deliveries(store) == []

    next_day = T0 + timedelta(days=1)
    with caplog.at_level(logging.INFO, logger="newswatch.alerts"):
        counts = deliver_pending(store.sessions, settings, now=next_day, book=rules)
    assert counts["digests_planned"] == 1 and counts["deliveries_sent"] == 1
    (digest,) = deliveries(store)
    assert digest.kind == "digest" and digest.window_start == T0.replace(hour=0)
    lines = [r.getMessage() for r in caplog.records if r.name == "newswatch.alerts"]
    assert len(lines) == 2 and all("daily digest 2024-05-06" in line for line in lines)
    assert deliver_pending(store.sessions, settings, now=next_day, book=rules).total() == 0


@pytest.mark.postgres
def test_concurrent_runs_raise_each_story_once(postgres_store_url: str, settings: Settings) -> None:
    """Two runs at once over stories with three copies and a revision each, on PostgreSQL."""
    stores = [open_store(postgres_store_url) for _ in range(2)]
    store = stores[0]
    registered(store, settings)
    firsts = []
    for n in range(6):
        text = f"Story {n}: " + HUAWEI_STORY
        first = add_article(store, f"https://ledger.example/{n}", text, outlet="Ledger")
        firsts.append(first)
        for outlet in ("Courier", "Wire"):
            add_article(
                store, f"https://{outlet.lower()}.example/{n}", text, outlet=outlet, cluster=first
            )
    # Many small transactions, to interleave.
    one_at_a_time = settings.model_copy(
        update={"alerts": settings.alerts.model_copy(update={"batch_size": 1})}
    )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(which: Store) -> None:
        try:
            barrier.wait()
            raise_alerts(which.sessions, one_at_a_time, now=T0, book=RULES)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for first in firsts:
        revise(store, first, f"Revised: {HUAWEI_STORY}")
    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    barrier.reset()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    raised = alerts(store)
    assert sorted(a.cluster_id for a in raised) == sorted(firsts)
    for alert in raised:
        assert {c.outlet for c in copies(store, alert.id).values()} == {"Ledger", "Courier", "Wire"}
    with store.sessions() as session:
        per_alert = session.execute(
            select(AlertDeliveryItem.alert_id, func.count())
            .join(AlertDelivery, AlertDelivery.id == AlertDeliveryItem.delivery_id)
            .group_by(AlertDeliveryItem.alert_id)
        ).all()
    assert sorted(n for _, n in per_alert) == [2] * 6  # log + atom, once each
    for opened in stores:
        opened.dispose()


def test_digest_windows_are_utc_days_and_iso_weeks() -> None:
    sunday_night = T0 + timedelta(days=6, hours=14, minutes=59)  # T0 is Monday 09:00 UTC
    assert window("daily", sunday_night) == (
        T0.replace(hour=0) + timedelta(days=6),
        T0.replace(hour=0) + timedelta(days=7),
    )
    assert window("weekly", sunday_night) == (
        T0.replace(hour=0),
        T0.replace(hour=0) + timedelta(days=7),
    )
