"""The stage tasks both the ingest and the backfill DAG run once pages are fetched.

`plan_extract` → `extract` (mapped) → `plan_classify` → `classify` (mapped) → `index`
and `alerts`. Each is a one-line shell over a stage function; a DAG wires them with
`.expand(article_ids=...)` and sets its own trigger rules with `.override(...)`.

Mapped classify instances run at once: each claims only its own articles, and the
cluster step of each batch is serialised by the store's dedup lock
(`pipeline.classify.repository.lock_dedup`), so two copies of a story in different
instances still end in one cluster.

Imported at DAG parse time, so only Airflow's SDK is imported here; the store and the
stages are imported inside the tasks.
"""

from __future__ import annotations

from airflow.sdk import task


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
        return waiting_batches(
            store.sessions, stage, conf.articles_per_task, conf.max_fetch_batches
        )
