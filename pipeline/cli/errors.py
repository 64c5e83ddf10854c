"""One way every `newswatch` command fails: one line on stderr and one set of exit codes.

0 success; 1 the command ran but failed (e.g. a run that stopped on an error); 2 bad input
or configuration (a data directory that cannot be created); 3 a backend (database, search
index) is unavailable or damaged, said with the file or server and what to do. Never a
traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NoReturn, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.exc import DatabaseError

from pipeline.cli.output import err_console, escape_markup
from pipeline.index.base import BackendUnavailable, SearchError
from pipeline.store.errors import unusable_store_message

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_UNAVAILABLE = 0, 1, 2, 3

P = ParamSpec("P")
R = TypeVar("R")


class CliError(Exception):
    """A failure the command reports as it is, with its exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def clean_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn expected failures into one line on stderr and a meaningful exit code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CliError as exc:
            fail(str(exc), exc.code)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            fail(f"invalid configuration: {where}: {first['msg']}", EXIT_BAD_INPUT)
        # SearchError covers the query parser's and the search parameters' errors;
        # the rules, seeds and threads files raise ValueError subclasses.
        except (SearchError, ValueError, FileNotFoundError) as exc:
            fail(str(exc), EXIT_BAD_INPUT)
        except BackendUnavailable as exc:
            fail(f"search backend unavailable: {exc}", EXIT_UNAVAILABLE)
        except DatabaseError as exc:  # a store that cannot be used; else a bug: traceback
            message = unusable_store_message(exc)
            if message is None:
                raise
            fail(message, EXIT_UNAVAILABLE)

    return wrapper


def fail(message: str, code: int) -> NoReturn:
    line = " ".join(message.split())  # one line, whatever the message holds
    err_console.print(f"[red]error:[/red] {escape_markup(line)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)
