"""The `newswatch` command: a thin shell over the stage functions.

Exit codes: 0 success; 1 the command ran but failed (e.g. a run that stopped on an
error); 2 bad input or configuration; 3 a backend (database, search index) is
unavailable. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from pipeline.cli.alerts import alerts_app
from pipeline.cli.output import (
    console,
    err_console,
    print_classification,
    print_feeds,
    print_index_status,
    print_run_summary,
    print_search_page,
    print_seed_followups,
)
from pipeline.config import Settings
from pipeline.index.base import BackendUnavailable, SearchError, SearchQuery
from pipeline.index.factory import open_index
from pipeline.runs.runner import STAGES, RunSummary, run_pipeline
from pipeline.store import Store, open_store
from pipeline.store.migrate import current_revision, upgrade
from pipeline.store.models import Feed

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="newswatch: follow a developing story across news feeds.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
app.add_typer(db_app, name="db")
app.add_typer(alerts_app, name="alerts")

EXIT_FAILED, EXIT_BAD_INPUT, EXIT_UNAVAILABLE = 1, 2, 3

F = TypeVar("F", bound=Callable[..., Any])


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def clean_errors(func: F) -> F:
    """Turn expected failures into one line on stderr and a meaningful exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CliError as exc:
            fail(str(exc), exc.code)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            fail(f"invalid configuration: {where}: {first['msg']}", EXIT_BAD_INPUT)
        except (SearchError, ValueError, FileNotFoundError) as exc:
            fail(str(exc), EXIT_BAD_INPUT)
        except BackendUnavailable as exc:
            fail(f"search backend unavailable: {exc}", EXIT_UNAVAILABLE)
        except OperationalError as exc:
            fail(f"database unavailable: {str(exc.orig).strip().splitlines()[0]}", EXIT_UNAVAILABLE)

    return wrapper  # type: ignore[return-value]


def fail(message: str, code: int) -> None:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


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


def load() -> Settings:
    return Settings()


def connect(settings: Settings) -> Store:
    return open_store(settings.resolved_database_url)


def run_with_progress(store: Store, settings: Settings, **kwargs: Any) -> RunSummary:
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        console=console,
        transient=True,
    )
    with progress:
        task = progress.add_task("polling feeds", total=len(STAGES))

        def advance(stage: str, _counts: dict[str, int]) -> None:
            position = STAGES.index(stage) + 1
            label = STAGES[position] if position < len(STAGES) else "done"
            progress.update(task, completed=position, description=f"stage: {label}")

        backend = open_index(settings)
        backend.ensure_ready()
        return run_pipeline(store.sessions, settings, backend, on_stage=advance, **kwargs)


@app.command()
@clean_errors
def run(
    feed: Annotated[list[str] | None, typer.Option(help="Poll only these feeds (by name).")] = None,
) -> None:
    """Poll the feeds once and process whatever is new."""
    settings = load()
    if not settings.feeds:
        raise CliError("no feeds configured (add [[feeds]] to newswatch.toml)", EXIT_BAD_INPUT)
    summary = run_with_progress(connect(settings), settings, feed_names=feed)
    print_run_summary(summary)


