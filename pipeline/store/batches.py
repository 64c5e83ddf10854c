"""Draining a stage's work: claim a batch, process it, write back and commit, repeat.

Every stage that works through rows waiting for it (fetch, extract, classify, index,
alerts) goes through `drain`, so they share one meaning of a batch: one transaction,
committed as a whole, claimed so that concurrent workers never take the same rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from pipeline.observe.logs import BatchLog
from pipeline.store.models import Article

# What every stage returns: how many records ended up where ("fetched", "no_content", ...).
StageCounts: TypeAlias = Counter[str]

T = TypeVar("T")

# Called with the open transaction, the claimed rows and the stage's counts. Returning
# True stops draining once this batch is committed (e.g. the search backend went away).
BatchWork: TypeAlias = Callable[[Session, list[T], StageCounts], bool | None]


def claim(
    session: Session, stmt: Select[Any], *, of: type[DeclarativeBase] | None = None
) -> Select[Any]:
    """Lock the selected rows for this transaction so concurrent workers skip them.

    PostgreSQL gets FOR UPDATE SKIP LOCKED (`of` names the table to lock when the
    statement joins others that may be NULL); SQLite has a single writer and no row
    locks, so the statement is returned unchanged there.
    """
    if session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True, of=of)
    return stmt


def only_articles(stmt: Select[T], article_ids: Sequence[str] | None) -> Select[T]:
    """`stmt` narrowed to the given article ids; all of them when `article_ids` is None
    (the stages' optional `article_ids` argument)."""
    if article_ids is None:
        return stmt
    return stmt.where(Article.id.in_(list(article_ids)))


def drain(
    sessions: sessionmaker[Session],
    due: Callable[[], Select[T]],
    work: BatchWork[T],
    *,
    batch_size: int,
    lock_of: type[DeclarativeBase] | None = None,
    stage: str | None = None,
) -> StageCounts:
    """Claim up to `batch_size` of the rows `due()` selects, work on them and commit;
    repeat until none is due. Returns the counts `work` kept.

    `due` is called afresh for every batch (its notion of "now" moves on) and must give
    a stable order. Each batch is one transaction, so a crash loses at most the batch in
    hand, whose rows are then still due for the next run; on PostgreSQL the claimed
    rows stay locked (SKIP LOCKED) until the commit.

    With a `stage` name, each batch logs one structured line (counts, duration) and adds
    to the stage's timings in the store (`pipeline.observe`).
    """
    counts: StageCounts = Counter()
    log = BatchLog(stage, counts, sessions) if stage else None
    while True:
        with sessions() as session, session.begin():
            stmt = claim(session, due().limit(batch_size), of=lock_of)
            batch: list[T] = list(session.scalars(stmt))
            if not batch:
                return counts
            stop = work(session, batch, counts)
        if log is not None:
            log.done(counts, len(batch))
            log = log.next(counts)
        if stop:
            return counts
