"""What a notification says, read from the store: alerts with their copies, as records.

Every notifier renders these records; none of them reads the store itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.alerts.models import Alert, AlertArticle, AlertDelivery, AlertDeliveryItem
from pipeline.records import as_utc


@dataclass(frozen=True)
class Copy:
    """Another outlet's copy (or an earlier/later URL) of the alerted story."""

    outlet: str
    url: str
    title: str


@dataclass(frozen=True)
class AlertItem:
    alert_id: int
    rule_name: str
    cluster_id: str
    title: str
    url: str
    outlet: str
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    mentions: int
    snippet: str
    highlight: tuple[int, int] | None  # the mention's position inside the snippet
    also: tuple[Copy, ...]  # "also published by", in order of publication

    @property
    def outlets(self) -> tuple[str, ...]:
        """Every outlet that ran the story, the alerted copy's first."""
        return tuple(dict.fromkeys(o for o in (self.outlet, *(c.outlet for c in self.also)) if o))


@dataclass(frozen=True)
class AlertMessage:
    """One delivery's content: one alert (instant) or a window of them (digest)."""

    key: str  # the delivery key: stable across retries, so receivers can deduplicate
    kind: str  # instant | digest
    rule_name: str
    rule_title: str
    mode: str  # instant | daily | weekly
    items: tuple[AlertItem, ...]
    window_start: datetime | None = None
    window_end: datetime | None = None


def load_items(session: Session, alert_ids: Sequence[int]) -> list[AlertItem]:
    """The alerts with these ids and their copies, oldest alert first."""
    if not alert_ids:
        return []
    alerts = session.scalars(
        select(Alert).where(Alert.id.in_(list(alert_ids))).order_by(Alert.created_at, Alert.id)
    ).all()
    copies: dict[int, list[AlertArticle]] = defaultdict(list)
    for row in session.scalars(
        select(AlertArticle).where(AlertArticle.alert_id.in_(list(alert_ids)))
    ):
        copies[row.alert_id].append(row)
    return [_item(alert, copies[alert.id]) for alert in alerts]


def recent_items(session: Session, rule_name: str, limit: int) -> list[AlertItem]:
    """A rule's latest alerts, newest first (the Atom feed, the report)."""
    ids = session.scalars(
        select(Alert.id)
        .where(Alert.rule_name == rule_name)
        .order_by(Alert.created_at.desc(), Alert.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(load_items(session, ids)))


def load_message(
    session: Session, delivery: AlertDelivery, rule_title: str, mode: str
) -> AlertMessage:
    ids = session.scalars(
        select(AlertDeliveryItem.alert_id).where(AlertDeliveryItem.delivery_id == delivery.id)
    ).all()
    return AlertMessage(
        key=delivery.key,
        kind=delivery.kind,
        rule_name=delivery.rule_name,
        rule_title=rule_title,
        mode=mode,
        items=tuple(load_items(session, ids)),
        window_start=as_utc(delivery.window_start),
        window_end=as_utc(delivery.window_end),
    )


def _item(alert: Alert, rows: list[AlertArticle]) -> AlertItem:
    # The body says more than the headline: show the first mention in the text.
    first = next((e for e in alert.evidence if e["field"] == "text"), None) or next(
        iter(alert.evidence), None
    )
    others = sorted(
        (r for r in rows if r.article_id != alert.article_id),
        key=lambda r: (r.published_at is None, r.published_at or r.added_at, r.outlet),
    )
    return AlertItem(
        alert_id=alert.id,
        rule_name=alert.rule_name,
        cluster_id=alert.cluster_id,
        title=alert.title,
        url=alert.url,
        outlet=alert.outlet,
        published_at=alert.published_at,
        created_at=alert.created_at,
        updated_at=alert.updated_at,
        mentions=alert.mentions,
        snippet=first["snippet"] if first else "",
        highlight=(first["highlight"][0], first["highlight"][1]) if first else None,
        also=tuple(Copy(r.outlet, r.url, r.title) for r in others),
    )
