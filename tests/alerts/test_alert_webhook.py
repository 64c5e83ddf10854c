"""Webhook deliveries to a real HTTP receiver: signature, payloads, retries, isolation, secrets."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipeline.alerts.delivery import LEASE, retry_failed
from pipeline.alerts.models import AlertDelivery
from pipeline.alerts.report import open_deliveries
from pipeline.alerts.rules import RuleBook
from pipeline.alerts.stage import deliver_pending, raise_alerts
from pipeline.config import Settings
from pipeline.store import Store, open_store
from tests.alerts.support import (
    RULE_SEEN,
    T0,
    add_article,
    book,
    deliveries,
    free_port,
    rule,
)
from tests.conftest import make_test_settings

SECRET = "hmac-key-for-tests"
TOKEN = "s3cret-token"  # the part of the webhook URL that must never be shown
STORY = "Operators must strip Huawei kit from 5G masts; Huawei says the deadline is too tight."


class Receiver:
    """Answers each POST with the next status of `statuses` (the last one repeats)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[tuple[dict[str, str], bytes, int]] = []

    def __call__(self, request: Request) -> Response:
        status = self.statuses[min(len(self.requests), len(self.statuses) - 1)]
        self.requests.append((dict(request.headers), request.get_data(), status))
        return Response("ok" if status < 300 else "broken", status=status)

    def accepted(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body, status in self.requests if status < 300]


def hook(httpserver: HTTPServer, statuses: list[int], path: str = "/hooks/desk") -> Receiver:
    receiver = Receiver(statuses)
    httpserver.expect_request(path, method="POST").respond_with_handler(receiver)
    return receiver


def webhook_book(url: str | None = None, **channel: Any) -> RuleBook:
    desk = {"type": "webhook", **({"url": url} if url else {}), **channel}
    return book(
        rule("huawei", ["Huawei"], title="Huawei", channels=["desk"]), channels={"desk": desk}
    )


def alerts_settings(tmp_path: Path, **alerts: Any) -> Settings:
    values = {"webhook_secret": SECRET, "retry_backoff_seconds": 60.0, "max_attempts": 3}
    return make_test_settings(tmp_path, alerts={**values, **alerts})


def raise_one(store: Store, settings: Settings, rules: RuleBook, title: str = "Huawei ban") -> str:
    raise_alerts(store.sessions, settings, now=RULE_SEEN, book=rules)
    first = add_article(
        store, f"https://ledger.example/{title}", STORY, title=title, outlet="Ledger"
    )
    add_article(
        store,
        f"https://wire.example/{title}",
        STORY,
        outlet="Wire",
        cluster=first,
        published=T0 + timedelta(hours=1),
    )
    raise_alerts(store.sessions, settings, now=T0, book=rules)
    return first


def test_a_signed_json_payload_is_posted(
    store: Store, tmp_path: Path, httpserver: HTTPServer
) -> None:
    receiver = hook(httpserver, [200])
    settings = alerts_settings(tmp_path)
    rules = webhook_book(httpserver.url_for(f"/hooks/desk?token={TOKEN}"))
    raise_one(store, settings, rules)

    counts = deliver_pending(store.sessions, settings, now=T0, book=rules)

    assert counts["deliveries_sent"] == 1
    ((headers, body, _),) = receiver.requests
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Newswatch-Signature"] == f"sha256={expected}"
    (delivery,) = deliveries(store)
    assert headers["X-Newswatch-Delivery"] == delivery.key
    payload = json.loads(body)
    assert payload["event"] == "alert.instant" and payload["rule"]["name"] == "huawei"
    (alert,) = payload["alerts"]
    assert alert["title"] == "Huawei ban" and alert["outlet"] == "Ledger"
    assert [c["outlet"] for c in alert["also_published_by"]] == ["Wire"]
    assert "Huawei" in alert["snippet"]


def test_the_slack_format_is_an_incoming_webhook_message(
    store: Store, tmp_path: Path, httpserver: HTTPServer
) -> None:
    receiver = hook(httpserver, [200])
    settings = alerts_settings(tmp_path)
    rules = webhook_book(httpserver.url_for("/hooks/desk"), format="slack")
    raise_one(store, settings, rules, title="Huawei <b>ban</b> & costs")

    deliver_pending(store.sessions, settings, now=T0, book=rules)

    (payload,) = receiver.accepted()
    assert payload["text"].startswith("[newswatch] Huawei: Huawei <b>ban</b>")
    section = next(b for b in payload["blocks"] if b["type"] == "section")
    assert section["text"]["type"] == "mrkdwn"
    assert "Huawei &lt;b&gt;ban&lt;/b&gt; &amp; costs" in section["text"]["text"]  # escaped
    context = next(b for b in payload["blocks"] if b["type"] == "context")
    assert "Also published by" in context["elements"][0]["text"]


