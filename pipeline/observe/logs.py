"""Structured logs: one line per stage batch with its counts and duration; JSON on request.

Every batch a stage finishes logs ``newswatch.stages`` at INFO, e.g.::

    stage=fetch batch=3 items=16 seconds=4.210 fetched=14 fetch_retry_timeout=2

With ``observability.log_format = "json"`` each line is one JSON object whose fields
(``stage``, ``batch``, ``items``, ``seconds``, ``counts``) a log pipeline can index.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pipeline.config import ObservabilitySettings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

STAGE_LOG = logging.getLogger("newswatch.stages")
FIELDS = "newswatch"  # the LogRecord attribute holding a line's structured fields


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message and any fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, Mapping):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(settings: ObservabilitySettings) -> None:
    """With log_format "json", newswatch's records go to stderr as JSON lines at log_level
    (the CLI and `serve`). Text is Python's default and is left alone; under Airflow its
    own handlers write the task logs, and each stage line still carries its fields."""
    if settings.log_format != "json":
        return
    logger = logging.getLogger("newswatch")
    logger.setLevel(settings.log_level)
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logger.handlers = [handler]
    logger.propagate = False


class BatchLog:
    """Times one batch of a stage; `done` logs its line and adds it to the stage timings.

    Counts are a stage's running totals: the line shows what this batch added.
    """

    def __init__(
        self,
        stage: str,
        counts: Mapping[str, int],
        sessions: sessionmaker[Session] | None = None,
        number: int = 1,
    ) -> None:
        self.stage = stage
        self.number = number
        self._sessions = sessions
        self._before = dict(counts)
        self._started = time.perf_counter()

    def done(self, counts: Mapping[str, int], items: int) -> float:
        seconds = time.perf_counter() - self._started
        added = {k: v - self._before.get(k, 0) for k, v in counts.items()}
        added = {k: v for k, v in sorted(added.items()) if v}
        shown = " ".join(f"{k}={v}" for k, v in added.items())
        fields = {
            "stage": self.stage,
            "batch": self.number,
            "items": items,
            "seconds": round(seconds, 3),
            "counts": added,
        }
        STAGE_LOG.info(
            "stage=%s batch=%d items=%d seconds=%.3f %s",
            self.stage,
            self.number,
            items,
            seconds,
            shown,
            extra={FIELDS: fields},
        )
        if self._sessions is not None:
            from pipeline.observe.timings import record_timing

            record_timing(self._sessions, self.stage, items, seconds)
        return seconds

    def next(self, counts: Mapping[str, int]) -> BatchLog:
        """The log of the following batch."""
        return BatchLog(self.stage, counts, self._sessions, self.number + 1)
