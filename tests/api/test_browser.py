"""The web page in headless Chromium (Debian's package, driven by Playwright's sync API).

Screenshots go to test-artifacts/browser/ for a person to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.api.conftest import Service, running_service

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
PHONE = {"width": 390, "height": 844}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (make browser)"
    ),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running_service("sqlite", tmp_path_factory.mktemp("browser")) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    yield context.new_page()
    context.close()


def snap(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def shown_days(page: Page) -> list[date]:
    stamps = page.locator("li.hit time").evaluate_all("els => els.map(e => e.dateTime)")
    return [date.fromisoformat(stamp[:10]) for stamp in stamps]


def test_search_filter_and_open_an_article(site: Service, page: Page) -> None:
    page.goto(site.url)
    page.get_by_label("Search query").fill("Huawei")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/search\?q=Huawei"))
    hits = page.locator("li.hit")
    expect(hits.first).to_be_visible()
    unfiltered = hits.count()
    assert unfiltered > 1
    expect(page.locator("li.hit mark").first).to_have_text(re.compile("huawei", re.I))
    snap(page, "search-huawei")

    page.locator("summary", has_text="Filters").click()
    page.get_by_label("From").fill("2020-08-01")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"since=2020-08-01"))
    expect(hits.first).to_be_visible()
    days = shown_days(page)
    assert days and all(day >= date(2020, 8, 1) for day in days)
    assert hits.count() < unfiltered  # the seed's July copies are gone
    expect(page.get_by_label("Search query")).to_have_value("Huawei")  # the form keeps state
    snap(page, "search-huawei-since-august")

    first = hits.first.locator("h2 a")
    title = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r"/articles/"))
    expect(page.locator("h1")).to_have_text(title)
    expect(page.locator("section.relation h2")).to_contain_text("seed_article")
    expect(page.locator("section.text p").first).to_be_visible()
    snap(page, "article")


def test_a_shared_search_link_restores_the_query_and_filters(site: Service, page: Page) -> None:
    page.goto(f"{site.url}/search?q=huawei&since=2020-08-01&thread=huawei-5g&sort=date")
    expect(page.get_by_label("Search query")).to_have_value("huawei")
    expect(page.get_by_label("From")).to_have_value("2020-08-01")
    expect(page.get_by_label("Thread")).to_have_value("huawei-5g")
    expect(page.get_by_label("Sort")).to_have_value("date")
    days = shown_days(page)
    assert days == sorted(days, reverse=True)
    assert all(tags.count() for tags in [page.locator("li.hit .tag", has_text="Huawei and 5G")])


def test_a_bad_query_is_explained_on_the_page(site: Service, page: Page) -> None:
    response = page.goto(f'{site.url}/search?q="grand+strategy')
    assert response is not None and response.status == 400
    expect(page.get_by_role("alert")).to_contain_text("unbalanced quote")
    expect(page.get_by_label("Search query")).to_have_value('"grand strategy')


def test_timeline_draws_bars_per_thread_and_marks_the_seed(site: Service, page: Page) -> None:
    page.goto(f"{site.url}/timeline")
    chart = page.locator("svg.coverage-chart")
    expect(chart).to_be_visible()
    assert chart.locator("rect.bar").count() > 10
    expect(chart.locator("line.seed-marker")).to_have_count(1)
    expect(chart.locator("text.seed-label")).to_contain_text("21 Jul 2020")
    labels = chart.locator("text.row-label").all_text_contents()
    assert labels[0].startswith("All coverage")
    assert any(label.startswith("Hong Kong") for label in labels)
    box = chart.bounding_box()
    assert box is not None and box["height"] > 200
    snap(page, "timeline")

    page.locator("select[name=interval]").select_option("day")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"interval=day"))
    expect(page.locator("svg.coverage-chart rect.bar").first).to_be_visible()


def test_follow_ups_are_listed_by_thread(site: Service, page: Page) -> None:
    page.goto(site.url)
    page.get_by_role("link", name="See the seed's follow-ups").click()
    page.wait_for_url(re.compile(r"/followups"))
    expect(page.locator("h1")).to_contain_text("Grand Strategy")
    groups = page.locator("section.thread-group")
    headings = groups.locator("h3").all_inner_texts()
    assert {"Huawei and 5G", "Hong Kong", "Xinjiang and the Uighurs"} <= set(headings)
    for i in range(groups.count()):
        stamps = (
            groups.nth(i).locator("li.story time").evaluate_all("els => els.map(e => e.dateTime)")
        )
        assert stamps and stamps == sorted(stamps)
    snap(page, "followups")


def test_phone_sized_screen_reaches_the_follow_ups_without_sideways_scrolling(
    site: Service, browser: Browser
) -> None:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        for path in ["/", "/followups", "/search?q=huawei", "/timeline"]:
            page.goto(site.url + path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, (path, overflow)
            snap(page, "phone" + path.replace("/", "-").replace("?", "-").rstrip("-"))
        page.goto(site.url)
        page.get_by_role("link", name="See the seed's follow-ups").tap()
        page.wait_for_url(re.compile(r"/followups"))
        expect(page.locator("section.thread-group").first).to_be_visible()
    finally:
        context.close()


def test_developments_show_their_sides_side_by_side_without_javascript(
    site: Service, browser: Browser
) -> None:
    context = browser.new_context(
        viewport={"width": 1200, "height": 900}, java_script_enabled=False
    )
    page = context.new_page()
    try:
        page.goto(site.url + "/followups")
        development = page.locator("li.development").filter(has=page.locator(".side-china li"))
        group = development.first.get_by_role("group")
        columns = group.locator("section.side")
        expect(columns).to_have_count(3)
        headings = columns.get_by_role("heading").all_inner_texts()
        assert headings == ["UK outlets", "Chinese official media", "Others"]
        boxes = [columns.nth(i).bounding_box() for i in range(3)]
        tops = {round(box["y"]) for box in boxes if box is not None}
        lefts = [box["x"] for box in boxes if box is not None]
        assert len(tops) == 1 and lefts == sorted(lefts) and len(set(lefts)) == 3
        snap(page, "followups-sides")

        page.locator("form.followup-filters select[name=perspective]").select_option("china")
        page.locator("form.followup-filters").get_by_role("button", name="Show").click()
        page.wait_for_url(re.compile(r"perspective=china"))
        labels = page.locator(".sides .report-label").all_inner_texts()
        assert labels and all("Chinese official media" in label for label in labels)
        expect(page.get_by_role("link", name="Show all")).to_be_visible()
    finally:
        context.close()
