"""`newswatch run` and `newswatch demo`: the whole pipeline, on the feeds or the sample newsroom."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Annotated, Any

import typer
from rich.markup import escape as escape_markup

from pipeline.cli.context import connect, load, run_with_progress
from pipeline.cli.errors import EXIT_BAD_INPUT, CliError, clean_errors
from pipeline.cli.output import (
    console,
    print_run_summary,
    print_search_page,
    print_seed_followups,
    table,
)
from pipeline.config import Settings
from pipeline.index.base import SearchQuery
from pipeline.index.factory import open_index
from pipeline.observe.metrics import export_metrics
from pipeline.store import Store


@clean_errors
def run(
    feed: Annotated[list[str] | None, typer.Option(help="Poll only these feeds (by name).")] = None,
) -> None:
    """Poll the feeds once and process whatever is new."""
    settings = load()
    if not settings.feeds:
        raise CliError("no feeds configured (add [[feeds]] to newswatch.toml)", EXIT_BAD_INPUT)
    store = connect(settings)
    summary = run_with_progress(store, settings, feed_names=feed)
    export_metrics(store.sessions, settings.observability)  # textfile / Pushgateway
    print_run_summary(summary)


@clean_errors
def demo(
    index: Annotated[str, typer.Option(help="Search backend: sqlite or elasticsearch.")] = "sqlite",
    es_url: Annotated[str | None, typer.Option(help="Elasticsearch URL (with --index).")] = None,
    serve: Annotated[
        bool, typer.Option(help="Keep the newsroom up and serve the search UI.")
    ] = False,
) -> None:
    """Run the whole pipeline offline against the bundled sample newsroom."""
    from pipeline.cli.backfill import print_backfill_summary
    from pipeline.demo.command import (
        DEMO_PORT,
        DEMO_SLOW_SECONDS,
        demo_backfill,
        demo_settings,
    )
    from pipeline.demo.server import NewsroomServer

    if index not in ("sqlite", "elasticsearch"):
        raise CliError("--index must be 'sqlite' or 'elasticsearch'", EXIT_BAD_INPUT)
    index_overrides: dict[str, Any] = {"backend": index}
    if es_url:
        index_overrides["elasticsearch"] = {
            **load().index.elasticsearch.model_dump(),
            "url": es_url,
        }
    with ExitStack() as stack:
        try:
            newsroom = stack.enter_context(
                NewsroomServer(slow_seconds=DEMO_SLOW_SECONDS, port=DEMO_PORT)
            )
        except OSError as exc:  # e.g. another demo holds the port
            raise CliError(
                f"the sample newsroom cannot listen on 127.0.0.x:{DEMO_PORT} "
                f"({exc.strerror or exc}); is another newswatch demo running?"
            ) from None
        settings = demo_settings(load(), newsroom, **index_overrides)
        console.print(
            f"Sample newsroom: {len(newsroom.manifest())} articles, "
            f"{len(settings.feeds)} feeds, served on 127.0.0.x:{DEMO_PORT}"
        )
        store = connect(settings)
        summary = run_with_progress(store, settings, trigger="demo")
        print_run_summary(summary)
        backend = open_index(settings)
        print_backfill_summary(demo_backfill(store.sessions, settings, backend))
        print_demo_report(store, settings)
        for sample in ("huawei", "华为"):
            print_search_page(backend.search(SearchQuery(text=sample, limit=5)), sample)
        print_both_sides(store, settings)
        if serve:
            from pipeline.api.server import serve as serve_api

            console.print(
                f"Search UI: http://{settings.api.host}:{settings.api.port}/ "
                "(the seed's follow-ups are one click away); Ctrl-C to stop"
            )
            serve_api(settings)


def print_demo_report(store: Store, settings: Settings) -> None:
    """For each seed: its story clusters and follow-ups; then the alerts raised."""
    from pipeline.alerts.report import alerts_report
    from pipeline.classify.seeds import load_seeds
    from pipeline.classify.threads import load_thread_book
    from pipeline.cli.alerts import print_alerts_report
    from pipeline.search.reports import seed_followups

    book = load_thread_book(settings.dedup.threads_file)
    with store.sessions() as session:
        for seed in load_seeds(settings):
            print_seed_followups(seed_followups(session, seed, book))
    print_alerts_report(alerts_report(store.sessions))
    console.print(f"Alert feeds (Atom) written under {settings.data_dir / 'alerts'}")


def print_both_sides(store: Store, settings: Settings) -> None:
    """The first of the default seed's developments reported from more than one perspective
    and in more than one language, its reports side by side."""
    from pipeline.classify.seeds import load_seeds
    from pipeline.classify.threads import load_thread_book
    from pipeline.search.perspectives import both_sides
    from pipeline.search.reports import seed_followups

    book = load_thread_book(settings.dedup.threads_file)
    with store.sessions() as session:
        report = seed_followups(session, load_seeds(settings)[0], book)
    development = both_sides(report.developments)
    if development is None:
        console.print("No development has reports from two perspectives in two languages yet.")
        return
    reports = table(
        f"One development, both sides and both languages: {escape_markup(development.name)}",
        *("side", "date", "outlet", "language", "title"),
    )
    for side in development.sides:
        for item in side.reports:
            when = item.published_at
            reports.add_row(
                side.label,
                when.date().isoformat() if when else "",
                item.outlet,
                item.language or "",
                escape_markup(item.title),
            )
    console.print(reports)
