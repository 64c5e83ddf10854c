"""One line describing the machine and its load, for every benchmark report."""

from __future__ import annotations

import os
import platform
import sqlite3
from datetime import UTC, datetime


def describe() -> str:
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}; load average at the "
        f"end {load} (shared machine); {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
