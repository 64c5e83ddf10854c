"""`newswatch backfill`: presentation of a backfill run (the work is pipeline.runs.backfill)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from rich.table import Table

from pipeline.cli.output import console, print_stage_counts
from pipeline.runs.backfill import BackfillSummary

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
