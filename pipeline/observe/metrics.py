"""Prometheus metrics of the pipeline, read from the store when scraped.

Every number comes from the store, so the search service's ``/metrics`` shows the
whole pipeline's state whichever process (CLI, Airflow worker) did the work, and an
Airflow worker can write the same metrics to a node-exporter textfile or push them to
a Pushgateway after each task (``observability.metrics_textfile`` / ``metrics_pushgateway``).

| metric | labels | what |
|---|---|---|
| ``newswatch_articles`` | status | articles in each status |
| ``newswatch_index_outbox`` | state | articles waiting to be indexed (pending) or parked (failed) |
| ``newswatch_feeds`` | status | feeds by last poll outcome |
| ``newswatch_feed_consecutive_failures`` | feed | failed polls in a row, per feed |
| ``newswatch_alert_deliveries`` | state | alert deliveries pending, sent or failed |
| ``newswatch_stage_seconds_total`` | stage | time spent in each stage |
| ``newswatch_stage_batches_total`` | stage | batches each stage finished |
| ``newswatch_stage_items_total`` | stage | items each stage handled |
| ``newswatch_stage_last_batch_seconds`` | stage | duration of each stage's last batch |
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest, push_to_gateway, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pipeline.config import ObservabilitySettings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("newswatch.metrics")

METRIC_NAMES = (
    "newswatch_articles",
    "newswatch_index_outbox",
    "newswatch_feeds",
    "newswatch_feed_consecutive_failures",
    "newswatch_alert_deliveries",
    "newswatch_stage_seconds",  # a counter: exposed as newswatch_stage_seconds_total
    "newswatch_stage_batches",
    "newswatch_stage_items",
    "newswatch_stage_last_batch_seconds",
)


class StoreCollector(Collector):
    """Collects the pipeline's metrics from the store at each scrape."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[Metric]:
        from sqlalchemy import func, select

        from pipeline.alerts.models import AlertDelivery
        from pipeline.observe.timings import StageTiming
        from pipeline.store.models import Article, Feed

        with self._sessions() as session:
            yield _gauge(
                "newswatch_articles",
                "Articles in each status.",
                "status",
                session.execute(select(Article.status, func.count()).group_by(Article.status)),
            )
            yield _gauge(
                "newswatch_index_outbox",
                "Articles waiting for the search index (pending) or parked after too many "
                "attempts (failed).",
                "state",
                session.execute(
                    select(Article.index_state, func.count())
                    .where(Article.index_state.in_(("pending", "failed")))
                    .group_by(Article.index_state)
                ),
                always=("pending", "failed"),
            )
            feeds = list(
                session.execute(select(Feed.name, Feed.last_status, Feed.consecutive_failures))
            )
            statuses: dict[str, int] = {}
            for _name, status, _failures in feeds:
                statuses[status] = statuses.get(status, 0) + 1
            yield _gauge(
                "newswatch_feeds", "Feeds by last poll outcome.", "status", statuses.items()
            )
            yield _gauge(
                "newswatch_feed_consecutive_failures",
                "Failed polls in a row, per feed (0 once a poll succeeds).",
                "feed",
                ((name, failures) for name, _status, failures in feeds),
            )
            yield _gauge(
                "newswatch_alert_deliveries",
                "Alert deliveries by state (pending, sent, failed).",
                "state",
                session.execute(
                    select(AlertDelivery.state, func.count()).group_by(AlertDelivery.state)
                ),
                always=("pending", "sent", "failed"),
            )
            timings = list(session.scalars(select(StageTiming)))
        seconds = CounterMetricFamily(
            "newswatch_stage_seconds", "Seconds spent in each stage.", labels=["stage"]
        )
        batches = CounterMetricFamily(
            "newswatch_stage_batches", "Batches each stage finished.", labels=["stage"]
        )
        items = CounterMetricFamily(
            "newswatch_stage_items", "Items each stage handled.", labels=["stage"]
        )
        last = GaugeMetricFamily(
            "newswatch_stage_last_batch_seconds",
            "Duration of each stage's last batch.",
            labels=["stage"],
        )
        for timing in timings:
            seconds.add_metric([timing.stage], timing.seconds)
            batches.add_metric([timing.stage], timing.batches)
            items.add_metric([timing.stage], timing.items)
            last.add_metric([timing.stage], timing.last_seconds)
        yield from (seconds, batches, items, last)


def _gauge(
    name: str,
    documentation: str,
    label: str,
    rows: Iterable[tuple[str, int] | object],
    always: tuple[str, ...] = (),
) -> GaugeMetricFamily:
    """A gauge with one sample per label value; `always` values appear even at zero, so an
    alarm on them has a series to watch before the first problem."""
    values = dict.fromkeys(always, 0.0)
    for row in rows:
        key, value = row  # type: ignore[misc]
        values[str(key)] = float(value)
    gauge = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        gauge.add_metric([key], value)
    return gauge


def store_registry(sessions: sessionmaker[Session]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(sessions))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The registry in the Prometheus text format."""
    return generate_latest(registry)


def export_metrics(sessions: sessionmaker[Session], settings: ObservabilitySettings) -> None:
    """Write the textfile and/or push to the Pushgateway, as configured. A metrics outage
    never fails a pipeline task: it is logged."""
    if settings.metrics_textfile is None and not settings.metrics_pushgateway:
        return
    registry = store_registry(sessions)
    try:
        if settings.metrics_textfile is not None:
            settings.metrics_textfile.parent.mkdir(parents=True, exist_ok=True)
            write_to_textfile(str(settings.metrics_textfile), registry)  # atomic rename
        if settings.metrics_pushgateway:
            push_to_gateway(
                settings.metrics_pushgateway, job=settings.metrics_job, registry=registry
            )
    except OSError as exc:
        log.warning("pipeline metrics not exported: %s", exc)
