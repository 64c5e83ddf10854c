"""Rich tables for the CLI. Presentation only: every figure comes from the stages."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from pipeline.index.base import SearchPage
from pipeline.records import as_utc
from pipeline.runs.record import RunSummary
from pipeline.store.models import Feed

if TYPE_CHECKING:  # the report module imports the seeds and dedup (numpy): only for typing
    from pipeline.search.reports import SeedFollowups

console = Console()
err_console = Console(stderr=True)


def print_stage_counts(
    title: str, stages: Sequence[str], stage_counts: dict[str, dict[str, int]]
) -> None:
    counts_table = table(title, "stage", "counts")
    for stage in stages:
        counts = stage_counts.get(stage, {})
        text = ", ".join(f"{k}={v}" for k, v in sorted(counts.items()) if v) or "nothing to do"
        counts_table.add_row(stage, text)
    console.print(counts_table)


def print_run_summary(summary: RunSummary) -> None:
    from pipeline.runs.runner import STAGES  # see context.run_with_progress

    print_stage_counts(f"Run {summary.run_id}: {summary.state}", STAGES, summary.stage_counts)

    statuses = table("Articles by status", "status")
    statuses.add_column("articles", justify="right")
    for status, count in sorted(summary.status_counts.items()):
        statuses.add_row(status, str(count))
    console.print(statuses)

    if summary.errors:
        errors = table(f"Errors in this run ({len(summary.errors)})", "where", "error")
        for error in summary.errors:
            where = error.get("url") or error.get("feed") or ""
            what = " ".join(v for k, v in error.items() if k in ("error", "detail") and v)
            errors.add_row(where, what)
        console.print(errors)


def print_search_page(page: SearchPage, query_text: str) -> None:
    hits = table(
        f"Search {query_text!r}: {page.total} matching articles",
        *("date", "outlet", "title / snippet", "also published by"),
    )
    for hit in page.hits:
        when = as_utc(hit.published_at)
        # the snippet is HTML; show it as text with the matches in bold
        plain = escape_markup(
            html.unescape(hit.snippet.replace("<mark>", "\x01").replace("</mark>", "\x02"))
        )
        snippet = plain.replace("\x01", "[bold yellow]").replace("\x02", "[/]")
        hits.add_row(
            when.date().isoformat() if when else "",
            hit.outlet,
            f"[bold]{escape_markup(hit.title)}[/bold]\n{snippet}",
            ", ".join(hit.also_published_by),
        )
    console.print(hits)
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}")


def table(title: str | None, *columns: str) -> Table:
    """A table with these plain columns (add others with add_column)."""
    new = Table(title=title)
    for column in columns:
        new.add_column(column)
    return new


def escape_markup(text: str) -> str:
    return text.replace("[", r"\[")


def print_feeds(rows: Sequence[Feed], configured: dict[str, Any]) -> None:
    feeds = table(
        "Feeds", *("name", "status", "failures", "last polled", "next poll", "last error")
    )
    for row in rows:
        enabled = configured.get(row.name)
        status = row.last_status if enabled is not None else f"{row.last_status} (not configured)"
        if enabled is False:
            status += " (disabled)"
        feeds.add_row(
            row.name,
            status,
            str(row.consecutive_failures),
            _when(row.last_polled_at),
            _when(row.next_poll_at),
            (row.last_error or "")[:80],
        )
    console.print(feeds)


def _when(value: Any) -> str:
    value = as_utc(value)
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


BACKGROUND_SHOWN = 5  # the latest few: the closest to the seed in time


def print_seed_followups(report: SeedFollowups) -> None:
    """The seed's own story (every outlet that ran a copy), its follow-ups by thread, and
    the background (related stories published before it)."""
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
    followups = table(
        f"Follow-ups of the seed ({report.followup_articles} articles)",
        *("thread", "date", "story", "outlets"),
    )
    for group in report.threads:
        for story in group.stories:
            when = as_utc(story.first_seen_at)
            followups.add_row(
                group.label,
                when.date().isoformat() if when else "",
                escape_markup(story.title),
                ", ".join(story.outlets),
            )
    console.print(followups)
    if report.background:
        shown = report.background[-BACKGROUND_SHOWN:]
        console.print(
            f"Background: {len(report.background)} related stories before the seed"
            + (f"; the latest {len(shown)}" if len(shown) < len(report.background) else "")
        )
    for story in report.background[-BACKGROUND_SHOWN:]:
        when = as_utc(story.first_seen_at)
        console.print(
            f"  before the seed: {when.date().isoformat() if when else '?'} "
            f"{escape_markup(story.title)} ({', '.join(story.outlets)})"
        )


def print_classification(results: Sequence[dict[str, Any]]) -> None:
    results_table = table(
        "Classification against the default seed",
        *("input", "title", "relation", "similarity", "threads", "duplicate of"),
    )
    for result in results:
        if "error" in result:
            results_table.add_row(result["input"], f"[red]{escape_markup(result['error'])}[/red]")
            continue
        results_table.add_row(
            result["input"],
            escape_markup(result.get("title") or ""),
            result.get("relation") or "",
            f"{result.get('seed_similarity') or 0:.2f}",
            ", ".join(result.get("threads") or []),
            result.get("duplicate_of_url") or result.get("duplicate_of") or "",
        )
    console.print(results_table)


def print_index_status(backend: str, counts: dict[str, int], health: dict[str, object]) -> None:
    status = table(f"Search index ({backend})", "", "value")
    for state in ("pending", "indexed", "failed"):
        status.add_row(f"outbox {state}", str(counts.get(state, 0)))
    for key, value in health.items():
        status.add_row(key, str(value))
    console.print(status)


def json_default(value: object) -> object:
    """For json.dumps: date-times as ISO 8601."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
