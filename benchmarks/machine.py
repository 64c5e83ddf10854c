"""What every benchmark report shares: the machine line, and writing the report out."""

from __future__ import annotations

import os
import platform
import sqlite3
from datetime import UTC, datetime
from pathlib import Path


def describe() -> str:
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}; load average at the "
        f"end {load} (shared machine); {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def write_report(path: Path, lines: list[str]) -> None:
    """Write the report (Markdown lines) to `path` and print it."""
    text = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(text)
