"""One alert per story across languages: a Chinese report and a later English report of one
event go through the real classify stage (real embeddings) into one story cluster, and the
shipped Huawei watch (华为 among its aliases) tells a real webhook receiver once.
SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from pytest_httpserver import HTTPServer

from pipeline.alerts.rules import load_rules
from pipeline.alerts.stage import deliver_pending, raise_alerts
from pipeline.classify.stage import classify_pending
from pipeline.store import Store
from tests.alerts.support import alerts, book, copies, rule
from tests.classify.support import T0, add_article, get
from tests.conftest import make_test_settings

FIXTURES = Path(__file__).parent.parent / "fixtures" / "dedup"


def test_a_chinese_and_an_english_report_of_one_event_alert_once(
    store: Store, tmp_path: Path, httpserver: HTTPServer
) -> None:
    settings = make_test_settings(tmp_path)
    shipped = next(r for r in load_rules(settings.alerts).rules if r.name == "huawei")
    assert "华为" in shipped.terms
    rules = book(
        rule("huawei", list(shipped.terms), min_mentions=shipped.min_mentions, channels=["desk"]),
        channels={"desk": {"type": "webhook", "url": httpserver.url_for("/hooks/desk")}},
    )
    httpserver.expect_request("/hooks/desk", method="POST").respond_with_data("ok")
    raise_alerts(store.sessions, settings, now=T0 - timedelta(days=1), book=rules)

    chinese = add_article(
        store,
        "https://huanqiu-kuaixun.example/northlink-fine",
        (FIXTURES / "huawei_fine_zh.txt").read_text(encoding="utf-8"),
        outlet="环球时事快讯",
        published=T0,
        title="英国通信管理局就华为设备拆除延误对运营商罚款",
    )
    classify_pending(store.sessions, settings)
    first = raise_alerts(store.sessions, settings, now=T0 + timedelta(hours=1), book=rules)
    deliver_pending(store.sessions, settings, now=T0 + timedelta(hours=1), book=rules)

    english = add_article(
        store,
        "https://ledger.example/northlink-fine",
        (FIXTURES / "huawei_fine_en.txt").read_text(encoding="utf-8"),
        outlet="Westminster Ledger",
        published=T0 + timedelta(hours=4),
        discovered=T0 + timedelta(hours=4),
        title="Regulator fines Northlink £2.1m over late removal of Huawei kit",
    )
    classify_pending(store.sessions, settings)
    second = raise_alerts(store.sessions, settings, now=T0 + timedelta(hours=5), book=rules)
    deliver_pending(store.sessions, settings, now=T0 + timedelta(hours=5), book=rules)

    assert get(store, english).cluster_id == get(store, chinese).cluster_id == chinese
    assert first["alerts_raised"] == 1
    assert second.get("alerts_raised", 0) == 0 and second["copies_added"] == 1
    (alert,) = alerts(store)
    assert alert.cluster_id == chinese and alert.article_id == chinese
    assert set(copies(store, alert.id)) == {chinese, english}
    (request, _response), *more = httpserver.log
    assert not more  # one message for the story, in whichever language it broke
    payload = json.loads(request.get_data())
    (sent,) = payload["alerts"]
    assert sent["outlet"] == "环球时事快讯" and "华为" in sent["snippet"]
