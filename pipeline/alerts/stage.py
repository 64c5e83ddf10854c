"""Alerts stage: match new coverage against the alert rules and deliver what fires.

`raise_alerts` takes every classified (or indexed) article the stage has not scanned as of
its current text; `alert_scans` is the per-article marker, so a re-run finds nothing and a
revised article is looked at again. A rule fires at most once per story cluster: the
alert's unique key is (rule, cluster), and later copies or revisions of the story are
added to that alert ("also published by") without sending anything new. Only articles
discovered since the rule was first seen count (less a grace period for the run that added
it, `alerts.new_rule_grace_minutes`), so adding a rule never floods subscribers with old
coverage.

`deliver_pending` plans the digests whose window has closed and sends whatever is due;
`send_digests` does the same for digests only. pipeline/alerts/delivery.py has the retry
and delivery guarantees.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from pipeline.alerts.delivery import plan_digests, plan_instant, send_due
from pipeline.alerts.matching import ArticleFacts, MatchResult, filter_reason, match_rule
from pipeline.alerts.models import (
    Alert,
    AlertArticle,
    AlertRuleState,
    AlertScan,
    DeliveryKind,
)
from pipeline.alerts.rules import Rule, RuleBook, load_rules
from pipeline.config import Settings
from pipeline.observe.logs import BatchLog
from pipeline.records import ArticleStatus, as_utc, utcnow
from pipeline.store.batches import StageCounts, drain
from pipeline.store.db import transaction
from pipeline.store.inserts import insert_new
from pipeline.store.models import Article

_DONE = (ArticleStatus.CLASSIFIED, ArticleStatus.INDEXED)


def run_alerts(
    sessions: sessionmaker[Session], settings: Settings, *, now: datetime | None = None
) -> StageCounts:
    """The pipeline's alerts stage: raise, then deliver."""
    book = load_rules(settings.alerts)
    batch = BatchLog("alerts", {}, sessions)
    counts = raise_alerts(sessions, settings, now=now, book=book)
    counts.update(deliver_pending(sessions, settings, now=now, book=book))
    batch.done(counts, counts["articles_scanned"])
    return counts


def raise_alerts(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime | None = None,
    book: RuleBook | None = None,
) -> StageCounts:
    """Match every article waiting for the alerts stage; create or extend alerts. Idempotent."""
    book = book or load_rules(settings.alerts)
    now = now or utcnow()
    rules = sorted(book.active, key=lambda r: r.name)
    grace = timedelta(minutes=settings.alerts.new_rule_grace_minutes)
    since = {name: seen - grace for name, seen in register_rules(sessions, rules, now).items()}

    def work(session: Session, batch: list[Article], counts: StageCounts) -> None:
        # Cluster order, and rules in name order, everywhere: concurrent runs then take
        # the (rule, cluster) keys in the same order and cannot deadlock on them.
        alerts = _alerts_of(session, batch)
        for article in batch:
            _scan(session, article, rules, since, now, counts, alerts)
        _mark_scanned(session, batch, now)

    # lock_of: concurrent runs take disjoint batches; the scan side of the join may be NULL.
    return drain(sessions, _due, work, batch_size=settings.alerts.batch_size, lock_of=Article)


def deliver_pending(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime | None = None,
    book: RuleBook | None = None,
) -> StageCounts:
    """Plan the digests now due, then send every due delivery (retrying failed ones)."""
    return _plan_and_send(sessions, settings, now, book, tuple(DeliveryKind))


def send_digests(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime | None = None,
    book: RuleBook | None = None,
) -> StageCounts:
    """Group undelivered alerts of daily/weekly rules per closed window and send them."""
    return _plan_and_send(sessions, settings, now, book, (DeliveryKind.DIGEST,))


def _plan_and_send(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: datetime | None,
    book: RuleBook | None,
    kinds: tuple[DeliveryKind, ...],
) -> StageCounts:
    book = book or load_rules(settings.alerts)
    now = now or utcnow()
    counts = plan_digests(sessions, book, now)
    counts.update(send_due(sessions, settings, book, now, kinds=kinds))
    return counts


def register_rules(
    sessions: sessionmaker[Session], rules: list[Rule], now: datetime
) -> dict[str, datetime]:
    """Record when each rule was first seen (first run wins) and return those times."""
    with transaction(sessions) as session:
        insert_new(
            session,
            AlertRuleState,
            [{"name": rule.name, "first_seen_at": now} for rule in rules],
            ["name"],
            AlertRuleState.name,
        )
        rows = session.execute(select(AlertRuleState.name, AlertRuleState.first_seen_at))
        return {name: as_utc(seen) or now for name, seen in rows}


def _due() -> Select[Article]:
    return (
        select(Article)
        .outerjoin(AlertScan, AlertScan.article_id == Article.id)
        .where(
            Article.status.in_(_DONE),
            or_(
                AlertScan.article_id.is_(None),
                AlertScan.text_hash.is_distinct_from(Article.text_hash),
            ),
        )
        .order_by(Article.cluster_id, Article.id)
    )


