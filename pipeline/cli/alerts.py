"""`newswatch alerts …`: list the rules, test one on a text, show and send deliveries.

Registered on the main app in pipeline/cli/main.py; errors and exit codes as in errors.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import func, select

from pipeline.alerts.delivery import retry_failed
from pipeline.alerts.matching import match_rule
from pipeline.alerts.models import Alert, AlertRuleState
from pipeline.alerts.report import AlertReportRow, delivery_counts, open_deliveries
from pipeline.alerts.rules import RuleBook, load_rules
from pipeline.alerts.stage import send_digests
from pipeline.cli.context import connect, load
from pipeline.cli.errors import EXIT_FAILED, clean_errors
from pipeline.cli.output import console, escape_markup
from pipeline.cli.output import table as plain_table
from pipeline.config import Settings
from pipeline.records import utcnow
from pipeline.store import Store

alerts_app = typer.Typer(no_args_is_help=True, help="Alert rules and their deliveries.")


def _open() -> tuple[Settings, RuleBook, Store]:
    settings = load()
    return settings, load_rules(settings.alerts), connect(settings)


@alerts_app.command("list")
@clean_errors
def list_rules() -> None:
    """The rules in force, when each was first seen and how many stories it fired on."""
    _, book, store = _open()
    with store.sessions() as session:
        first_seen = {
            name: seen
            for name, seen in session.execute(
                select(AlertRuleState.name, AlertRuleState.first_seen_at)
            )
        }
        fired = {
            name: count
            for name, count in session.execute(
                select(Alert.rule_name, func.count()).group_by(Alert.rule_name)
            )
        }
    table = Table(title="Alert rules")
    table.add_column("rule", no_wrap=True)
    table.add_column("terms")
    table.add_column("conditions")
    table.add_column("delivery")
    table.add_column("first seen", no_wrap=True)
    table.add_column("alerts", justify="right")
    for rule in book.rules:
        conditions = [f"min {rule.min_mentions} mentions"]
        if rule.exclude:
            conditions.append(f"not: {', '.join(rule.exclude)}")
        conditions.extend(
            f"{name}: {', '.join(values)}" for name, values in vars(rule.filters).items() if values
        )
        seen = first_seen.get(rule.name)
        table.add_row(
            rule.name + ("" if rule.enabled else " (disabled)"),
            ", ".join(rule.terms),
            "; ".join(conditions),
            f"{rule.delivery} → {', '.join(rule.channels)}",
            seen.strftime("%Y-%m-%d") if seen else "not yet",
            str(fired.get(rule.name, 0)),
        )
    console.print(table)


@alerts_app.command("test")
@clean_errors
def test_rule(
    rule_name: Annotated[str, typer.Argument(metavar="RULE", help="Rule name.")],
    source: Annotated[
        str, typer.Argument(metavar="PATH_OR_TEXT", help="A text or HTML file, or the text itself.")
    ],
) -> None:
    """Whether RULE matches a text, and where (filters need article metadata: not applied)."""
    settings = load()
    book = load_rules(settings.alerts)
    rule = book.rule(rule_name)
    if rule is None:
        raise ValueError(
            f"no rule named {rule_name!r} (rules: {', '.join(r.name for r in book.rules)})"
        )
    title, text = _read_source(source, settings)
    result = match_rule(rule, title, text)
    verdict = "[green]MATCH[/green]" if result.matched else "[yellow]NO MATCH[/yellow]"
    console.print(f"{verdict} rule {rule.name!r}: {escape_markup(result.reason)}")
    hits = [*result.mentions, *([result.excluded_by] if result.excluded_by else [])]
    if hits:
        table = plain_table(None, "field", "offset", "term", "snippet")
        for hit in hits:
            start, end = hit.highlight
            s = hit.snippet
            snippet = f"{escape_markup(s[:start])}[bold]{escape_markup(s[start:end])}[/bold]"
            table.add_row(hit.field, str(hit.start), hit.term, snippet + escape_markup(s[end:]))
        console.print(table)


def _read_source(source: str, settings: Settings) -> tuple[str, str]:
    """(title, text): an HTML file goes through the extractor, like a fetched page."""
    path = Path(source)
    if not (len(source) < 4096 and path.is_file()):
        return "", source
    content = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() not in (".html", ".htm"):
        return "", content
    from pipeline.extract.extractor import NoContent, extract  # trafilatura: only for HTML

    page = extract(content, path.resolve().as_uri(), settings=settings.extract)
    if isinstance(page, NoContent):
        raise ValueError(f"{path}: no article text ({page.reason})")
    return page.title or "", page.text


@alerts_app.command("status")
@clean_errors
def status() -> None:
    """Deliveries per rule, channel and state; the failed and pending ones in detail."""
    _, _, store = _open()
    counts = delivery_counts(store.sessions)
    table = Table(title="Alert deliveries")
    for column in ("rule", "channel", "pending", "sent", "failed"):
        table.add_column(column, justify="left" if column in ("rule", "channel") else "right")
    for rule, channel in sorted({(r, c) for r, c, _ in counts}):
        table.add_row(
            rule,
            channel,
            *(str(counts.get((rule, channel, s), 0)) for s in ("pending", "sent", "failed")),
        )
    console.print(table)
    open_rows = open_deliveries(store.sessions)
    if not open_rows:
        console.print("Nothing waiting: every delivery has been sent.")
        return
    detail = plain_table(
        "Not yet delivered", *("state", "delivery", "attempts", "next attempt", "last error")
    )
    for row in open_rows:
        detail.add_row(
            row.state,
            row.key,
            str(row.attempts),
            row.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S") if row.next_attempt_at else "-",
            escape_markup(row.last_error or ""),
        )
    console.print(detail)


@alerts_app.command("send-digests")
@clean_errors
def send_digests_command() -> None:
    """Send the daily and weekly digests whose window has closed (and retry due ones)."""
    settings, book, store = _open()
    counts = send_digests(store.sessions, settings, book=book)
    text = ", ".join(f"{k}={v}" for k, v in sorted(counts.items()) if v)
    console.print(text or "no digest due")
    if counts.get("deliveries_retry_later") or counts.get("deliveries_failed"):
        raise typer.Exit(EXIT_FAILED)


@alerts_app.command("retry")
@clean_errors
def retry(
    rule: Annotated[str | None, typer.Option(help="Only this rule's deliveries.")] = None,
) -> None:
    """Put failed (parked) deliveries back in the queue; the next run sends them."""
    _, _, store = _open()
    console.print(f"{retry_failed(store.sessions, utcnow(), rule)} delivery(ies) queued again")


def print_alerts_report(rows: Sequence[AlertReportRow]) -> None:
    """The alerts table `newswatch demo` prints."""
    table = Table(title=f"Alerts raised ({len(rows)}): one per rule and story")
    table.add_column("rule", no_wrap=True)
    for column in ("story", "outlets", "mentions", "deliveries"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.rule,
            escape_markup(row.title),
            escape_markup(", ".join(row.outlets)),
            str(row.mentions),
            ", ".join(f"{c}: {s}" for c, s in sorted(row.deliveries.items())),
        )
    console.print(table)
