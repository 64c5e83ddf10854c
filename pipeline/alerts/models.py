"""Tables of the alerts stage: rules seen, articles scanned, alerts per story, deliveries.

Alerts copy what they show (title, URL, outlet, snippet) instead of pointing at articles,
so an alert stays readable after retention deletes the articles behind it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from pipeline.records import utcnow
from pipeline.store.models import Base, EnumText


class DeliveryState(StrEnum):
    PENDING = "pending"  # to be sent when next_attempt_at is due (also: being sent, leased)
    SENT = "sent"  # the channel accepted it
    FAILED = "failed"  # gave up after alerts.max_attempts; reason in last_error


class DeliveryKind(StrEnum):
    INSTANT = "instant"  # one alert, sent as soon as it is raised
    DIGEST = "digest"  # every alert of one rule in one daily or weekly window


class AlertRuleState(Base):
    """When the alerts stage first saw a rule: only coverage newer than that alerts."""

    __tablename__ = "alert_rules"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_seen_at: Mapped[datetime]


class AlertScan(Base):
    """The alerts stage has matched this article, as of this text (a new revision rescans)."""

    __tablename__ = "alert_scans"

    article_id: Mapped[str] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    text_hash: Mapped[str | None] = mapped_column(String(64))
    scanned_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alert(Base):
    """One rule firing on one story cluster; the unique key makes it fire once per story."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("rule_name", "cluster_id", name="uq_alerts_rule_cluster"),
        Index("ix_alerts_rule_created", "rule_name", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule_name: Mapped[str] = mapped_column(String(64))
    cluster_id: Mapped[str] = mapped_column(String(32))
    delivery_mode: Mapped[str] = mapped_column(String(16))  # the rule's mode when raised
    article_id: Mapped[str] = mapped_column(String(32))  # the copy that fired it
    title: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    outlet: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime | None]
    mentions: Mapped[int] = mapped_column(Integer)
    evidence: Mapped[list[Any]] = mapped_column(default=list)  # where it matched, with snippets
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertArticle(Base):
    """A copy of the alerted story ("also published by"), the firing one included."""

    __tablename__ = "alert_articles"

    alert_id: Mapped[int] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    article_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    outlet: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime | None]
    mentions: Mapped[int] = mapped_column(Integer, default=0)
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertDelivery(Base):
    """One message to one channel: an instant alert or a digest. `key` makes it unique."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (Index("ix_alert_deliveries_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    rule_name: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(64))
    kind: Mapped[DeliveryKind] = mapped_column(EnumText(DeliveryKind, 16))
    window_start: Mapped[datetime | None]  # digests only
    window_end: Mapped[datetime | None]
    state: Mapped[DeliveryState] = mapped_column(
        EnumText(DeliveryState, 16), default=DeliveryState.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class AlertDeliveryItem(Base):
    """Which alerts one delivery carries (one for an instant alert, many for a digest)."""

    __tablename__ = "alert_delivery_items"

    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("alert_deliveries.id", ondelete="CASCADE"), primary_key=True
    )
    alert_id: Mapped[int] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