def test_a_receiver_that_fails_then_recovers_gets_the_alert_exactly_once(
    store: Store, tmp_path: Path, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = hook(httpserver, [500, 200])
    settings = alerts_settings(tmp_path)
    rules = webhook_book(httpserver.url_for(f"/hooks/desk?token={TOKEN}"))
    raise_one(store, settings, rules)

    with caplog.at_level(logging.DEBUG):
        first = deliver_pending(store.sessions, settings, now=T0, book=rules)
    assert first["deliveries_retry_later"] == 1
    (delivery,) = deliveries(store)
    assert (delivery.state, delivery.attempts) == ("pending", 1)
    assert delivery.last_error is not None and "HTTP 500" in delivery.last_error
    assert delivery.next_attempt_at == T0 + timedelta(seconds=60)

    # Not due yet: nothing is sent.
    assert deliver_pending(store.sessions, settings, now=T0, book=rules).total() == 0
    later = T0 + timedelta(minutes=2)
    assert deliver_pending(store.sessions, settings, now=later, book=rules)["deliveries_sent"] == 1
    assert deliver_pending(store.sessions, settings, now=later, book=rules).total() == 0

    assert [status for _, _, status in receiver.requests] == [500, 200]
    assert len(receiver.accepted()) == 1
    keys = {headers["X-Newswatch-Delivery"] for headers, _, _ in receiver.requests}
    assert len(keys) == 1  # the retry carried the same key
    (delivery,) = deliveries(store)
    assert delivery.state == "sent" and delivery.attempts == 2
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug")]
    assert any("POST http://localhost" in line for line in ours)  # httpx's request log line
    shown = " ".join(ours) + (delivery.last_error or "")
    assert TOKEN not in shown and SECRET not in shown


def test_a_channel_that_is_down_does_not_block_the_others(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = alerts_settings(tmp_path)
    dead = f"http://127.0.0.1:{free_port()}/hooks/desk?token={TOKEN}"
    rules = book(
        rule("huawei", ["Huawei"], channels=["desk", "log"]),
        channels={"desk": {"type": "webhook", "url": dead}},
    )
    raise_alerts(store.sessions, settings, now=RULE_SEEN, book=rules)
    for n in range(3):
        add_article(store, f"https://ledger.example/{n}", f"Story {n}. {STORY}")
    raise_alerts(store.sessions, settings, now=T0, book=rules)

    with caplog.at_level(logging.INFO, logger="newswatch.alerts"):
        counts = deliver_pending(store.sessions, settings, now=T0, book=rules)

    # One attempt on the dead webhook, then its other deliveries wait for the next run.
    assert counts["deliveries_retry_later"] == 1 and counts["deferred_channel_down"] == 2
    assert counts["deliveries_sent"] == 3
    states = sorted((d.channel, d.state, d.attempts) for d in deliveries(store))
    assert states == [
        ("desk", "pending", 0),
        ("desk", "pending", 0),
        ("desk", "pending", 1),
        ("log", "sent", 1),
        ("log", "sent", 1),
        ("log", "sent", 1),
    ]
    failed = next(d for d in deliveries(store) if d.attempts == 1 and d.channel == "desk")
    assert failed.last_error is not None and failed.last_error.startswith("http://127.0.0.1:")
    assert TOKEN not in failed.last_error and "/hooks" not in failed.last_error


def test_after_max_attempts_a_delivery_is_parked_and_can_be_retried(
    store: Store, tmp_path: Path, httpserver: HTTPServer
) -> None:
    receiver = hook(httpserver, [503, 503, 503, 200])
    settings = alerts_settings(tmp_path, retry_backoff_seconds=0.0)
    rules = webhook_book(httpserver.url_for("/hooks/desk"))
    raise_one(store, settings, rules)

    outcomes = [deliver_pending(store.sessions, settings, now=T0, book=rules) for _ in range(4)]

    assert [sorted(o.elements()) for o in outcomes] == [
        ["deliveries_retry_later"],
        ["deliveries_retry_later"],
        ["deliveries_failed"],
        [],  # parked: not tried again
    ]
    (parked,) = open_deliveries(store.sessions)
    assert (parked.state, parked.attempts, parked.last_error) == (
        "failed",
        3,
        f"http://{httpserver.host}:{httpserver.port}/…: HTTP 503",
    )
    assert retry_failed(store.sessions, T0) == 1
    assert deliver_pending(store.sessions, settings, now=T0, book=rules)["deliveries_sent"] == 1
    assert len(receiver.accepted()) == 1 and open_deliveries(store.sessions) == []


def test_the_url_may_come_from_the_environment(
    store: Store, tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = hook(httpserver, [200])
    settings = alerts_settings(tmp_path)
    rules = webhook_book(url_env="NEWSWATCH_TEST_WEBHOOK_DESK")
    raise_one(store, settings, rules)
    monkeypatch.delenv("NEWSWATCH_TEST_WEBHOOK_DESK", raising=False)

    deliver_pending(store.sessions, settings, now=T0, book=rules)
    (delivery,) = deliveries(store)
    assert delivery.last_error == (
        "environment variable NEWSWATCH_TEST_WEBHOOK_DESK (webhook URL) is not set"
    )

    monkeypatch.setenv("NEWSWATCH_TEST_WEBHOOK_DESK", httpserver.url_for(f"/hooks/desk?t={TOKEN}"))
    later = T0 + timedelta(minutes=5)
    assert deliver_pending(store.sessions, settings, now=later, book=rules)["deliveries_sent"] == 1
    assert len(receiver.accepted()) == 1


def test_webhooks_go_through_the_fetchers_ssrf_guard(store: Store, tmp_path: Path) -> None:
    settings = alerts_settings(tmp_path)  # allows 127.0.0.0/8 only
    rules = webhook_book(f"http://10.23.45.67/hooks/desk?token={TOKEN}")
    raise_one(store, settings, rules)

    deliver_pending(store.sessions, settings, now=T0, book=rules)

    (delivery,) = deliveries(store)
    assert delivery.state == "pending" and delivery.last_error is not None
    assert "10.23.45.67 is private" in delivery.last_error and TOKEN not in delivery.last_error


def test_a_sender_that_died_mid_send_leaves_the_delivery_to_be_sent_after_its_lease(
    store: Store, tmp_path: Path, httpserver: HTTPServer
) -> None:
    receiver = hook(httpserver, [200])
    settings = alerts_settings(tmp_path)
    rules = webhook_book(httpserver.url_for("/hooks/desk"))
    raise_one(store, settings, rules)
    with store.sessions() as session, session.begin():  # what a crashed sender leaves behind
        (delivery,) = session.query(AlertDelivery).all()
        delivery.attempts, delivery.next_attempt_at = 1, T0 + LEASE

    assert deliver_pending(store.sessions, settings, now=T0, book=rules).total() == 0
    after = T0 + LEASE + timedelta(seconds=1)
    assert deliver_pending(store.sessions, settings, now=after, book=rules)["deliveries_sent"] == 1
    assert len(receiver.accepted()) == 1


def test_concurrent_senders_send_each_delivery_once(
    store_url: str, tmp_path: Path, httpserver: HTTPServer
) -> None:
    receiver = hook(httpserver, [200])
    settings = alerts_settings(tmp_path)
    rules = webhook_book(httpserver.url_for("/hooks/desk"))
    stores = [open_store(store_url) for _ in range(3)]
    raise_alerts(stores[0].sessions, settings, now=RULE_SEEN, book=rules)
    for n in range(8):
        add_article(stores[0], f"https://ledger.example/{n}", f"Story {n}. {STORY}")
    raise_alerts(stores[0].sessions, settings, now=T0, book=rules)
    barrier = threading.Barrier(len(stores))
    totals: list[Counter[str]] = []

    def send(which: Store) -> None:
        barrier.wait()
        totals.append(deliver_pending(which.sessions, settings, now=T0, book=rules))

    threads = [threading.Thread(target=send, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    keys = Counter(headers["X-Newswatch-Delivery"] for headers, _, _ in receiver.requests)
    assert len(keys) == 8 and set(keys.values()) == {1}
    assert sum(t["deliveries_sent"] for t in totals) == 8
    assert {d.state for d in deliveries(stores[0])} == {"sent"}
    for opened in stores:
        opened.dispose()
