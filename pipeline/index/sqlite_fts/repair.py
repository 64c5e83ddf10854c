"""A damaged index file is moved aside, never deleted: the store can always rebuild it."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from pipeline.records import utcnow

log = logging.getLogger(__name__)


def set_aside_if_damaged(path: Path) -> Path | None:
    """Rename a damaged `path` (and its -wal/-shm) to `*.damaged-<UTC time>`; the new name,
    or None when the file is missing or healthy. A locked file is not damage: it raises."""
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(path, timeout=10.0, isolation_level=None)
        try:
            healthy = conn.execute("PRAGMA quick_check").fetchone() == ("ok",)
        finally:
            conn.close()
    except sqlite3.OperationalError:
        raise  # locked or unreadable: not evidence of damage
    except sqlite3.DatabaseError:
        healthy = False  # "file is not a database", "database disk image is malformed"
    if healthy:
        return None
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    for suffix in ("", "-wal", "-shm"):
        part = path.with_name(path.name + suffix)
        if part.exists():
            part.rename(part.with_name(f"{part.name}.damaged-{stamp}"))
    log.warning("search index %s was damaged; moved aside as *.damaged-%s", path, stamp)
    return path.with_name(f"{path.name}.damaged-{stamp}")
