"""Tell ops that a DAG run failed, through the alert channels (webhook or email).

The notice names the DAG, the run, the failed task instances and a link to the run in
the Airflow UI. The channels are those of ``airflow.failure_channels``, defined like any
alert channel (``alerts.channels`` or the rules file), so a deployment points run
failures at the same Slack webhook or mailbox as its alerts, or at an on-call one.

Importable without Airflow; ``pipeline.runs.airflow_notifier`` calls it from Airflow.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from pipeline.config import Settings

log = logging.getLogger("newswatch.runs")

EVENT = "dag_run.failed"


@dataclass(frozen=True)
class RunFailure:
    dag_id: str
    run_id: str
    failed_tasks: tuple[str, ...] = ()
    url: str | None = None
    reason: str | None = None  # Airflow's, e.g. "timed_out" or "task_failure"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Stable per run: a receiver can drop the duplicate of a re-sent notice."""
        return f"run-failed:{self.dag_id}:{self.run_id}"

    @property
    def title(self) -> str:
        return f"newswatch: {self.dag_id} run failed ({self.run_id})"


def run_url(base_url: str, dag_id: str, run_id: str) -> str:
    """The run's page in the Airflow 3 UI."""
    return f"{base_url.rstrip('/')}/dags/{dag_id}/runs/{quote(run_id)}"


def notice_text(failure: RunFailure) -> str:
    lines = [failure.title]
    if failure.reason:
        lines.append(f"reason: {failure.reason}")
    if failure.failed_tasks:
        lines.append(f"failed tasks: {', '.join(failure.failed_tasks)}")
    else:
        lines.append("failed tasks: none recorded (the run may have timed out)")
    if failure.url:
        lines.append(f"run: {failure.url}")
    return "\n".join(lines)


def json_payload(failure: RunFailure) -> dict[str, Any]:
    return {
        "event": EVENT,
        "delivery": failure.key,
        "dag_id": failure.dag_id,
        "run_id": failure.run_id,
        "reason": failure.reason,
        "failed_tasks": list(failure.failed_tasks),
        "url": failure.url,
        "text": notice_text(failure),
    }


def slack_payload(failure: RunFailure) -> dict[str, Any]:
    text = notice_text(failure)
    if failure.url:
        text = text.replace(f"run: {failure.url}", f"<{failure.url}|open the run in Airflow>")
    return {"text": text}


def notify_failure(
    settings: Settings, failure: RunFailure, channels: Sequence[str] | None = None
) -> dict[str, str]:
    """Send the notice to each channel; returns channel → "sent" or the reason it failed.

    A channel that fails does not stop the others, and nothing raises: the run has
    failed already, and the notice is best effort (it is logged either way).
    """
    from pipeline.alerts.notifiers import DeliveryFailed, email, webhook
    from pipeline.alerts.rules import RuleFileError, load_rules

    names = list(settings.airflow.failure_channels if channels is None else channels)
    log.error("%s", notice_text(failure))
    if not names:
        return {}
    try:
        defined = load_rules(settings.alerts).channels
    except RuleFileError as exc:
        return dict.fromkeys(names, f"alert channels unreadable: {exc}")
    outcome: dict[str, str] = {}
    for name in names:
        channel = defined.get(name)
        try:
            if channel is None:
                raise DeliveryFailed(f"channel {name!r} is not defined")
            if channel.type == "webhook":
                slack = channel.format == "slack"
                payload = slack_payload(failure) if slack else json_payload(failure)
                webhook.post(channel, payload, failure.key, settings.alerts, settings.fetch)
            elif channel.type == "email":
                smtp = settings.alerts.smtp
                text = notice_text(failure)
                message = email.plain(channel, failure.title, text, failure.key, smtp)
                email.deliver(message, smtp, failure.key)
            else:
                raise DeliveryFailed(f"channel {name!r} is {channel.type}; use webhook or email")
        except DeliveryFailed as exc:
            log.warning("run failure notice to %s not delivered: %s", name, exc)
            outcome[name] = str(exc)
        else:
            outcome[name] = "sent"
    return outcome
