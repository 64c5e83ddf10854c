"""Per-host politeness across processes: each host's next allowed request time, in the store.

`Throttle` spaces out requests to one host inside one process. Mapped Airflow tasks
run in many processes (and on many workers) at once, so the fetch stage also reserves
each request's start time here: one compare-and-swap on the host's row, which is
atomic on SQLite and PostgreSQL alike. A reservation never waits on a lock; two
workers that race for one slot both re-read and one takes the next slot.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from pipeline.records import utcnow
from pipeline.store.db import transaction
from pipeline.store.inserts import insert_new
from pipeline.store.models import Base


class HostSlot(Base):
    """When the next request to a host may start, over every fetching process."""

    __tablename__ = "host_slots"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    next_allowed_at: Mapped[datetime]


class StoreHostClock:
    """Reserves request start times per host in the store (see the module docstring)."""

    MAX_TRIES = 50  # racing workers each win within a few tries; this only stops a livelock

    def __init__(self, sessions: sessionmaker[Session], gap_seconds: float) -> None:
        self._sessions = sessions
        self._gap = timedelta(seconds=gap_seconds)

    def reserve(self, host: str, gap_seconds: float | None = None) -> datetime:
        """The start time reserved for one request to `host` (now, or later if it is busy);
        the next request may start `gap_seconds` later (default: the clock's gap)."""
        host = host.lower()[:255]
        gap = self._gap if gap_seconds is None else timedelta(seconds=gap_seconds)
        for _ in range(self.MAX_TRIES):
            with transaction(self._sessions) as session:
                seen = session.scalar(select(HostSlot.next_allowed_at).where(HostSlot.host == host))
                if seen is None:  # the host's first request anywhere: add its row, then swap
                    insert_new(
                        session,
                        HostSlot,
                        [{"host": host, "next_allowed_at": utcnow() - gap}],
                        ["host"],
                        HostSlot.host,
                    )
                    continue
                start = max(utcnow(), seen)
                swapped = session.execute(
                    update(HostSlot)
                    .where(HostSlot.host == host, HostSlot.next_allowed_at == seen)
                    .values(next_allowed_at=start + gap)
                )
                if swapped.rowcount:  # type: ignore[attr-defined]
                    return start
        return utcnow() + gap  # contention beyond reason: wait one gap and go

    async def wait_turn(self, host: str, gap_seconds: float | None = None) -> None:
        """Sleep until this process's reserved turn for `host` has come."""
        start = await asyncio.to_thread(self.reserve, host, gap_seconds)
        delay = (start - utcnow()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
