"""`newswatch backfill`: presentation of a backfill run (the work is pipeline.runs.backfill)."""

from __future__ import annotations

from rich.table import Table

from pipeline.cli.output import console
from pipeline.runs.backfill import BackfillSummary

BACKFILL_STAGES = ("discover", "walk", "queue", "fetch", "extract", "classify", "index", "alerts")


def print_backfill_summary(summary: BackfillSummary) -> None:
    run = summary.run
    stages = Table(title=f"Backfill run {run.run_id}: {run.state}")
    stages.add_column("step")
    stages.add_column("counts")
    for stage in BACKFILL_STAGES:
        counts = run.stage_counts.get(stage, {})
        text = ", ".join(f"{k}={v}" for k, v in sorted(counts.items()) if v) or "nothing to do"
        stages.add_row(stage, text)
    console.print(stages)

    sites = Table(title="Sites (URLs: seen in sitemaps, in the date range, kept by the pre-filter)")
    for column in ("site", "range", "sitemaps", "seen", "in range", "kept", "queued", "known"):
        sites.add_column(
            column, justify="left" if column in ("site", "range", "sitemaps") else "right"
        )
    sites.add_column("fetched", justify="right")
    for job in summary.jobs:
        sitemaps = ", ".join(f"{state}={n}" for state, n in sorted(job.sitemaps.items()))
        sites.add_row(
            job.site,
            f"{job.since:%Y-%m-%d}..{job.until:%Y-%m-%d}",
            sitemaps or "none found",
            *(
                str(n)
                for n in (job.seen, job.in_range, job.kept, job.queued, job.known, job.fetched)
            ),
        )
    console.print(sites)
    problems = [(job.site, e) for job in summary.jobs for e in job.errors]
    if problems:
        table = Table(title=f"Sitemap problems ({len(problems)})")
        table.add_column("sitemap")
        table.add_column("what happened")
        for _site, error in problems:
            table.add_row(error["sitemap"], error["error"])
        console.print(table)
