"""Stage timings in the store, so every process (CLI, Airflow workers, the search service)
can report how long the stages take, whichever process ran them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from pipeline.records import utcnow
from pipeline.store.db import transaction
from pipeline.store.inserts import insert_new
from pipeline.store.models import Base


class StageTiming(Base):
    """Running totals per stage: batches done, items handled, seconds spent."""

    __tablename__ = "stage_timings"

    stage: Mapped[str] = mapped_column(String(32), primary_key=True)
    batches: Mapped[int] = mapped_column(Integer, default=0)
    items: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    last_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    last_at: Mapped[datetime | None]


def record_timing(sessions: sessionmaker[Session], stage: str, items: int, seconds: float) -> None:
    """Add one batch to the stage's totals (one atomic UPDATE: concurrent workers add up)."""
    now = utcnow()
    with transaction(sessions) as session:
        insert_new(
            session,
            StageTiming,
            [{"stage": stage, "batches": 0, "items": 0, "seconds": 0.0, "last_seconds": 0.0}],
            ["stage"],
            StageTiming.stage,
        )
        session.execute(
            update(StageTiming)
            .where(StageTiming.stage == stage)
            .values(
                batches=StageTiming.batches + 1,
                items=StageTiming.items + items,
                seconds=StageTiming.seconds + seconds,
                last_seconds=seconds,
                last_at=now,
            )
        )
