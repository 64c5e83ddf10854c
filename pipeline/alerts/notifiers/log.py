"""The log channel: one INFO line per story on the `newswatch.alerts` logger."""

from __future__ import annotations

import logging

from pipeline.alerts.messages import AlertMessage
from pipeline.alerts.render import log_line

logger = logging.getLogger("newswatch.alerts")


def send(message: AlertMessage) -> None:
    for item in message.items:
        logger.info("%s", log_line(message, item))
