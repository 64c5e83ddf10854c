"""What the Airflow DAGs need besides the stage functions.

- settings under Airflow: newswatch settings, with secrets taken from Airflow
  Connections when they exist (``pipeline.runs.airflow_connections``);
- the DAGs' default task arguments (retries, backoff, timeouts) from ``[airflow]`` settings;
- batching for the mapped poll task (the other stages' batches are in
  ``pipeline.runs.plan``, shared with `newswatch run`'s worker processes);
- the run summary that the last task logs and returns (the run record is pipeline/runs/record.py).

Importable without Airflow: Airflow, the store and the stages are imported inside
the functions that need them, so a DAG file that imports this module at parse time
pulls in nothing heavier than the settings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from pipeline.config import Settings
from pipeline.runs.plan import batches

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from pipeline.index.base import SearchIndex
    from pipeline.store import Store

OWNER = "newswatch"
ARTICLES_ASSET_NAME = "newswatch_articles"
# Custom asset schemes must start with "x-"; this one names the search index's contents.
ARTICLES_ASSET_URI = "x-newswatch://search-index/articles"


def dag_default_args(settings: Settings, timeout_minutes: float) -> dict[str, Any]:
    """Retries with exponential backoff and a timeout for every task of a DAG."""
    conf = settings.airflow
    return {
        "owner": OWNER,
        "retries": conf.retries,
        "retry_delay": timedelta(seconds=conf.retry_delay_seconds),
        "retry_exponential_backoff": 2.0,  # the delay doubles with each retry
        "max_retry_delay": timedelta(seconds=conf.max_retry_delay_seconds),
        "execution_timeout": timedelta(minutes=timeout_minutes),
    }


def dagrun_timeout(minutes: float) -> timedelta:
    return timedelta(minutes=minutes)


def task_settings() -> Settings:
    """Settings for a running task: newswatch settings plus secrets from Connections."""
    from pipeline.runs.airflow_connections import airflow_connection, with_connections

    return with_connections(Settings(), airflow_connection)


@contextmanager
def task_store() -> Iterator[tuple[Settings, Store]]:
    """Settings and an open store for one task; the store's connections close with it."""
    from pipeline.observe.metrics import export_metrics
    from pipeline.store import open_store

    settings = task_settings()
    store = open_store(settings.resolved_database_url)
    try:
        yield settings, store
        export_metrics(store.sessions, settings.observability)  # textfile / Pushgateway
    finally:
        store.dispose()


def parse_since(value: str | None) -> datetime | None:
    """The `reprocess_since` param (YYYY-MM-DD) as midnight UTC."""
    if not value:
        return None
    return datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)


def begin_run(sessions: sessionmaker[Session], external_id: str) -> int:
    """The store's run record for an Airflow run; a cleared and re-run DAG run reuses it."""
    from pipeline.runs.record import open_run

    return open_run(sessions, "airflow", external_id)


def due_feed_batches(
    sessions: sessionmaker[Session], settings: Settings, feeds: Sequence[str] = ()
) -> list[list[str]]:
    """The feeds to poll (the named ones, else those due), in batches for the mapped tasks.

    Feed state rows are created here, once, so the mapped poll tasks never race to
    insert them. Raises ValueError for an unknown feed name.
    """
    from pipeline.feeds.stage import due_feeds, sync_feed_rows

    sync_feed_rows(sessions, settings.feeds)
    names = [f.name for f in due_feeds(sessions, settings, names=list(feeds) or None)]
    return batches(names, settings.airflow.feeds_per_task)


def sum_counts(results: Iterable[Mapping[str, int] | None]) -> dict[str, int]:
    """Counts of a mapped task: the sum over its instances (skipped ones give None)."""
    total: Counter[str] = Counter()
    for counts in results:
        total.update(counts or {})
    return dict(sorted(total.items()))


