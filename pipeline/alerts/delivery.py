"""Deliveries: plan instant messages and digests, send what is due, retry with backoff.

Guarantees (docs/alerts.md):

- One delivery row per (alert, channel) or (rule, channel, digest window), under a unique
  key, so retries and concurrent runs never plan a message twice.
- A sender leases a delivery with one conditional UPDATE (pending and due → due again only
  after LEASE), so two workers never send the same delivery at once, on SQLite or
  PostgreSQL, and the network call happens outside any transaction.
- A failed send is retried with exponential backoff and parked as `failed` after
  alerts.max_attempts, never dropped; a sender that dies mid-send leaves the lease to
  expire, and the delivery is sent again. That is at-least-once delivery; the key (in the
  webhook header and the email Message-ID) lets receivers drop the rare duplicate.
- A channel that fails is skipped for the rest of the run; the other channels go on, each
  on its own thread, so one slow receiver delays nobody else (a webhook has a total deadline
  per delivery, alerts.webhook_timeout_seconds).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from pipeline.alerts.messages import AlertMessage, load_message
from pipeline.alerts.models import (
    Alert,
    AlertDelivery,
    AlertDeliveryItem,
    DeliveryKind,
    DeliveryState,
)
from pipeline.alerts.notifiers import DeliveryFailed, atom, email, log, webhook
from pipeline.alerts.rules import DeliveryMode, Rule, RuleBook
from pipeline.backoff import exponential_backoff
from pipeline.config import Settings
from pipeline.records import as_utc
from pipeline.store.batches import StageCounts
from pipeline.store.db import rows_matched, transaction
from pipeline.store.inserts import insert_new

LEASE = timedelta(minutes=10)  # longer than any send; a crashed sender's delivery is due again
MAX_BACKOFF = timedelta(hours=6)


def plan_instant(session: Session, rule: Rule, alert: Alert, now: datetime) -> int:
    """One pending delivery per channel for a newly raised alert; returns how many."""
    for channel in rule.channels:
        delivery = AlertDelivery(
            key=f"instant:{alert.id}:{channel}",
            rule_name=rule.name,
            channel=channel,
            kind=DeliveryKind.INSTANT,
            state=DeliveryState.PENDING,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(delivery)
        session.flush()
        session.add(AlertDeliveryItem(delivery_id=delivery.id, alert_id=alert.id))
    return len(rule.channels)


def window(mode: DeliveryMode, moment: datetime) -> tuple[datetime, datetime]:
    """The digest window holding `moment`: its UTC day, or its ISO week (Monday 00:00 UTC)."""
    moment = moment.astimezone(UTC)
    day = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    if mode == "daily":
        return day, day + timedelta(days=1)
    start = day - timedelta(days=day.weekday())
    return start, start + timedelta(days=7)


def plan_digests(sessions: sessionmaker[Session], book: RuleBook, now: datetime) -> StageCounts:
    """A digest delivery per channel for every closed window with undelivered alerts."""
    counts: StageCounts = Counter()
    for rule in book.active:
        if rule.delivery == "instant":
            continue
        current_start, _ = window(rule.delivery, now)
        for channel in rule.channels:
            with transaction(sessions) as session:
                counts["digests_planned"] += _plan_digest(
                    session, rule, channel, current_start, now
                )
    return counts


def _plan_digest(
    session: Session, rule: Rule, channel: str, before: datetime, now: datetime
) -> int:
    delivered = (
        select(AlertDeliveryItem.alert_id)
        .join(AlertDelivery, AlertDelivery.id == AlertDeliveryItem.delivery_id)
        .where(AlertDelivery.rule_name == rule.name, AlertDelivery.channel == channel)
    )
    rows = session.execute(
        select(Alert.id, Alert.created_at)
        .where(
            Alert.rule_name == rule.name,
            Alert.delivery_mode != "instant",  # those went out when they were raised
            Alert.created_at < before,
            Alert.id.not_in(delivered),
        )
        .order_by(Alert.created_at, Alert.id)
    )
    groups: dict[datetime, list[int]] = defaultdict(list)
    for alert_id, created_at in rows:
        groups[window(rule.delivery, as_utc(created_at) or before)[0]].append(alert_id)
    planned = 0
    for start, ids in sorted(groups.items()):
        # The smallest alert id in the key: a concurrent planner that found the same alerts
        # collides on it, and an alert that turns up late gets a digest of its own.
        key = f"digest:{rule.name}:{channel}:{start.date().isoformat()}:{min(ids)}"
        inserted = insert_new(
            session,
            AlertDelivery,
            [
                {
                    "key": key,
                    "rule_name": rule.name,
                    "channel": channel,
                    "kind": DeliveryKind.DIGEST,
                    "window_start": start,
                    "window_end": window(rule.delivery, start)[1],
                    "state": DeliveryState.PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            ],
            ["key"],
            AlertDelivery.id,
        )
        if not inserted:
            continue
        session.add_all(AlertDeliveryItem(delivery_id=inserted[0], alert_id=i) for i in ids)
        planned += 1
    return planned


@dataclass(frozen=True)
class _Prepared:
    channel: str
    send: Callable[[], None]


def send_due(
    sessions: sessionmaker[Session],
    settings: Settings,
    book: RuleBook,
    now: datetime,
    kinds: Sequence[DeliveryKind] = tuple(DeliveryKind),
) -> StageCounts:
    """Send every pending delivery that is due, each under a lease.

    Each channel sends its deliveries in order on a thread of its own, so a slow or dead
    channel (bounded by its own timeout) never delays the others.
    """
    with sessions() as session:
        due = session.execute(
            select(AlertDelivery.id, AlertDelivery.channel)
            .where(
                AlertDelivery.state == DeliveryState.PENDING,
                AlertDelivery.next_attempt_at <= now,
                AlertDelivery.kind.in_(kinds),
            )
            .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id)
        ).all()
    by_channel: dict[str, list[int]] = defaultdict(list)
    for delivery_id, channel in due:
        by_channel[channel].append(delivery_id)
    counts: StageCounts = Counter()
    if not by_channel:
        return counts
    with ThreadPoolExecutor(len(by_channel), thread_name_prefix="alerts-channel") as pool:
        futures = [
            pool.submit(_send_channel, sessions, settings, book, now, ids)
            for ids in by_channel.values()
        ]
        for future in futures:
            counts.update(future.result())
    return counts


def _send_channel(
    sessions: sessionmaker[Session],
    settings: Settings,
    book: RuleBook,
    now: datetime,
    delivery_ids: Sequence[int],
) -> StageCounts:
    """One channel's deliveries in order; after a failure the rest wait for a later run."""
    counts: StageCounts = Counter()
    for position, delivery_id in enumerate(delivery_ids):
        with transaction(sessions) as session:
            prepared = _lease(session, delivery_id, settings, book, now)
        if prepared is None:
            continue  # another worker has it
        try:
            prepared.send()
        except DeliveryFailed as exc:
            state = _record(sessions, delivery_id, settings, now, str(exc))
            failed = state is DeliveryState.FAILED
            counts["deliveries_failed" if failed else "deliveries_retry_later"] += 1
            counts["deferred_channel_down"] += len(delivery_ids) - position - 1
            break
        _record(sessions, delivery_id, settings, now, None)
        counts["deliveries_sent"] += 1
    return counts


