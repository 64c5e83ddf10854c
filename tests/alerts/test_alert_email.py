"""Email deliveries to a real SMTP server (aiosmtpd): STARTTLS, AUTH, bodies, digests, outages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from pipeline.alerts.rules import RuleBook
from pipeline.alerts.stage import deliver_pending, raise_alerts, send_digests
from pipeline.config import Settings
from pipeline.store import Store
from tests.alerts.support import (
    RULE_SEEN,
    T0,
    Credentials,
    Inbox,
    ThrowawayCA,
    add_article,
    book,
    deliveries,
    free_port,
    make_ca,
    rule,
    smtp_server,
)
from tests.conftest import make_test_settings

RECIPIENTS = ["desk@newsroom.example", "editor@newsroom.example"]
LOGIN = Credentials("alerts-bot", "correct horse battery staple")
STORY = "Operators must strip Huawei kit from 5G masts; Huawei says the deadline is too tight."


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> ThrowawayCA:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def secure_smtp(port: int, inbox: Inbox, ca: ThrowawayCA) -> Iterator[None]:
    with smtp_server(port, inbox, tls=ca.server_context, credentials=LOGIN):
        yield


def email_settings(
    tmp_path: Path, port: int, ca: ThrowawayCA, password: str = LOGIN.password
) -> Settings:
    smtp = {
        "host": "127.0.0.1",
        "port": port,
        "starttls": True,
        "username": LOGIN.username,
        "password": password,
        "ca_file": str(ca.ca_file),
        "sender": "newswatch@alerts.example",
        "timeout_seconds": 5.0,
    }
    return make_test_settings(tmp_path, alerts={"smtp": smtp, "retry_backoff_seconds": 60.0})


def email_book(**fields: Any) -> RuleBook:
    return book(
        rule("huawei", ["Huawei"], title="Huawei", channels=["editors"], **fields),
        channels={"editors": {"type": "email", "to": RECIPIENTS}},
    )


def bodies(message: EmailMessage) -> tuple[str, str]:
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    text, markup = plain.get_content(), html.get_content()
    return text.replace("\r\n", "\n"), markup


def test_an_instant_alert_is_one_email_with_plain_and_html_parts(
    store: Store, tmp_path: Path, port: int, inbox: Inbox, ca: ThrowawayCA, secure_smtp: None
) -> None:
    settings = email_settings(tmp_path, port, ca)
    rules = email_book()
    raise_alerts(store.sessions, settings, now=RULE_SEEN, book=rules)
    first = add_article(
        store, "https://ledger.example/ban", STORY, title="Huawei <ban> costs", outlet="Ledger"
    )
    add_article(
        store,
        "https://wire.example/ban",
        STORY,
        outlet="Wire",
        cluster=first,
        published=T0 + timedelta(hours=1),
    )
    raise_alerts(store.sessions, settings, now=T0, book=rules)

    counts = deliver_pending(store.sessions, settings, now=T0, book=rules)

    assert counts["deliveries_sent"] == 1
    (message,) = inbox.messages
    assert inbox.envelopes == [("newswatch@alerts.example", RECIPIENTS)]
    assert message["Subject"] == "[newswatch] Huawei: Huawei <ban> costs"
    assert message["From"] == "newswatch@alerts.example"
    assert message.get_content_type() == "multipart/alternative"
    (delivery,) = deliveries(store)
    assert message["Message-ID"].endswith("@alerts.example>")
    plain, html = bodies(message)
    assert "Huawei <ban> costs" in plain and "https://ledger.example/ban" in plain
    assert "Also published by:\n  - Wire: https://wire.example/ban" in plain
    assert delivery.key in plain
    assert "Huawei &lt;ban&gt; costs" in html  # escaped
    assert "<strong>Huawei</strong>" in html
    assert '<a href="https://wire.example/ban">Wire</a>' in html


def test_a_daily_digest_is_one_email_sent_on_the_next_run_after_an_smtp_outage(
    store: Store, tmp_path: Path, port: int, inbox: Inbox, ca: ThrowawayCA
) -> None:
    settings = email_settings(tmp_path, port, ca)
    rules = email_book(delivery="daily")
    raise_alerts(store.sessions, settings, now=RULE_SEEN, book=rules)
    titles = ["Huawei ban costs", "Huawei loses contract", "Huawei appeal"]
    for n, title in enumerate(titles):
        add_article(store, f"https://ledger.example/{n}", f"{title}. {STORY}", title=title)
        raise_alerts(store.sessions, settings, now=T0 + timedelta(hours=n), book=rules)

    # The SMTP server is down when the day's digest is due.
    next_day = T0 + timedelta(days=1)
    down = send_digests(store.sessions, settings, now=next_day, book=rules)
    assert down["digests_planned"] == 1 and down["deliveries_retry_later"] == 1
    (digest,) = deliveries(store)
    assert digest.state == "pending" and digest.last_error is not None
    assert f"SMTP 127.0.0.1:{port}" in digest.last_error

    with smtp_server(port, inbox, tls=ca.server_context, credentials=LOGIN):
        later = next_day + timedelta(minutes=5)
        up = send_digests(store.sessions, settings, now=later, book=rules)
        assert up == {"digests_planned": 0, "deliveries_sent": 1}
        assert send_digests(store.sessions, settings, now=later, book=rules).total() == 0

    (message,) = inbox.messages
    assert message["Subject"] == "[newswatch] Huawei: daily digest, 2024-05-06, 3 stories"
    plain, html = bodies(message)
    assert [t in plain for t in titles] == [True] * 3
    assert all(t in html for t in titles)
    (digest,) = deliveries(store)
    assert (digest.state, digest.attempts) == ("sent", 2)


def test_a_refused_login_is_a_failed_attempt_that_does_not_show_the_password(
    store: Store, tmp_path: Path, port: int, inbox: Inbox, ca: ThrowawayCA, secure_smtp: None
) -> None:
    settings = email_settings(tmp_path, port, ca, password="wrong password")
    rules = email_book()
    raise_alerts(store.sessions, settings, now=RULE_SEEN, book=rules)
    add_article(store, "https://ledger.example/ban", STORY)
    raise_alerts(store.sessions, settings, now=T0, book=rules)

    counts = deliver_pending(store.sessions, settings, now=T0, book=rules)

    assert counts["deliveries_retry_later"] == 1 and inbox.messages == []
    (delivery,) = deliveries(store)
    assert delivery.last_error == f"SMTP 127.0.0.1:{port}: authentication refused (535)"
