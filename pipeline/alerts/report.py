"""Read-only views of alerts and deliveries, for the CLI, the demo and the API."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.alerts.messages import load_items
from pipeline.alerts.models import Alert, AlertDelivery, AlertDeliveryItem, DeliveryState


@dataclass(frozen=True)
class AlertReportRow:
    rule: str
    title: str
    url: str
    outlets: tuple[str, ...]  # every outlet that ran the story, the alerted copy's first
    raised_at: datetime
    mentions: int
    snippet: str
    deliveries: dict[str, str]  # channel -> state of its latest delivery


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    key: str
    rule: str
    channel: str
    kind: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    sent_at: datetime | None


def alerts_report(sessions: sessionmaker[Session], *, limit: int = 100) -> list[AlertReportRow]:
    """The latest alerts, newest first, with their outlets and delivery states."""
    with sessions() as session:
        ids = session.scalars(
            select(Alert.id).order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit)
        ).all()
        items = load_items(session, ids)
        states = _delivery_states(session, list(ids))
    return [
        AlertReportRow(
            rule=item.rule_name,
            title=item.title,
            url=item.url,
            outlets=item.outlets,
            raised_at=item.created_at,
            mentions=item.mentions,
            snippet=item.snippet,
            deliveries=states.get(item.alert_id, {}),
        )
        for item in sorted(items, key=lambda i: (i.created_at, i.alert_id), reverse=True)
    ]


def delivery_counts(sessions: sessionmaker[Session]) -> dict[tuple[str, str, str], int]:
    """(rule, channel, state) -> number of deliveries."""
    with sessions() as session:
        rows = session.execute(
            select(
                AlertDelivery.rule_name, AlertDelivery.channel, AlertDelivery.state, func.count()
            ).group_by(AlertDelivery.rule_name, AlertDelivery.channel, AlertDelivery.state)
        )
        return {(rule, channel, state): count for rule, channel, state, count in rows}


def open_deliveries(sessions: sessionmaker[Session]) -> list[DeliveryRow]:
    """Deliveries not sent: failed (parked) first, then pending ones by due time."""
    with sessions() as session:
        rows = session.scalars(
            select(AlertDelivery)
            .where(AlertDelivery.state != DeliveryState.SENT)
            .order_by(
                AlertDelivery.state != DeliveryState.FAILED,
                AlertDelivery.next_attempt_at,
                AlertDelivery.id,
            )
        ).all()
    return [
        DeliveryRow(
            id=d.id,
            key=d.key,
            rule=d.rule_name,
            channel=d.channel,
            kind=d.kind,
            state=d.state,
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at,
            last_error=d.last_error,
            sent_at=d.sent_at,
        )
        for d in rows
    ]


def _delivery_states(session: Session, alert_ids: list[int]) -> dict[int, dict[str, str]]:
    states: dict[int, dict[str, str]] = defaultdict(dict)
    if not alert_ids:
        return states
    rows = session.execute(
        select(AlertDeliveryItem.alert_id, AlertDelivery.channel, AlertDelivery.state)
        .join(AlertDelivery, AlertDelivery.id == AlertDeliveryItem.delivery_id)
        .where(AlertDeliveryItem.alert_id.in_(alert_ids))
        .order_by(AlertDelivery.id)
    )
    for alert_id, channel, state in rows:
        states[alert_id][channel] = state  # later deliveries (digests) win
    return states
