"""Alert messages as text: email subject and bodies, webhook payloads, log lines.

Pure functions of an `AlertMessage`; the notifiers only transport what these produce.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from pipeline.alerts.messages import AlertItem, AlertMessage

SLACK_MAX_ITEMS = 20  # Slack allows 50 blocks per message; two per story, plus a header


def subject(message: AlertMessage) -> str:
    if message.kind == "instant" and message.items:
        return f"[newswatch] {message.rule_title}: {message.items[0].title}"
    stories = len(message.items)
    return (
        f"[newswatch] {message.rule_title}: {message.mode} digest, {_window(message)}, "
        f"{stories} {'story' if stories == 1 else 'stories'}"
    )


def plain_text(message: AlertMessage) -> str:
    lines = [_heading(message), ""]
    for item in message.items:
        lines.append(item.title)
        lines.append(f"{item.outlet}{_date(item.published_at)}: {item.url}")
        if item.snippet:
            lines.append(f"  {item.snippet}")
        if item.also:
            lines.append("  Also published by:")
            lines.extend(f"  - {c.outlet}: {c.url}" for c in item.also)
        lines.append("")
    lines.append(_footer(message))
    return "\n".join(lines) + "\n"


def html_body(message: AlertMessage) -> str:
    parts = [f"<h2>{html.escape(_heading(message))}</h2>"]
    for item in message.items:
        parts.append(
            f'<h3><a href="{html.escape(item.url)}">{html.escape(item.title)}</a></h3>'
            f"<p>{html.escape(item.outlet)}{html.escape(_date(item.published_at))}</p>"
        )
        if item.snippet:
            parts.append(f"<blockquote>{_highlighted_html(item)}</blockquote>")
        if item.also:
            links = "".join(
                f'<li><a href="{html.escape(c.url)}">{html.escape(c.outlet)}</a></li>'
                for c in item.also
            )
            parts.append(f"<p>Also published by:</p><ul>{links}</ul>")
    parts.append(f"<p><small>{html.escape(_footer(message))}</small></p>")
    return f"<!DOCTYPE html><html><body>{''.join(parts)}</body></html>"


def json_payload(message: AlertMessage) -> dict[str, Any]:
    """newswatch's own webhook payload (docs/alerts.md)."""
    return {
        "event": f"alert.{message.kind}",
        "delivery": message.key,
        "rule": {"name": message.rule_name, "title": message.rule_title, "mode": message.mode},
        "window": (
            {"start": _iso(message.window_start), "end": _iso(message.window_end)}
            if message.window_start
            else None
        ),
        "alerts": [
            {
                "id": item.alert_id,
                "cluster_id": item.cluster_id,
                "title": item.title,
                "url": item.url,
                "outlet": item.outlet,
                "published_at": _iso(item.published_at),
                "raised_at": _iso(item.created_at),
                "mentions": item.mentions,
                "snippet": item.snippet,
                "also_published_by": [
                    {"outlet": c.outlet, "url": c.url, "title": c.title} for c in item.also
                ],
            }
            for item in message.items
        ],
    }


def slack_payload(message: AlertMessage) -> dict[str, Any]:
    """A Slack incoming-webhook message: `text` is the notification fallback, `blocks` the body."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _heading(message)[:150]}}
    ]
    for item in message.items[:SLACK_MAX_ITEMS]:
        text = f"*<{_slack(item.url)}|{_slack(item.title)}>*\n{_slack(item.outlet)}"
        if item.snippet:
            text += f"\n>{_slack(item.snippet)}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
        if item.also:
            also = ", ".join(f"<{_slack(c.url)}|{_slack(c.outlet)}>" for c in item.also)
            blocks.append(
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": f"Also published by {also}"[:3000]}],
                }
            )
    hidden = len(message.items) - SLACK_MAX_ITEMS
    if hidden > 0:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"…and {hidden} more"}]}
        )
    return {"text": subject(message), "blocks": blocks}


def log_line(message: AlertMessage, item: AlertItem) -> str:
    also = f" (also: {', '.join(c.outlet for c in item.also)})" if item.also else ""
    where = f"{message.mode} digest {_window(message)}" if message.kind == "digest" else "alert"
    line = f"{where} [{message.rule_name}] {item.title} - {item.outlet}{also} <{item.url}>"
    return " ".join(line.split())  # page text must not start log lines of its own


def _heading(message: AlertMessage) -> str:
    if message.kind == "instant":
        return f"New coverage: {message.rule_title}"
    return f"{message.rule_title}: {message.mode} digest for {_window(message)}"


def _footer(message: AlertMessage) -> str:
    return f"newswatch alert rule '{message.rule_name}' (delivery {message.key})"


def _window(message: AlertMessage) -> str:
    start, end = message.window_start, message.window_end
    if start is None or end is None:
        return ""
    if message.mode == "daily":
        return start.date().isoformat()
    return f"{start.date().isoformat()} to {end.date().isoformat()}"


def _highlighted_html(item: AlertItem) -> str:
    if item.highlight is None:
        return html.escape(item.snippet)
    start, end = item.highlight
    s = item.snippet
    return (
        f"{html.escape(s[:start])}<strong>{html.escape(s[start:end])}</strong>"
        f"{html.escape(s[end:])}"
    )


def _slack(text: str) -> str:
    """Slack reads &, < and > as markup (<!channel> pings everyone): escape page content."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _date(value: datetime | None) -> str:
    return f", {value.date().isoformat()}" if value else ""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
