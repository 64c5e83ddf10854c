"""The server-side SVG coverage chart."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

from pipeline.api.charts import BAR_HEIGHT, Mark, Series, coverage_svg
from pipeline.index.base import TimelineBucket

SVG = "{http://www.w3.org/2000/svg}"
MONDAY = date(2020, 7, 20)


def weeks(*counts: int) -> list[TimelineBucket]:
    return [
        TimelineBucket(MONDAY + timedelta(weeks=i), articles=n, stories=max(0, n - 1))
        for i, n in enumerate(counts)
    ]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # also proves it is well-formed XML


def bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]


def test_one_bar_per_non_empty_bucket_on_a_shared_scale() -> None:
    root = parse(
        coverage_svg([Series("All", weeks(4, 0, 2)), Series("Hong Kong", weeks(0, 1))], "week")
    )
    drawn = bars(root)
    assert [b.get("data-articles") for b in drawn] == ["4", "2", "1"]
    heights = [float(b.get("height") or 0) for b in drawn]
    assert heights[0] == BAR_HEIGHT  # the peak over every row
    assert heights[1] == BAR_HEIGHT / 2
    tooltip = drawn[0].find(f"{SVG}title")
    assert tooltip is not None and tooltip.text == "week of 20 Jul 2020: 4 articles, 3 stories"


def test_the_seed_marker_sits_inside_its_week() -> None:
    root = parse(coverage_svg([Series("All", weeks(1, 1, 1))], "week", date(2020, 7, 29), "seed"))
    [marker] = [line for line in root.iter(f"{SVG}line") if line.get("class") == "seed-marker"]
    second_week = bars(root)[1]
    x = float(marker.get("x1") or 0)
    left = float(second_week.get("x") or 0)
    assert left <= x <= left + float(second_week.get("width") or 0) + 1
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "seed-label"]
    assert labels == ["seed: 29 Jul 2020"]


def test_labels_are_text_not_markup() -> None:
    svg = coverage_svg([Series("<b>A & B</b>", weeks(1), href="/search?a=1&b=2")], "day")
    root = parse(svg)
    texts = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "row-label"]
    assert texts == ["<b>A & B</b> (1)"]
    assert "<b>" not in svg
    [link] = root.iter(f"{SVG}a")
    assert link.get("href") == "/search?a=1&b=2"


def test_no_dated_coverage_says_so() -> None:
    root = parse(coverage_svg([Series("All", [])], "week", date(2020, 7, 21)))
    assert not bars(root)
    assert "No dated coverage yet." in "".join(root.itertext())


def test_developments_are_marked_at_their_first_report_with_their_name() -> None:
    marks = [
        Mark(date(2020, 8, 5), "sizewell · cgn stake", href="/articles/a1"),
        Mark(date(2021, 1, 12), "bno visa"),  # beyond the last bucket: the axis stretches
    ]
    root = parse(
        coverage_svg([Series("All", weeks(2, 1))], "week", date(2020, 7, 21), "seed", marks)
    )
    drawn = [line for line in root.iter(f"{SVG}line") if line.get("class") == "development-marker"]
    assert [line.get("data-day") for line in drawn] == ["2020-08-05", "2021-01-12"]
    tips = [line.find(f"{SVG}title") for line in drawn]
    assert [t.text for t in tips if t is not None] == [
        "5 Aug 2020: sizewell · cgn stake",
        "12 Jan 2021: bno visa",
    ]
    xs = [float(line.get("x1") or 0) for line in drawn]
    [seed] = [line for line in root.iter(f"{SVG}line") if line.get("class") == "seed-marker"]
    seed_x = float(seed.get("x1") or 0)
    assert seed_x < xs[0] < xs[1] <= 720
    assert [a.get("href") for a in root.iter(f"{SVG}a")] == ["/articles/a1"]