def _lease(
    session: Session, delivery_id: int, settings: Settings, book: RuleBook, now: datetime
) -> _Prepared | None:
    claimed = rows_matched(
        session,
        update(AlertDelivery)
        .where(
            AlertDelivery.id == delivery_id,
            AlertDelivery.state == DeliveryState.PENDING,
            AlertDelivery.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + LEASE, attempts=AlertDelivery.attempts + 1),
    )
    if not claimed:
        return None
    delivery = session.get_one(AlertDelivery, delivery_id)
    rule = book.rule(delivery.rule_name)
    channel = book.channels.get(delivery.channel)
    mode = rule.delivery if rule else delivery.kind
    message = load_message(session, delivery, rule.title if rule else delivery.rule_name, mode)
    if channel is None:
        return _Prepared(delivery.channel, _fail(f"channel {delivery.channel!r} is not defined"))
    if channel.type == "log":
        return _Prepared(channel.name, lambda: log.send(message))
    if channel.type == "webhook":
        return _Prepared(
            channel.name, lambda: webhook.send(channel, message, settings.alerts, settings.fetch)
        )
    if channel.type == "email":
        return _Prepared(channel.name, lambda: email.send(channel, message, settings.alerts.smtp))
    return _atom(session, message, rule, settings)


def _atom(
    session: Session, message: AlertMessage, rule: Rule | None, settings: Settings
) -> _Prepared:
    if rule is None:
        return _Prepared("atom", _fail(f"rule {message.rule_name!r} is no longer defined"))
    # Rendered now, inside the lease's transaction; written after it.
    document = atom.render_rule_feed(session, rule)
    path = atom.feed_path(settings.data_dir, rule.name)
    return _Prepared("atom", lambda: atom.write_feed(path, document))


def _fail(reason: str) -> Callable[[], None]:
    def send() -> None:
        raise DeliveryFailed(reason)

    return send


def _record(
    sessions: sessionmaker[Session],
    delivery_id: int,
    settings: Settings,
    now: datetime,
    error: str | None,
) -> DeliveryState:
    with transaction(sessions) as session:
        delivery = session.get_one(AlertDelivery, delivery_id)
        if error is None:
            delivery.state = DeliveryState.SENT
            delivery.sent_at = now
            delivery.next_attempt_at = None
            delivery.last_error = None
        elif delivery.attempts >= settings.alerts.max_attempts:
            delivery.state = DeliveryState.FAILED
            delivery.next_attempt_at = None
            delivery.last_error = error[:2000]
        else:
            delay = exponential_backoff(
                settings.alerts.retry_backoff_seconds,
                delivery.attempts - 1,
                cap=MAX_BACKOFF.total_seconds(),
            )
            delivery.next_attempt_at = now + timedelta(seconds=delay)
            delivery.last_error = error[:2000]
        return delivery.state


def retry_failed(sessions: sessionmaker[Session], now: datetime, rule: str | None = None) -> int:
    """Put parked deliveries back in the queue with fresh attempts (after fixing a channel)."""
    stmt = update(AlertDelivery).where(AlertDelivery.state == DeliveryState.FAILED)
    if rule is not None:
        stmt = stmt.where(AlertDelivery.rule_name == rule)
    stmt = stmt.values(state=DeliveryState.PENDING, attempts=0, next_attempt_at=now)
    with transaction(sessions) as session:
        return rows_matched(session, stmt)
