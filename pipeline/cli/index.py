"""`newswatch index …`: the search index's set-up, outbox, health, rebuild and retries."""

from __future__ import annotations

import typer

from pipeline.cli.context import connect, load
from pipeline.cli.errors import clean_errors
from pipeline.cli.output import console, print_index_status
from pipeline.index.factory import open_index

index_app = typer.Typer(no_args_is_help=True, help="Search-index maintenance.")


@index_app.command("status")
@clean_errors
def index_status() -> None:
    """Outbox counts (pending, indexed, failed) and the backend's health."""
    from pipeline.index.stage import outbox_counts

    settings = load()
    counts = outbox_counts(connect(settings).sessions)
    backend = open_index(settings)
    backend.ensure_ready()
    print_index_status(backend.name, counts, backend.health())


@index_app.command("setup")
@clean_errors
def index_setup() -> None:
    """Install or update the index template and create the first index and its aliases.

    Run by ops (or the maintenance DAG) with a credential that may manage templates;
    ingest runs then only need to write documents.
    """
    from pipeline.index.stage import setup_index

    settings = load()
    backend = open_index(settings)
    setup_index(backend)
    console.print(f"{backend.name} index is set up: {backend.health()}")


@index_app.command("rebuild")
@clean_errors
def index_rebuild() -> None:
    """Build a fresh index from the store and switch searchers to it when complete."""
    from pipeline.index.stage import rebuild_index

    settings = load()
    backend = open_index(settings)  # rebuild readies it, moving a damaged SQLite index aside
    counts = rebuild_index(connect(settings).sessions, backend)
    console.print(f"rebuilt the {backend.name} index: {dict(counts)}")


@index_app.command("retry")
@clean_errors
def index_retry() -> None:
    """Put articles whose indexing failed back in the outbox for the next run."""
    from pipeline.index.stage import requeue

    requeued = requeue(connect(load()).sessions, failed_only=True)
    console.print(f"{requeued} failed articles are pending again")
