"""A store that cannot be used, said in one line: which file or server, and what to do.

The CLI turns these into exit 3 and the service into 503 (a data directory that cannot be
created is the user's configuration: exit 2).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.engine import URL, ExceptionContext
from sqlalchemy.exc import DatabaseError, DataError, IntegrityError

_LOCATION = "newswatch_store"  # attribute set on SQLAlchemy errors by the engine's hook


class DataDirError(ValueError):
    """A directory for local state cannot be created or used."""


def ensure_directory(path: Path) -> Path:
    """Create `path` (and parents) or raise DataDirError naming it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise DataDirError(
            f"cannot create the data directory {path}: {reason} "
            "(set data_dir or NEWSWATCH_DATA_DIR to a writable directory)"
        ) from None
    return path


def location(url: URL) -> str:
    """The SQLite file, or the server URL without its password."""
    if url.get_backend_name() == "sqlite":
        return str(url.database or ":memory:")
    return url.render_as_string(hide_password=True)


def name_store_in_errors(engine: Engine) -> None:
    """Tag every database error raised through `engine` with the store's location."""

    @event.listens_for(engine, "handle_error")
    def _tag(context: ExceptionContext) -> None:
        if context.sqlalchemy_exception is not None:
            setattr(context.sqlalchemy_exception, _LOCATION, location(engine.url))


def unusable_store_message(exc: BaseException) -> str | None:
    """One line for a database error that means the store cannot be used, else None.

    Integrity and data errors are the program's, not the store's: they stay tracebacks.
    """
    if not isinstance(exc, DatabaseError) or isinstance(exc, IntegrityError | DataError):
        return None
    where = getattr(exc, _LOCATION, None) or "the database"
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
    if type(exc) is DatabaseError:  # SQLite: "file is not a database", "disk image is malformed"
        return (
            f"the store {where} is damaged ({reason}): restore it from a backup, or move it "
            "aside and run `newswatch db upgrade` to start an empty one"
        )
    return (
        f"the store {where} is unavailable ({reason}): check that the server is running and "
        "database_url is right (SQLite: the file's permissions; `newswatch db upgrade` "
        "creates missing tables)"
    )