def _scan(
    session: Session,
    article: Article,
    rules: list[Rule],
    since: Mapping[str, datetime],
    now: datetime,
    counts: StageCounts,
    alerts: dict[tuple[str, str], Alert],
) -> None:
    """Match one article against every rule; `alerts` holds the batch's alerts by (rule,
    cluster) and gains those raised here."""
    counts["articles_scanned"] += 1
    if article.alerts_muted:  # backfilled coverage: searchable, but never notifies
        counts["muted_backfill"] += 1
        return
    cluster_id = article.cluster_id or article.id
    facts = ArticleFacts(
        outlet=article.outlet,
        domain=article.domain or "",
        language=article.language,
        threads=tuple(article.threads or ()),
        relation=article.relation,
    )
    for rule in rules:
        result = match_rule(rule, _title(article), article.text or "")
        alert = alerts.get((rule.name, cluster_id))
        if alert is None:
            if not result.matched:
                continue
            if filter_reason(rule, facts) is not None:
                counts["filtered_out"] += 1
                continue
            discovered = as_utc(article.discovered_at) or now
            if discovered < since.get(rule.name, now):
                counts["older_than_rule"] += 1
                continue
            alert = _raise(session, rule, cluster_id, now)
            if alert is not None:
                alerts[rule.name, cluster_id] = alert
                counts["alerts_raised"] += 1
                counts["deliveries_planned"] += (
                    plan_instant(session, rule, alert, now) if rule.delivery == "instant" else 0
                )
                continue
            alert = _alert(session, rule.name, cluster_id)  # a concurrent run raised it first
            assert alert is not None
            alerts[rule.name, cluster_id] = alert
        counts["copies_" + _attach(session, alert, article, result, now)] += 1


def _alerts_of(session: Session, batch: list[Article]) -> dict[tuple[str, str], Alert]:
    """The alerts already raised on the batch's clusters, in one query."""
    clusters = {article.cluster_id or article.id for article in batch}
    found = session.scalars(select(Alert).where(Alert.cluster_id.in_(clusters)))
    return {(alert.rule_name, alert.cluster_id): alert for alert in found}


def _alert(session: Session, rule_name: str, cluster_id: str) -> Alert | None:
    return session.scalars(
        select(Alert).where(Alert.rule_name == rule_name, Alert.cluster_id == cluster_id)
    ).one_or_none()


def _raise(session: Session, rule: Rule, cluster_id: str, now: datetime) -> Alert | None:
    """Create the (rule, cluster) alert with every copy classified so far, or return None
    when it already exists (a concurrent run raised it first).

    The alert shows the earliest published copy that matches, whichever copy fired it.
    """
    members = session.scalars(
        select(Article).where(Article.cluster_id == cluster_id, Article.status.in_(_DONE))
    ).all()
    matches = {m.id: match_rule(rule, _title(m), m.text or "") for m in members}
    far_future = datetime.max.replace(tzinfo=now.tzinfo)
    shown = min(
        (m for m in members if matches[m.id].matched),
        key=lambda m: (as_utc(m.published_at) or far_future, as_utc(m.discovered_at), m.id),
    )
    inserted = insert_new(
        session,
        Alert,
        [
            {
                "rule_name": rule.name,
                "cluster_id": cluster_id,
                "delivery_mode": rule.delivery,
                "article_id": shown.id,
                "title": _title(shown) or shown.canonical_url,
                "url": shown.canonical_url,
                "outlet": shown.outlet,
                "published_at": shown.published_at,
                "mentions": len(matches[shown.id].mentions),
                "evidence": matches[shown.id].evidence(),
                "created_at": now,
                "updated_at": now,
            }
        ],
        ["rule_name", "cluster_id"],
        Alert.id,
    )
    if not inserted:
        return None
    alert = session.get_one(Alert, inserted[0])
    insert_new(
        session,
        AlertArticle,
        [_copy_row(alert, m, matches[m.id], now) for m in members],
        ["alert_id", "article_id"],
        AlertArticle.article_id,
    )
    return alert


def _attach(
    session: Session, alert: Alert, article: Article, result: MatchResult, now: datetime
) -> str:
    """Add a copy (or a revision) to an existing alert; nothing is sent. Returns what happened."""
    row = _copy_row(alert, article, result, now)
    added = insert_new(
        session,
        AlertArticle,
        [row],
        ["alert_id", "article_id"],
        AlertArticle.article_id,
    )
    if not added:
        existing = session.get_one(AlertArticle, (alert.id, article.id))
        if existing.title == row["title"] and existing.evidence == row["evidence"]:
            return "unchanged"
        existing.title, existing.mentions, existing.evidence = (
            row["title"],
            row["mentions"],
            row["evidence"],
        )
    if article.id == alert.article_id and result.mentions:
        alert.title, alert.mentions, alert.evidence = (
            row["title"],
            row["mentions"],
            row["evidence"],
        )
    alert.updated_at = now
    return "added" if added else "revised"


def _copy_row(alert: Alert, article: Article, result: MatchResult, now: datetime) -> dict[str, Any]:
    return {
        "alert_id": alert.id,
        "article_id": article.id,
        "title": _title(article) or article.canonical_url,
        "url": article.canonical_url,
        "outlet": article.outlet,
        "published_at": article.published_at,
        "mentions": len(result.mentions),
        "evidence": result.evidence(),
        "added_at": now,
    }


def _mark_scanned(session: Session, batch: list[Article], now: datetime) -> None:
    """Record the batch as scanned at its current text: one insert and one update."""
    ids = [article.id for article in batch]
    seen = set(session.scalars(select(AlertScan.article_id).where(AlertScan.article_id.in_(ids))))
    rows = [{"article_id": a.id, "text_hash": a.text_hash, "scanned_at": now} for a in batch]
    new = [row for row in rows if row["article_id"] not in seen]
    if new:
        session.execute(insert(AlertScan), new)
    if len(new) < len(rows):
        session.execute(update(AlertScan), [row for row in rows if row["article_id"] in seen])


def _title(article: Article) -> str:
    return article.title or article.feed_title or ""
