"""pipeline.runs.airflow_support without Airflow: settings from Connections, batches, run records
and the run summary, on real SQLite and PostgreSQL stores."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from pipeline.config import FeedConfig, Settings
from pipeline.records import ArticleStatus, utcnow
from pipeline.runs import airflow_support as nw
from pipeline.runs import plan
from pipeline.runs.airflow_connections import with_connections
from pipeline.store import Store
from pipeline.store.db import transaction
from pipeline.store.models import Article, Feed, Run
from tests.conftest import make_test_settings


@dataclass
class FakeConnection:
    """The Connection fields the mapping reads (an Airflow Connection has the same)."""

    host: str | None = None
    port: int | None = None
    schema: str | None = None
    login: str | None = None
    password: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def extra_dejson(self) -> dict[str, Any]:
        return self.extra


def test_importing_it_does_not_import_airflow_or_the_store() -> None:
    # A fresh interpreter, so that nothing imported earlier hides an import.
    code = (
        "import sys, pipeline.runs.airflow_support; "
        "print([m for m in ('airflow', 'sqlalchemy', 'pipeline.store') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_batches_split_in_order_and_cover_everything() -> None:
    assert plan.batches(["a", "b", "c", "d", "e"], 2) == [["a", "b"], ["c", "d"], ["e"]]
    assert plan.batches([], 3) == []


def test_spread_plans_everything_in_at_most_max_batches() -> None:
    items = [str(n) for n in range(10)]
    assert plan.spread(items, 3, max_batches=10) == [items[0:3], items[3:6], items[6:9], ["9"]]
    assert plan.spread(items, 3, max_batches=2) == [items[0:5], items[5:10]]  # larger batches
    assert plan.spread([], 3, max_batches=2) == []


def test_a_connection_supplies_the_elasticsearch_url_and_secrets(tmp_path: Path) -> None:
    settings = make_test_settings(tmp_path)
    conn = FakeConnection(
        host="es01.internal",
        port=9200,
        login="newswatch",
        password="s3cret",
        extra={"ca_certs": "/certs/ca.crt", "verify_certs": True},
    )

    merged = with_connections(settings, {"newswatch_elasticsearch": conn}.get)

    es = merged.index.elasticsearch
    assert es.url == "https://es01.internal:9200"  # https unless the connection says otherwise
    assert es.username == "newswatch"
    assert isinstance(es.password, SecretStr) and es.password.get_secret_value() == "s3cret"
    assert str(es.ca_certs) == "/certs/ca.crt"
    assert "s3cret" not in repr(merged)
    assert merged.fetch == settings.fetch  # nothing else changes
    assert settings.index.elasticsearch.username is None  # the original is untouched


def test_an_api_key_and_a_full_url_in_the_connection_are_used_as_given(tmp_path: Path) -> None:
    conn = FakeConnection(host="http://127.0.0.1", port=9201, extra={"api_key": "k3y"})
    lookup = {"newswatch_elasticsearch": conn}.get
    es = with_connections(make_test_settings(tmp_path), lookup).index.elasticsearch
    assert es.url == "http://127.0.0.1:9201"
    assert es.api_key is not None and es.api_key.get_secret_value() == "k3y"


def test_without_a_connection_the_settings_are_kept(tmp_path: Path) -> None:
    settings = make_test_settings(tmp_path)
    asked: list[str] = []

    def lookup(conn_id: str) -> None:
        asked.append(conn_id)

    assert with_connections(settings, lookup) is settings
    assert sorted(asked) == [
        "newswatch_db",
        "newswatch_elasticsearch",
        "newswatch_smtp",
        "newswatch_webhook",
    ]


def test_every_secret_comes_from_its_connection(tmp_path: Path) -> None:
    settings = make_test_settings(tmp_path, database_url="sqlite:///from-env.db")
    conns = {
        "newswatch_db": FakeConnection(
            host="db.internal", port=5433, login="nw", password="p@ss/word", schema="newswatch"
        ),
        "newswatch_smtp": FakeConnection(
            host="smtp.internal",
            port=587,
            login="alerts",
            password="mail-secret",
            extra={"starttls": True, "sender": "desk@example.org"},
        ),
        "newswatch_webhook": FakeConnection(password="hmac-key"),
    }

    merged = with_connections(settings, conns.get)

    assert merged.database_url == (
        "postgresql+psycopg://nw:p%40ss%2Fword@db.internal:5433/newswatch"
    )
    smtp = merged.alerts.smtp
    assert (smtp.host, smtp.port, smtp.username, smtp.starttls, smtp.sender) == (
        "smtp.internal",
        587,
        "alerts",
        True,
        "desk@example.org",
    )
    assert smtp.password is not None and smtp.password.get_secret_value() == "mail-secret"
    secret = merged.alerts.webhook_secret
    assert secret is not None and secret.get_secret_value() == "hmac-key"
    assert merged.index == settings.index  # no Elasticsearch connection: the settings stay
    for leaked in ("p@ss", "mail-secret", "hmac-key"):
        assert leaked not in repr(merged)
    assert settings.database_url == "sqlite:///from-env.db"  # the original is untouched


def test_a_database_connection_may_name_its_driver(tmp_path: Path) -> None:
    conn = FakeConnection(host="db", schema="nw", extra={"drivername": "postgresql+psycopg2"})
    lookup = {"newswatch_db": conn}.get
    merged = with_connections(make_test_settings(tmp_path), lookup)
    assert merged.database_url == "postgresql+psycopg2://db/nw"


def test_reprocess_since_is_midnight_utc() -> None:
    assert nw.parse_since("2020-07-21") == datetime(2020, 7, 21, tzinfo=UTC)
    assert nw.parse_since(None) is None
    assert nw.parse_since("") is None


def test_default_args_give_retries_with_backoff_and_a_timeout(tmp_path: Path) -> None:
    args = nw.dag_default_args(Settings(data_dir=tmp_path, feeds=[]), timeout_minutes=30)
    assert args["retries"] == 3
    assert args["retry_delay"] == timedelta(seconds=60)
    assert args["retry_exponential_backoff"] == 2.0
    assert args["max_retry_delay"] == timedelta(minutes=30)
    assert args["execution_timeout"] == timedelta(minutes=30)
    assert args["owner"] == "newswatch"


def test_a_cleared_and_rerun_dag_run_reuses_its_run_record(store: Store) -> None:
    first = nw.begin_run(store.sessions, "manual__2026-01-01T00:00:00+00:00")
    again = nw.begin_run(store.sessions, "manual__2026-01-01T00:00:00+00:00")
    other = nw.begin_run(store.sessions, "scheduled__2026-01-01T00:30:00+00:00")
    assert first == again != other
    with store.sessions() as session:
        assert session.query(Run).count() == 2


def feeds(*names: str, **config: Any) -> list[FeedConfig]:
    return [FeedConfig(name=n, url=f"http://127.0.0.1:9/{n}.xml", **config) for n in names]


def test_feed_batches_hold_the_due_feeds_or_the_named_ones(tmp_path: Path, store: Store) -> None:
    settings = make_test_settings(
        tmp_path,
        feeds=[*feeds("a", "b", "c", "d", "e"), *feeds("off", enabled=False)],
        airflow={"feeds_per_task": 2},
    )
    assert nw.due_feed_batches(store.sessions, settings) == [["a", "b"], ["c", "d"], ["e"]]
    with transaction(store.sessions) as session:  # "a" was polled and is not due again yet
        session.get_one(Feed, "a").next_poll_at = utcnow() + timedelta(minutes=30)
    assert nw.due_feed_batches(store.sessions, settings) == [["b", "c"], ["d", "e"]]
    assert nw.due_feed_batches(store.sessions, settings, ["off", "a"]) == [["a", "off"]]
    with pytest.raises(ValueError, match="nope"):
        nw.due_feed_batches(store.sessions, settings, ["nope"])


def add_article(session: Any, n: int, **fields: Any) -> Article:
    values: dict[str, Any] = {
        "id": f"{n:032x}",
        "canonical_url": f"http://127.0.0.2/{n}.html",
        "url": f"http://127.0.0.2/{n}.html",
        "feed_name": "a",
        "status": ArticleStatus.DISCOVERED.value,
        "discovered_at": utcnow() - timedelta(minutes=n),
        "threads": [],
        **fields,
    }
    article = Article(**values)
    session.add(article)
    return article


def test_fetch_batches_hold_every_article_due_for_download(tmp_path: Path, store: Store) -> None:
    now = utcnow()
    with transaction(store.sessions) as session:
        for n in range(5):
            add_article(session, n)
        add_article(session, 5, status="fetch_failed", next_attempt_at=now - timedelta(minutes=1))
        add_article(session, 6, status="fetch_failed", next_attempt_at=now + timedelta(hours=1))
        add_article(session, 7, status="fetch_failed")  # final failure
        add_article(session, 8, status="fetched")
    got, deferred = plan.due_fetch_batches(store.sessions, 4, max_batches=10)
    assert [len(b) for b in got] == [4, 2]
    assert sorted(i for b in got for i in b) == [f"{n:032x}" for n in range(6)]
    assert deferred == 0


def test_extract_and_classify_batches_hold_what_waits_for_each_in_stage_order(
    store: Store,
) -> None:
    with transaction(store.sessions) as session:
        for n in range(5):
            add_article(session, n, status="fetched")
        for n in range(5, 8):
            extracted = add_article(session, n, status="extracted")
            extracted.published_at = utcnow() - timedelta(days=n)  # classify: oldest first
        add_article(session, 8, status="classified")
    fetched = plan.waiting_batches(store.sessions, "extract", 2, max_batches=10)
    # extract takes the oldest discovered first: article n was discovered n minutes ago
    assert fetched == [[f"{n:032x}" for n in (4, 3)], [f"{n:032x}" for n in (2, 1)], ["0" * 32]]
    extracted = plan.waiting_batches(store.sessions, "classify", 2, max_batches=1)
    assert extracted == [[f"{n:032x}" for n in (7, 6, 5)]]
    assert plan.waiting_batches(store.sessions, "fetch", 2, max_batches=10) == []


def test_a_backlog_beyond_max_map_length_is_planned_in_bounded_batches(store: Store) -> None:
    """1,500 due articles, one per batch: more than Airflow's max_map_length (1024) mapped
    instances if planned at once. The plan stops at max_fetch_batches, oldest first, and
    counts the rest; the next plan takes them once the first ones are fetched."""
    backlog = 1500
    with transaction(store.sessions) as session:
        for n in range(backlog):
            add_article(session, n, discovered_at=utcnow() - timedelta(seconds=backlog - n))
    limit = Settings(feeds=[]).airflow.max_fetch_batches
    assert limit < 1024  # below max_map_length's default

    planned, deferred = plan.due_fetch_batches(store.sessions, 1, limit)

    assert len(planned) == limit
    assert deferred == backlog - limit
    assert [b[0] for b in planned] == [f"{n:032x}" for n in range(limit)]  # oldest first
    with transaction(store.sessions) as session:
        for (article_id,) in planned:
            session.get_one(Article, article_id).status = "fetched"
    again, rest = plan.due_fetch_batches(store.sessions, 1, limit)
    assert again[0] == [f"{limit:032x}"] and rest == backlog - 2 * limit
    with pytest.raises(ValueError):  # a plan that Airflow could not expand is refused
        Settings(feeds=[], airflow={"max_fetch_batches": 1024})


def test_the_run_summary_counts_statuses_and_errors_per_feed(store: Store) -> None:
    run_id = nw.begin_run(store.sessions, "manual__x")
    with transaction(store.sessions) as session:
        add_article(session, 1, status="indexed")
        add_article(session, 2, status="indexed", feed_name="b")
        add_article(session, 3, status="fetch_failed", fetch_error="http_client_error")
        add_article(session, 4, status="fetch_failed", fetch_error="timeout", feed_name="b")
    stages = {"poll": {"feeds_polled": 3}, "index": {"indexed": 2}}
    poll_errors = [{"feed": "c", "error": "HTTP 500"}]

    report, errors = nw.finish_run(store.sessions, run_id, stages, poll_errors, failed=[])

    assert report == {
        "run_id": run_id,
        "state": "succeeded",
        "stages": stages,
        "articles_by_status": {"fetch_failed": 2, "indexed": 2},
        "errors_by_feed": {"a": 1, "b": 1, "c": 1},
        "failed_tasks": [],
    }
    assert {(e["stage"], e["feed"], e["error"]) for e in errors} == {
        ("poll", "c", "HTTP 500"),
        ("fetch", "a", "http_client_error"),
        ("fetch", "b", "timeout"),
    }
    with store.sessions() as session:
        run = session.get_one(Run, run_id)
        assert run.state == "succeeded" and run.finished_at is not None
        assert run.counts["articles_by_status"] == {"fetch_failed": 2, "indexed": 2}
    text = nw.format_summary(report, errors)
    assert f"newswatch run {run_id}: succeeded" in text
    assert "index     indexed=2" in text
    assert "c: 1" in text and "poll: feed document: HTTP 500" in text
    assert "fetch: http://127.0.0.2/3.html: http_client_error" in text


def test_a_run_with_failed_tasks_is_recorded_as_failed(store: Store) -> None:
    run_id = nw.begin_run(store.sessions, "manual__y")
    report, _ = nw.finish_run(store.sessions, run_id, {}, [], failed=["index"])
    assert report["state"] == "failed"
    assert report["failed_tasks"] == ["index"]
    assert "failed tasks: index" in nw.format_summary(report, [])


def test_failed_tasks_are_those_failed_or_never_run_because_of_a_failure() -> None:
    states = {
        "start": "success",
        "poll_feeds_0": "success",
        "poll_feeds_1": "failed",
        "plan_fetch": "upstream_failed",
        "publish": "skipped",
        "summary": "running",
    }
    assert nw.failed_tasks(states) == ["plan_fetch", "poll_feeds_1"]


def test_mapped_counts_are_summed_and_skipped_instances_ignored() -> None:
    assert nw.sum_counts([{"fetched": 2, "x": 1}, None, {"fetched": 3}]) == {"fetched": 5, "x": 1}
