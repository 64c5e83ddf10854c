"""`newswatch backfill`: a thin shell over pipeline.runs.backfill, and its report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import urlsplit

import typer
from rich.table import Table

from pipeline.cli.context import connect, load
from pipeline.cli.errors import clean_errors
from pipeline.cli.output import console, print_stage_counts
from pipeline.feeds.sitemap_dates import DateRange
from pipeline.feeds.sitemap_walk import site_origin
from pipeline.index.factory import open_index
from pipeline.runs.backfill import BackfillSummary, run_backfill


@clean_errors
def backfill(
    site: Annotated[list[str], typer.Option(help="Site home page, e.g. https://www.example.org.")],
    since: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="First day (UTC).")],
    until: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last day (default today).")
    ] = None,
    max_pages: Annotated[
        int | None, typer.Option(min=0, help="Pages fetched per site (default backfill.max_pages).")
    ] = None,
    alerts: Annotated[
        bool | None, typer.Option("--alerts/--no-alerts", help="Let these articles raise alerts.")
    ] = None,
    retry_failed: Annotated[
        bool, typer.Option(help="Read again the sitemaps that failed in earlier runs.")
    ] = False,
) -> None:
    """Find a site's articles of a date range in its sitemaps; fetch the relevant ones."""
    for url in site:
        site_origin(url)  # a bad --site is bad input, before anything is recorded
    window = DateRange.from_days(since.date(), (until or datetime.now(UTC)).date())
    settings = load()
    backend = open_index(settings)
    backend.ensure_ready()
    summary = run_backfill(
        connect(settings).sessions,
        settings,
        backend,
        site,
        window,
        max_pages=max_pages,
        alerts=alerts,
        retry_failed=retry_failed,
    )
    print_backfill_summary(summary)


BACKFILL_STAGES = ("discover", "walk", "queue", "fetch", "extract", "classify", "index", "alerts")


def print_backfill_summary(summary: BackfillSummary) -> None:
    run = summary.run
    print_stage_counts(f"Backfill run {run.run_id}: {run.state}", BACKFILL_STAGES, run.stage_counts)

    ranges = {f"{j.since:%Y-%m-%d}..{j.until - timedelta(days=1):%Y-%m-%d}" for j in summary.jobs}
    sites = Table(title=f"Sites ({', '.join(sorted(ranges))}): URLs in their sitemaps")
    sites.add_column("site")
    sites.add_column("sitemaps")
    for column in ("seen", "in range", "kept", "queued", "known", "fetched"):
        sites.add_column(column, justify="right")
    for job in summary.jobs:
        figures = (job.seen, job.in_range, job.kept, job.queued, job.known, job.fetched)
        sitemaps = " ".join(f"{state}={n}" for state, n in sorted(job.sitemaps.items()))
        sites.add_row(urlsplit(job.site).netloc, sitemaps or "none found", *map(str, figures))
    console.print(sites)
    problems = [(job.site, e) for job in summary.jobs for e in job.errors]
    if problems:
        table = Table(title=f"Sitemap problems ({len(problems)})")
        table.add_column("sitemap")
        table.add_column("what happened")
        for _site, error in problems:
            table.add_row(error["sitemap"], error["error"])
        console.print(table)
