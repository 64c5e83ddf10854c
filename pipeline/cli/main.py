"""The `newswatch` command: a thin shell over the stage functions.

Each command lives beside its kind (run.py, search.py, index.py, alerts.py); this module
assembles them and holds the small ones. Every command fails the same way: see errors.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from pipeline.cli import run as run_commands
from pipeline.cli.alerts import alerts_app
from pipeline.cli.backfill import backfill
from pipeline.cli.context import connect, load
from pipeline.cli.errors import EXIT_FAILED, clean_errors
from pipeline.cli.index import index_app
from pipeline.cli.output import console, json_default, print_classification, print_feeds
from pipeline.cli.search import search
from pipeline.store import open_store
from pipeline.store.migrate import current_revision, upgrade
from pipeline.store.models import Feed

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="newswatch: follow a developing story across news feeds.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
app.command("run")(run_commands.run)
app.command("search")(search)
app.command("backfill")(backfill)
app.add_typer(db_app, name="db")
app.add_typer(alerts_app, name="alerts")
app.add_typer(index_app, name="index")


@app.callback()
def main(
    config: Annotated[
        Path | None, typer.Option(help="TOML settings file (default ./newswatch.toml).")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Overrides the data_dir setting.")] = None,
) -> None:
    if config is not None:
        os.environ["NEWSWATCH_CONFIG"] = str(config)
    if data_dir is not None:
        os.environ["NEWSWATCH_DATA_DIR"] = str(data_dir)


@app.command()
@clean_errors
def feeds() -> None:
    """List each feed and its health."""
    settings = load()
    store = connect(settings)
    from pipeline.feeds.stage import sync_feed_rows

    sync_feed_rows(store.sessions, settings.feeds)
    with store.sessions() as session:
        rows = list(session.scalars(select(Feed).order_by(Feed.name)))
    print_feeds(rows, {f.name: f.enabled for f in settings.feeds})


@db_app.command("upgrade")
@clean_errors
def db_upgrade() -> None:
    """Apply the database migrations."""
    settings = load()
    store = open_store(settings.resolved_database_url, migrate=False)
    upgrade(store.engine)
    console.print(f"database at revision {current_revision(store.engine)}")


@app.command("serve")
@clean_errors
def serve_command(
    host: Annotated[str | None, typer.Option(help="Bind address (default: api.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: api.port).")] = None,
) -> None:
    """Serve the search API and the journalists' web page."""
    from pipeline.api.server import serve

    serve(load(), host, port, from_environment=True)


app.command("demo")(run_commands.demo)


@app.command()
@clean_errors
def classify(
    inputs: Annotated[list[str], typer.Argument(help="HTML/text files or http(s) URLs.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per input.")] = False,
) -> None:
    """Extract, deduplicate and relate pages to the seed, without feeds or store writes."""
    from pipeline.classify.given_pages import classify_inputs

    settings = load()
    results = classify_inputs(inputs, settings, connect(settings).sessions)
    if as_json:
        for result in results:
            print(json.dumps(result, ensure_ascii=False, default=json_default))
    else:
        print_classification(results)
    if any("error" in result for result in results):
        raise typer.Exit(EXIT_FAILED)