@app.command()
@clean_errors
def search(
    query: Annotated[str, typer.Argument(help='Query: words, "phrases", AND/OR/NOT, prefix*')],
    since: Annotated[datetime | None, typer.Option(help="Published on or after (UTC).")] = None,
    until: Annotated[datetime | None, typer.Option(help="Published before (UTC).")] = None,
    source: Annotated[list[str] | None, typer.Option(help="Outlet name or domain.")] = None,
    thread: Annotated[list[str] | None, typer.Option(help="Storyline, e.g. huawei-5g.")] = None,
    relation: Annotated[str | None, typer.Option(help="duplicate|follow_up|unrelated")] = None,
    sort: Annotated[str, typer.Option(help="relevance or date")] = "relevance",
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 10,
    cursor: Annotated[str | None, typer.Option(help="Next page, from a previous search.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Search the index."""
    if sort not in ("relevance", "date"):
        raise CliError("--sort must be 'relevance' or 'date'", EXIT_BAD_INPUT)
    settings = load()
    backend = open_index(settings)
    request = SearchQuery(
        text=query,
        since=_utc(since),
        until=_utc(until),
        sources=tuple(source or ()),
        threads=tuple(thread or ()),
        relation=relation,
        sort=_sort(sort),
        limit=limit,
        cursor=cursor,
    )
    page = backend.search(request)
    if as_json:
        print(json.dumps(search_page_json(page), ensure_ascii=False, indent=2))
    else:
        print_search_page(page, query)


def search_page_json(page: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return json.loads(json.dumps(asdict(page), default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _sort(value: str) -> Literal["relevance", "date"]:
    return "date" if value == "date" else "relevance"


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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


@app.command()
@clean_errors
def demo(
    index: Annotated[str, typer.Option(help="Search backend: sqlite or elasticsearch.")] = "sqlite",
    es_url: Annotated[str | None, typer.Option(help="Elasticsearch URL (with --index).")] = None,
    serve: Annotated[
        bool, typer.Option(help="Keep the newsroom up and serve the search UI.")
    ] = False,
) -> None:
    """Run the whole pipeline offline against the bundled sample newsroom."""
    from pipeline.demo.command import DEMO_PORT, DEMO_SLOW_SECONDS, demo_settings
    from pipeline.demo.server import NewsroomServer

    if index not in ("sqlite", "elasticsearch"):
        raise CliError("--index must be 'sqlite' or 'elasticsearch'", EXIT_BAD_INPUT)
    index_overrides: dict[str, Any] = {"backend": index}
    if es_url:
        index_overrides["elasticsearch"] = {
            **load().index.elasticsearch.model_dump(),
            "url": es_url,
        }
    with NewsroomServer(slow_seconds=DEMO_SLOW_SECONDS, port=DEMO_PORT) as newsroom:
        settings = demo_settings(load(), newsroom, **index_overrides)
        console.print(
            f"Sample newsroom: {len(newsroom.manifest())} articles, "
            f"{len(settings.feeds)} feeds, served on 127.0.0.x:{DEMO_PORT}"
        )
        store = connect(settings)
        summary = run_with_progress(store, settings, trigger="demo")
        print_run_summary(summary)
        print_demo_report(store, settings)
        backend = open_index(settings)
        print_search_page(backend.search(SearchQuery(text="huawei", limit=5)), "huawei")
        if serve:
            from pipeline.api.server import serve as serve_api

            console.print(
                f"Search UI: http://{settings.api.host}:{settings.api.port}/ "
                "(the seed's follow-ups are one click away); Ctrl-C to stop"
            )
            serve_api(settings)


def print_demo_report(store: Store, settings: Settings) -> None:
    """Story clusters of the seed, its follow-ups by thread, and the alerts raised."""
    from pipeline.alerts.report import alerts_report
    from pipeline.classify.seeds import load_seeds
    from pipeline.classify.threads import load_thread_book
    from pipeline.cli.alerts import print_alerts_report
    from pipeline.search.reports import seed_followups

    seed = load_seeds(settings)[0]
    book = load_thread_book(settings.dedup.threads_file)
    with store.sessions() as session:
        print_seed_followups(seed_followups(session, seed, book))
    print_alerts_report(alerts_report(store.sessions))
    console.print(f"Alert feeds (Atom) written under {settings.data_dir / 'alerts'}")


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
            print(json.dumps(result, ensure_ascii=False, default=_json_default))
        return
    print_classification(results)
    if any("error" in result for result in results):
        raise typer.Exit(EXIT_FAILED)


index_app = typer.Typer(no_args_is_help=True, help="Search-index maintenance.")
app.add_typer(index_app, name="index")


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


@index_app.command("rebuild")
@clean_errors
def index_rebuild() -> None:
    """Build a fresh index from the store and switch searchers to it when complete."""
    from pipeline.index.stage import rebuild_index

    settings = load()
    backend = open_index(settings)
    backend.ensure_ready()
    counts = rebuild_index(connect(settings).sessions, backend)
    console.print(f"rebuilt the {backend.name} index: {dict(counts)}")


@index_app.command("retry")
@clean_errors
def index_retry() -> None:
    """Put articles whose indexing failed back in the outbox for the next run."""
    from pipeline.index.stage import requeue

    requeued = requeue(connect(load()).sessions, failed_only=True)
    console.print(f"{requeued} failed articles are pending again")
