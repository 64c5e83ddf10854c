"""Coverage over time as inline SVG, drawn on the server: no script, no CDN.

One row of bars per series (e.g. per thread) on a shared time axis and a shared scale,
so rows compare at a glance; a dashed line marks the seed's date, and short ticks above
the bars mark the first report of each of the seed's developments (name in a tooltip).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from pipeline.index.base import TimelineBucket

WIDTH = 720
LABEL_HEIGHT = 18
BAR_HEIGHT = 44
ROW_GAP = 14
TOP = 22  # room for the seed marker's label
AXIS_HEIGHT = 22
MAX_TICKS = 8


@dataclass
class Series:
    label: str
    buckets: list[TimelineBucket]
    href: str | None = None  # where the row's label links to


@dataclass
class Mark:
    """A development of the seed: the day of its first report, and its name."""

    day: date
    label: str
    href: str | None = None


def coverage_svg(
    series: Sequence[Series],
    interval: Literal["day", "week"],
    marker: date | None = None,
    marker_label: str = "seed",
    developments: Sequence[Mark] = (),
) -> str:
    """The chart as an <svg> element (a string, safe to inline in HTML)."""
    step = timedelta(days=1 if interval == "day" else 7)
    starts = [b.start for s in series for b in s.buckets]
    height = TOP + len(series) * (LABEL_HEIGHT + BAR_HEIGHT + ROW_GAP) + AXIS_HEIGHT
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {WIDTH} {height}",
            "class": "coverage-chart",
            "role": "img",
            "aria-label": f"Articles per {interval}"
            + (f"; {marker_label} marked" if marker else ""),
        },
    )
    if not starts:
        _text(svg, 0, TOP + LABEL_HEIGHT, "No dated coverage yet.", "empty")
        return ET.tostring(svg, encoding="unicode")
    dates = [*starts, *([marker] if marker else []), *(m.day for m in developments)]
    first = min(dates) - step  # a margin on the left
    last = max(dates) + step
    span = (last - first).days

    def x_of(day: date) -> float:
        return round((day - first).days / span * WIDTH, 2)

    bar_width = max(1.0, round(step.days / span * WIDTH - 1, 2))
    peak = max((b.articles for s in series for b in s.buckets), default=1) or 1
    y = TOP
    for row in series:
        label = ET.SubElement(svg, "a", {"href": row.href}) if row.href else svg
        total = sum(b.articles for b in row.buckets)
        _text(label, 0, y + LABEL_HEIGHT - 5, f"{row.label} ({total})", "row-label")
        baseline = y + LABEL_HEIGHT + BAR_HEIGHT
        ET.SubElement(
            svg,
            "line",
            {
                "x1": "0",
                "x2": str(WIDTH),
                "y1": str(baseline),
                "y2": str(baseline),
                "class": "baseline",
            },
        )
        for bucket in row.buckets:
            if not bucket.articles:
                continue
            bar_h = max(2.0, round(bucket.articles / peak * BAR_HEIGHT, 2))
            rect = ET.SubElement(
                svg,
                "rect",
                {
                    "x": str(x_of(bucket.start)),
                    "y": str(round(baseline - bar_h, 2)),
                    "width": str(bar_width),
                    "height": str(bar_h),
                    "class": "bar",
                    "data-start": bucket.start.isoformat(),
                    "data-articles": str(bucket.articles),
                },
            )
            title = ET.SubElement(rect, "title")
            title.text = (
                f"{_period(bucket.start, interval)}: {bucket.articles} articles, "
                f"{bucket.stories} stories"
            )
        y = baseline + ROW_GAP
    _axis(svg, first, last, y, x_of)
    for mark in developments:
        _development_mark(svg, x_of(mark.day), y, mark)
    if marker is not None:
        x = x_of(marker)
        line = {
            "x1": str(x),
            "x2": str(x),
            "y1": str(TOP - 6),
            "y2": str(y),
            "class": "seed-marker",
        }
        svg.insert(0, ET.Element("line", line))  # drawn first, so labels and bars stay on top
        anchor = "start" if x < WIDTH * 0.75 else "end"
        text = _text(svg, x, TOP - 10, f"{marker_label}: {marker:%-d %b %Y}", "seed-label")
        text.set("text-anchor", anchor)
    return ET.tostring(svg, encoding="unicode")


def _development_mark(svg: ET.Element, x: float, bottom: float, mark: Mark) -> None:
    """A dotted line over the rows at the development's first report, with its name."""
    parent = ET.SubElement(svg, "a", {"href": mark.href}) if mark.href else svg
    line = ET.SubElement(
        parent,
        "line",
        {
            "x1": str(x),
            "x2": str(x),
            "y1": str(TOP - 4),
            "y2": str(bottom),
            "class": "development-marker",
            "data-day": mark.day.isoformat(),
        },
    )
    title = ET.SubElement(line, "title")
    title.text = f"{mark.day:%-d %b %Y}: {mark.label}"


def _axis(
    svg: ET.Element, first: date, last: date, y: float, x_of: Callable[[date], float]
) -> None:
    """Month ticks along the bottom, thinned to at most MAX_TICKS labels."""
    months = []
    current = date(first.year, first.month, 1)
    while current < last:
        if current >= first:
            months.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    every = max(1, -(-len(months) // MAX_TICKS))
    for i, month in enumerate(months[::every]):
        x = x_of(month)
        ET.SubElement(
            svg,
            "line",
            {"x1": str(x), "x2": str(x), "y1": str(y - ROW_GAP), "y2": str(y - 8), "class": "tick"},
        )
        label = f"{month:%b %Y}" if i == 0 or month.month == 1 else f"{month:%b}"
        text = _text(svg, x, y + 6, label, "tick-label")
        text.set("text-anchor", "middle" if x > 20 else "start")


def _period(start: date, interval: str) -> str:
    return f"{start:%-d %b %Y}" if interval == "day" else f"week of {start:%-d %b %Y}"


def _text(parent: ET.Element, x: float, y: float, content: str, css: str) -> ET.Element:
    element = ET.SubElement(parent, "text", {"x": str(x), "y": str(y), "class": css})
    element.text = content
    return element
