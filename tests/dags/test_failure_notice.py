"""The run-failure notice, sent through the alert channels to a real webhook receiver and a
real SMTP server (no Airflow here; tests/dags/test_ingest_dag.py runs it under Airflow)."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_httpserver import HTTPServer

from pipeline.alerts.notifiers.webhook import DELIVERY_HEADER, SIGNATURE_HEADER, sign
from pipeline.runs.failure_notice import RunFailure, notify_failure, run_url
from tests.alerts.support import Inbox, free_port, smtp_server
from tests.alerts.test_alert_webhook import hook
from tests.conftest import make_test_settings

SECRET = "run-failure-secret"
FAILURE = RunFailure(
    dag_id="newswatch_ingest",
    run_id="scheduled__2026-11-30T09:00:00+00:00",
    failed_tasks=("fetch_pages_2", "summary"),
    url=run_url("https://airflow.example.org/", "newswatch_ingest", "scheduled__2026-11-30"),
    reason="task_failure",
)


def test_the_notice_reaches_a_webhook_signed_with_the_failed_tasks_and_the_run_link(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    receiver = hook(httpserver, [200], path="/hooks/oncall")
    slack = hook(httpserver, [200], path="/hooks/slack")
    settings = make_test_settings(
        tmp_path,
        alerts={
            "webhook_secret": SECRET,
            "channels": {
                "oncall": {"type": "webhook", "url": httpserver.url_for("/hooks/oncall")},
                "chat": {
                    "type": "webhook",
                    "url": httpserver.url_for("/hooks/slack"),
                    "format": "slack",
                },
            },
        },
        airflow={"failure_channels": ["oncall", "chat"]},
    )

    outcome = notify_failure(settings, FAILURE)

    assert outcome == {"oncall": "sent", "chat": "sent"}
    ((headers, body, _status),) = receiver.requests
    assert headers[SIGNATURE_HEADER] == sign(SECRET, body)
    assert headers[DELIVERY_HEADER] == FAILURE.key
    payload = json.loads(body)
    assert payload["event"] == "dag_run.failed"
    assert payload["failed_tasks"] == ["fetch_pages_2", "summary"]
    assert payload["run_id"] == FAILURE.run_id
    assert payload["url"] == (
        "https://airflow.example.org/dags/newswatch_ingest/runs/scheduled__2026-11-30"
    )
    ((_headers, slack_body, _),) = slack.requests
    text = json.loads(slack_body)["text"]
    assert "fetch_pages_2, summary" in text
    assert "<https://airflow.example.org/dags/newswatch_ingest/runs/scheduled__2026-11-30|" in text


def test_a_channel_that_is_down_or_unknown_does_not_stop_the_others(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    broken = hook(httpserver, [503], path="/hooks/broken")
    inbox = Inbox()
    port = free_port()
    settings = make_test_settings(
        tmp_path,
        alerts={
            "smtp": {"host": "127.0.0.1", "port": port, "sender": "newswatch@example.org"},
            "channels": {
                "broken": {"type": "webhook", "url": httpserver.url_for("/hooks/broken")},
                "ops-mail": {"type": "email", "to": ["ops@example.org"]},
            },
        },
        airflow={"failure_channels": ["broken", "missing", "ops-mail"]},
    )

    with smtp_server(port, inbox):
        outcome = notify_failure(settings, FAILURE)

    assert outcome["broken"].endswith("HTTP 503")
    assert "not defined" in outcome["missing"]
    assert outcome["ops-mail"] == "sent"
    assert len(broken.requests) == 1
    (mail,) = inbox.messages
    assert " ".join(mail["Subject"].split()) == FAILURE.title  # a long subject is folded
    assert mail["To"] == "ops@example.org"
    assert "failed tasks: fetch_pages_2, summary" in mail.get_content()
    assert FAILURE.url is not None and FAILURE.url in mail.get_content()


def test_without_failure_channels_nothing_is_sent(tmp_path: Path) -> None:
    assert notify_failure(make_test_settings(tmp_path), FAILURE) == {}
