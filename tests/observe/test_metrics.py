"""Prometheus metrics: /metrics scraped from a live search service over a store that a real
pipeline run filled; the same metrics exported to a node-exporter textfile; stage log lines."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from pipeline.demo.content import load_feeds
from pipeline.observe.logs import JsonFormatter
from pipeline.observe.metrics import METRIC_NAMES, export_metrics
from pipeline.records import ArticleStatus
from pipeline.store.models import Article
from tests.api.conftest import running_service


def samples(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """metric sample name -> labels -> value."""
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            found.setdefault(sample.name, {})[labels] = sample.value
    return found


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    with running_service("sqlite", tmp_path_factory.mktemp("metrics")) as live:
        response = live.get("/metrics")
        with live.store.sessions() as session:
            by_status = dict(
                session.execute(select(Article.status, func.count()).group_by(Article.status)).all()
            )
        textfile = live.settings.data_dir / "textfile" / "newswatch.prom"
        export_metrics(
            live.store.sessions,
            live.settings.observability.model_copy(update={"metrics_textfile": textfile}),
        )
        return {
            "status": response.status_code,
            "type": response.headers["content-type"],
            "text": response.text,
            "by_status": by_status,
            "textfile": textfile.read_text(encoding="utf-8"),
        }


def test_metrics_names_every_pipeline_metric(scraped: dict[str, object]) -> None:
    assert scraped["status"] == 200
    assert str(scraped["type"]).startswith("text/plain")
    families = {f.name for f in text_string_to_metric_families(str(scraped["text"]))}
    assert set(METRIC_NAMES) <= families, set(METRIC_NAMES) - families


def test_articles_per_status_match_the_store(scraped: dict[str, object]) -> None:
    found = samples(str(scraped["text"]))
    articles = {
        dict(labels)["status"]: value for labels, value in found["newswatch_articles"].items()
    }
    assert articles == {k: float(v) for k, v in dict(scraped["by_status"]).items()}  # type: ignore[call-overload]
    assert articles[ArticleStatus.INDEXED.value] > 20
    outbox = {dict(k)["state"]: v for k, v in found["newswatch_index_outbox"].items()}
    assert outbox == {"pending": 0.0, "failed": 0.0}  # everything reached the index


def test_stage_durations_feed_failures_and_deliveries_are_reported(
    scraped: dict[str, object],
) -> None:
    found = samples(str(scraped["text"]))
    stages = {dict(k)["stage"] for k in found["newswatch_stage_seconds_total"]}
    assert {"poll", "fetch", "extract", "classify", "index", "alerts"} <= stages
    assert all(v > 0 for v in found["newswatch_stage_seconds_total"].values())
    items = {dict(k)["stage"]: v for k, v in found["newswatch_stage_items_total"].items()}
    assert items["index"] == dict(scraped["by_status"])["indexed"]  # type: ignore[call-overload]
    failures = {dict(k)["feed"]: v for k, v in found["newswatch_feed_consecutive_failures"].items()}
    assert set(failures) == set(load_feeds())  # one series per sample-newsroom feed
    deliveries = {dict(k)["state"]: v for k, v in found["newswatch_alert_deliveries"].items()}
    assert deliveries["sent"] > 0 and deliveries["failed"] == 0


def test_the_textfile_holds_the_same_metrics(scraped: dict[str, object]) -> None:
    names = {f.name for f in text_string_to_metric_families(str(scraped["textfile"]))}
    assert set(METRIC_NAMES) <= names
    assert (
        samples(str(scraped["textfile"]))["newswatch_articles"]
        == samples(str(scraped["text"]))["newswatch_articles"]
    )


def test_a_stage_batch_logs_one_json_line_with_counts_and_duration(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from collections import Counter

    from pipeline.observe.logs import BatchLog

    counts: Counter[str] = Counter(fetched=3)
    with caplog.at_level(logging.INFO, logger="newswatch.stages"):
        batch = BatchLog("fetch", counts)
        counts.update(fetched=2, fetch_retry_timeout=1)
        batch.done(counts, items=3)
    (record,) = caplog.records
    assert record.getMessage().startswith("stage=fetch batch=1 items=3 seconds=")
    assert record.getMessage().endswith("fetch_retry_timeout=1 fetched=2")
    line = json.loads(JsonFormatter().format(record))
    assert line["stage"] == "fetch" and line["items"] == 3
    assert line["counts"] == {"fetch_retry_timeout": 1, "fetched": 2}
    assert line["level"] == "INFO" and line["time"].endswith("+00:00")
    assert isinstance(line["seconds"], float)
