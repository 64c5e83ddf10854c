"""Rich tables for the CLI. Presentation only: every figure comes from the stages."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from pipeline.index.base import SearchPage
from pipeline.records import as_utc
from pipeline.runs.runner import STAGES, RunSummary
from pipeline.search.reports import SeedFollowups
from pipeline.store.models import Feed

console = Console()
err_console = Console(stderr=True)


def print_stage_counts(
    title: str, stages: Sequence[str], stage_counts: dict[str, dict[str, int]]
) -> None:
    table = Table(title=title, show_lines=False)
    table.add_column("stage")
    table.add_column("counts")
    for stage in stages:
        counts = stage_counts.get(stage, {})
        text = ", ".join(f"{k}={v}" for k, v in sorted(counts.items()) if v) or "nothing to do"
        table.add_row(stage, text)
    console.print(table)


def print_run_summary(summary: RunSummary) -> None:
    print_stage_counts(f"Run {summary.run_id}: {summary.state}", STAGES, summary.stage_counts)

    statuses = Table(title="Articles by status")
    statuses.add_column("status")
    statuses.add_column("articles", justify="right")
    for status, count in sorted(summary.status_counts.items()):
        statuses.add_row(status, str(count))
    console.print(statuses)

    if summary.errors:
        errors = Table(title=f"Errors in this run ({len(summary.errors)})")
        errors.add_column("where")
        errors.add_column("error")
        for error in summary.errors:
            where = error.get("feed") or error.get("url") or ""
            what = " ".join(v for k, v in error.items() if k in ("error", "detail") and v)
            errors.add_row(where, what)
        console.print(errors)


def print_search_page(page: SearchPage, query_text: str) -> None:
    table = Table(title=f"Search {query_text!r}: {page.total} matching articles")
    table.add_column("date")
    table.add_column("outlet")
    table.add_column("title / snippet")
    table.add_column("also published by")
    for hit in page.hits:
        when = as_utc(hit.published_at)
        # the snippet is HTML; show it as text with the matches in bold
        plain = escape_markup(
            html.unescape(hit.snippet.replace("<mark>", "\x01").replace("</mark>", "\x02"))
        )
        snippet = plain.replace("\x01", "[bold yellow]").replace("\x02", "[/]")
        table.add_row(
            when.date().isoformat() if when else "",
            hit.outlet,
            f"[bold]{escape_markup(hit.title)}[/bold]\n{snippet}",
            ", ".join(hit.also_published_by),
        )
    console.print(table)
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}")


def escape_markup(text: str) -> str:
    return text.replace("[", r"\[")


def print_feeds(rows: Sequence[Feed], configured: dict[str, Any]) -> None:
    table = Table(title="Feeds")
    for column in ("name", "status", "failures", "last polled", "next poll", "last error"):
        table.add_column(column)
    for row in rows:
        enabled = configured.get(row.name)
        status = row.last_status if enabled is not None else f"{row.last_status} (not configured)"
        if enabled is False:
            status += " (disabled)"
        table.add_row(
            row.name,
            status,
            str(row.consecutive_failures),
            _when(row.last_polled_at),
            _when(row.next_poll_at),
            (row.last_error or "")[:80],
        )
    console.print(table)


def _when(value: Any) -> str:
    value = as_utc(value)
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def print_seed_followups(report: SeedFollowups) -> None:
    """The seed's own story (every outlet that ran a copy), then its follow-ups by thread."""
    seed = report.seed
    console.print(
        f"\n[bold]Seed:[/bold] {escape_markup(seed.title or seed.id)} "
        f"({seed.outlet or '?'}, {seed.published or '?'})"
    )
    for story in report.copies:
        console.print(
            f"  cluster {story.cluster_id[:8]}: {story.size} copies; "
            f"published by {', '.join(story.outlets)}"
        )
    table = Table(title=f"Follow-ups of the seed ({report.followup_articles} articles)")
    table.add_column("thread")
    table.add_column("date")
    table.add_column("story")
    table.add_column("outlets")
    for group in report.threads:
        for story in group.stories:
            when = as_utc(story.first_seen_at)
            table.add_row(
                group.label,
                when.date().isoformat() if when else "",
                escape_markup(story.title),
                ", ".join(story.outlets),
            )
    console.print(table)


def print_classification(results: Sequence[dict[str, Any]]) -> None:
    table = Table(title="Classification against the default seed")
    for column in ("input", "title", "relation", "similarity", "threads", "duplicate of"):
        table.add_column(column)
    for result in results:
        if "error" in result:
            table.add_row(result["input"], f"[red]{escape_markup(result['error'])}[/red]")
            continue
        table.add_row(
            result["input"],
            escape_markup(result.get("title") or ""),
            result.get("relation") or "",
            f"{result.get('seed_similarity') or 0:.2f}",
            ", ".join(result.get("threads") or []),
            result.get("duplicate_of_url") or result.get("duplicate_of") or "",
        )
    console.print(table)


def print_index_status(backend: str, counts: dict[str, int], health: dict[str, object]) -> None:
    table = Table(title=f"Search index ({backend})")
    table.add_column("")
    table.add_column("value")
    for state in ("pending", "indexed", "failed"):
        table.add_row(f"outbox {state}", str(counts.get(state, 0)))
    for key, value in health.items():
        table.add_row(key, str(value))
    console.print(table)
