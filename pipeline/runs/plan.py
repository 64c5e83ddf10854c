"""Batches of the articles waiting for a stage, for mapped work.

The ingest and backfill DAGs expand their fetch, extract and classify tasks over these
batches (one mapped instance each), and `newswatch run` with run.workers > 1 hands them
to its worker processes (``pipeline.runs.workers``). Only ids are planned: each batch's
stage call claims its own rows, so a batch planned twice is still done once.

Importable without Airflow, and light: the stages are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

WAITING_STAGES = ("fetch", "extract", "classify")


def batches(items: Sequence[str], size: int) -> list[list[str]]:
    """Consecutive slices of at most `size` items: one per mapped task instance."""
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def spread(items: Sequence[str], size: int, max_batches: int) -> list[list[str]]:
    """Batches of `size` items, larger when that would make more than `max_batches`: all
    of `items` is planned, in at most `max_batches` mapped instances."""
    return batches(items, max(size, -(-len(items) // max_batches)))


def due_fetch_batches(
    sessions: sessionmaker[Session], size: int, max_batches: int
) -> tuple[list[list[str]], int]:
    """Ids of the articles due for download now, oldest first, in at most `max_batches`
    batches for the mapped fetch tasks; and how many more are due (they wait for the
    next run). Only the planned ids are read, so a huge backlog costs one count."""
    from sqlalchemy import func, select

    from pipeline.fetch.stage import due_for_fetch
    from pipeline.records import utcnow
    from pipeline.store.models import Article

    cap = size * max_batches
    due = due_for_fetch(utcnow())
    with sessions() as session:
        ids = list(session.scalars(due.with_only_columns(Article.id).limit(cap)))
        deferred = 0
        if len(ids) == cap:
            total = session.scalar(select(func.count()).select_from(due.order_by(None).subquery()))
            deferred = max((total or 0) - cap, 0)
    return batches(ids, size), deferred


def waiting_batches(
    sessions: sessionmaker[Session], stage: str, size: int, max_batches: int
) -> list[list[str]]:
    """Ids of every article waiting for `stage` (one of WAITING_STAGES), in that stage's
    order, spread over at most `max_batches` batches."""
    from pipeline.classify.stage import due_for_classify
    from pipeline.extract.stage import due_for_extract
    from pipeline.fetch.stage import due_for_fetch
    from pipeline.records import utcnow
    from pipeline.store.models import Article

    if stage == "fetch":
        due = due_for_fetch(utcnow())
    elif stage == "extract":
        due = due_for_extract()
    elif stage == "classify":
        due = due_for_classify()
    else:
        raise ValueError(f"no waiting articles for stage {stage!r}; one of {WAITING_STAGES}")
    with sessions() as session:
        ids = list(session.scalars(due.with_only_columns(Article.id)))
    return spread(ids, size, max_batches)