def finish_run(
    sessions: sessionmaker[Session],
    run_id: int,
    stages: Mapping[str, Mapping[str, int]],
    poll_errors: Sequence[Mapping[str, str]],
    failed: Sequence[str],
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Close the run record; returns the run summary (small enough for XCom) and the
    errors it counts, one per feed problem or failed download, for the log."""
    from pipeline.records import RunState
    from pipeline.runs.record import close_run

    state = RunState.FAILED if failed else RunState.SUCCEEDED
    summary = close_run(sessions, run_id, stages, poll_errors, state)
    report = {
        "run_id": run_id,
        "state": summary.state.value,
        "stages": summary.stage_counts,
        "articles_by_status": summary.status_counts,
        "errors_by_feed": dict(sorted(Counter(e["feed"] for e in summary.errors).items())),
        "failed_tasks": sorted(failed),
    }
    return report, summary.errors


def failed_tasks(task_states: Mapping[str, Any]) -> list[str]:
    """Task instances (task_id or task_id_mapindex) that failed or never ran for it."""
    return sorted(k for k, state in task_states.items() if state in ("failed", "upstream_failed"))


def format_summary(summary: Mapping[str, Any], errors: Sequence[Mapping[str, str]]) -> str:
    """The run summary as log lines: stage counts, articles per status, errors per feed."""
    lines = [f"newswatch run {summary['run_id']}: {summary['state']}"]
    for stage, counts in summary["stages"].items():
        shown = " ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "nothing to do"
        lines.append(f"  {stage:<9} {shown}")
    statuses = " ".join(f"{k}={v}" for k, v in summary["articles_by_status"].items())
    lines.append(f"  articles  {statuses or 'none'}")
    if summary["failed_tasks"]:
        lines.append(f"  failed tasks: {', '.join(summary['failed_tasks'])}")
    if errors:
        lines.append("  errors by feed:")
        for feed, count in summary["errors_by_feed"].items():
            lines.append(f"    {feed or '(no feed)'}: {count}")
            for error in errors:
                if error.get("feed", "") == feed:
                    where = error.get("url", "feed document")
                    lines.append(f"      {error['stage']}: {where}: {error['error']}")
    return "\n".join(lines)


def ready_index(settings: Settings) -> SearchIndex:
    """The configured search backend, created if missing; raises BackendUnavailable, and
    fails the task without retries when the backend refuses the credentials (401/403)."""
    from pipeline.index.factory import open_index

    backend = open_index(settings)
    with no_retry_on_config_errors():
        backend.ensure_ready()
    return backend


@contextmanager
def no_retry_on_config_errors() -> Iterator[None]:
    """A refused credential or privilege fails the task at once: retrying cannot fix it."""
    from airflow.sdk.exceptions import AirflowFailException

    from pipeline.index.base import BackendConfigError

    try:
        yield
    except BackendConfigError as exc:
        raise AirflowFailException(str(exc)) from exc


def feed_health(sessions: sessionmaker[Session], min_failures: int) -> list[dict[str, Any]]:
    """Feeds whose last `min_failures` polls all failed, for the maintenance report."""
    from pipeline.feeds.stage import failing_feeds

    return [
        {
            "feed": feed.name,
            "consecutive_failures": feed.consecutive_failures,
            "last_error": feed.last_error or "",
            "last_success_at": feed.last_success_at.isoformat() if feed.last_success_at else None,
            "url": feed.url,
        }
        for feed in failing_feeds(sessions, min_failures)
    ]


def index_outbox(sessions: sessionmaker[Session], settings: Settings) -> dict[str, int]:
    """The index stage, failing when the backend is down so that Airflow retries it.

    The articles stay in the outbox either way; the failure makes the outage visible
    and brings the retry (with backoff) forward from the next scheduled run.
    """
    from pipeline.index.base import BackendUnavailable
    from pipeline.index.stage import index_pending

    backend = ready_index(settings)
    with no_retry_on_config_errors():
        counts = index_pending(sessions, backend, settings.index)
    if counts["backend_unavailable"]:
        raise BackendUnavailable(
            f"the search backend went away; {counts['index_deferred']} articles wait in the outbox"
        )
    return dict(counts)
