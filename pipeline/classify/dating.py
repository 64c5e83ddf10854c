"""When an article appeared, how many days that is from its seed, and the timing evidence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pipeline.config import DedupSettings


@dataclass(frozen=True)
class Dated:
    """When an article appeared: its publication time, else its discovery time."""

    at: datetime
    source: str  # "published" or "discovered"

    @classmethod
    def of(cls, published: datetime | None, discovered: datetime | None) -> Dated | None:
        if published is not None:
            return cls(_utc(published), "published")
        if discovered is not None:
            return cls(_utc(discovered), "discovered")
        return None


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def days_from_seed(when: Dated | None, seed_day: date | None) -> int | None:
    """Whole days from the seed's publication day to the article's (UTC), if both known."""
    if when is None or seed_day is None:
        return None
    return (when.at.date() - seed_day).days


def timing(
    when: Dated | None, seed_day: date | None, days: int | None, settings: DedupSettings
) -> dict[str, Any]:
    """The relation's timing evidence."""
    return {
        "article_date": when.at.isoformat() if when else None,
        "dated_by": when.source if when else "none",
        "seed_date": seed_day.isoformat() if seed_day else None,
        "days_after_seed": days,
        "same_day_tolerance_days": settings.same_day_tolerance_days,
    }
