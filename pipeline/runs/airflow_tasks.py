"""The stage tasks both the ingest and the backfill DAG run once pages are fetched.

`plan_extract` → `extract` (mapped) → `plan_classify` → `classify` (mapped) → `index`
and `alerts`. Each is a one-line shell over a stage function; `after_fetch` wires them
into a DAG behind its fetch tasks.

Mapped classify instances run at once: each claims only its own articles, and the
cluster step of each batch is serialised by the store's dedup lock
(`pipeline.classify.repository.lock_dedup`), so two copies of a story in different
instances still end in one cluster.

Imported at DAG parse time, so only Airflow's SDK is imported here; the store and the
stages are imported inside the tasks.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import task


def after_fetch(fetched: Any, after_mapped: str) -> dict[str, Any]:
    """Wire the stage tasks behind `fetched` in the DAG being defined; returns each
    stage's output by name (extract, classify, index, alerts) for the DAG's summary.

    `after_mapped` is the DAG's trigger rule for a task after a mapped one: a mapped task
    with no batch is skipped, and a failed batch must not hold back the others.
    """
    extract_batches = plan_extract.override(trigger_rule=after_mapped)()
    fetched >> extract_batches
    extracted = extract.expand(article_ids=extract_batches)
    classify_batches = plan_classify.override(trigger_rule=after_mapped)()
    extracted >> classify_batches
    classified = classify.expand(article_ids=classify_batches)
    indexed = index.override(trigger_rule=after_mapped)()
    classified >> indexed
    alerted = alerts.override(trigger_rule=after_mapped)()
    classified >> alerted  # alerts need classified articles, not the search backend
    return {"extract": extracted, "classify": classified, "index": indexed, "alerts": alerted}


@task
def plan_extract() -> list[list[str]]:
    """The fetched articles waiting for extraction, in batches for the mapped `extract`."""
    return _waiting_batches("extract")


@task
def extract(article_ids: list[str]) -> dict[str, int]:
    from pipeline.extract.stage import extract_pending
    from pipeline.runs import airflow_support as nw

    with nw.task_store() as (settings, store):
        return dict(extract_pending(store.sessions, settings.extract, article_ids=article_ids))


@task
def plan_classify() -> list[list[str]]:
    """The extracted articles waiting for classification, in batches for `classify`."""
    return _waiting_batches("classify")


@task
def classify(article_ids: list[str]) -> dict[str, int]:
    from pipeline.classify.stage import classify_pending
    from pipeline.runs import airflow_support as nw

    with nw.task_store() as (settings, store):
        return dict(classify_pending(store.sessions, settings, article_ids=article_ids))


@task
def index() -> dict[str, int]:
    from pipeline.runs import airflow_support as nw

    with nw.task_store() as (settings, store):
        return nw.index_outbox(store.sessions, settings)


@task
def alerts() -> dict[str, int]:
    """Raise alerts on what is new (once per story and rule) and deliver what is due."""
    from pipeline.alerts.stage import run_alerts
    from pipeline.runs import airflow_support as nw

    with nw.task_store() as (settings, store):
        return dict(run_alerts(store.sessions, settings))


def _waiting_batches(stage: str) -> list[list[str]]:
    from pipeline.runs import airflow_support as nw
    from pipeline.runs.plan import waiting_batches

    with nw.task_store() as (settings, store):
        conf = settings.airflow
        size = conf.articles_per_classify_task if stage == "classify" else conf.articles_per_task
        return waiting_batches(store.sessions, stage, size, conf.max_fetch_batches)
