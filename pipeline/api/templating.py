"""The Jinja2 environment of the web pages, with the filters the templates use."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import QueryParams

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

RELATION_BADGES = {
    "duplicate": "copy of the seed",
    "follow_up": "follow-up",
    "background": "background",
}


def day(value: date | datetime | None) -> str:
    """21 Jul 2020; datetimes are shown as their UTC day."""
    return value.strftime("%-d %b %Y") if value is not None else "undated"


def moment(value: datetime | None) -> str:
    return value.strftime("%-d %b %Y, %H:%M UTC") if value is not None else "undated"


def with_params(params: QueryParams, **changes: str | None) -> str:
    """The query string with some parameters replaced (None removes them)."""
    items = [(k, v) for k, v in params.multi_items() if k not in changes]
    items.extend((k, v) for k, v in changes.items() if v is not None)
    return urlencode(items)


# How a report's perspective (its feed's) is named on the pages.
PERSPECTIVE_LABELS = {
    "uk": "UK",
    "china": "Chinese official media",
    "international": "international",
}


templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.filters.update(day=day, moment=moment)
templates.env.globals.update(
    with_params=with_params,
    relation_badges=RELATION_BADGES,
    perspective_labels=PERSPECTIVE_LABELS,
)

# Pages use only their own files; links out to outlets do not tell them what was searched.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A page from a template, with the pages' security headers."""
    return templates.TemplateResponse(
        request, name, context, status_code, headers={**PAGE_HEADERS, **(headers or {})}
    )
