"""Extraction of text and metadata from the sample pages in tests/fixtures/extract/."""

from __future__ import annotations

import random
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipeline.config import ExtractSettings
from pipeline.extract.extractor import NoContent, count_words, extract, normalise_text
from pipeline.records import DateSource, ExtractedPage

FIXTURES = Path(__file__).parents[1] / "fixtures" / "extract"
URL = "https://www.riverside-courier.example/news/story"
SETTINGS = ExtractSettings()
STUB_REASON = re.compile(r"body text has (\d+) words \(< 60\): paywall stub or index page")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tripwire: extraction must never resolve a name or open a connection.

    Attempts are recorded, not just refused: libraries may swallow the refusal.
    """
    attempts: list[tuple[object, ...]] = []

    def refuse(*args: object) -> None:
        attempts.append(args)
        raise OSError("extract() tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield
    assert attempts == []


def page(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def extracted(
    html: str, url: str = URL, feed_published_at: datetime | None = None
) -> ExtractedPage:
    result = extract(html, url, feed_published_at=feed_published_at, settings=SETTINGS)
    assert isinstance(result, ExtractedPage), result
    return result


def no_content(html: str, settings: ExtractSettings = SETTINGS) -> NoContent:
    result = extract(html, URL, settings=settings)
    assert isinstance(result, NoContent), result
    return result


# --- main text -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "chrome",
    [
        "We use cookies",
        "Accept all cookies",
        "Local News",
        "Sport Desk",
        "What's On Guide",
        "Related stories",
        "Swing bridge repairs",
        "Route 14 bus",
        "Morning Briefing",
        "free newsletter",
        "Subscribe now",
        "Share on social media",
        "All rights reserved",
        "Contact the newsroom",
        "Privacy policy",
    ],
)
def test_site_chrome_is_not_in_the_text(chrome: str) -> None:
    assert chrome not in extracted(page("article_chrome.html")).text


def test_body_paragraphs_are_kept_and_separated_by_blank_lines() -> None:
    text = extracted(page("article_chrome.html")).text
    paragraphs = text.split("\n\n")
    assert len(paragraphs) == 5
    assert paragraphs[0].startswith("The late-evening ferry across the estuary")
    assert "Nurse Priya Fenwick, who started it" in paragraphs[2]
    assert paragraphs[-1] == (
        "The operator has agreed to publish monthly passenger figures so that the decision "
        "can be reviewed before next winter."
    )
    # the headline is the title, not a paragraph of its own
    assert "Night ferry to keep running through winter" not in text


def test_article_metadata() -> None:
    result = extracted(page("article_chrome.html"))
    assert result.title == "Night ferry to keep running through winter"
    assert result.author == "Mara Ellison"
    assert result.site_name == "Riverside Courier"
    assert result.language == "en"
    assert result.description == (
        "Councillors reverse plans to suspend the late crossing after a petition from shift "
        "workers."
    )
    assert result.word_count == count_words(result.text)
    assert 180 < result.word_count < 200


def test_broken_html_is_repaired_and_extracted() -> None:
    result = extracted(page("broken.html"))
    assert result.title == "Allotment waiting list reaches record length"
    assert result.text.startswith("The waiting list for a council allotment")
    assert "Parks manager Lena Stroud said demand rose sharply" in result.text
    assert result.text.endswith("after a survey of current plot holders.")
    assert "stray cell" not in result.text


def test_same_page_gives_the_same_result() -> None:
    html = page("article_chrome.html")
    assert extracted(html) == extracted(html)


# --- dates ---------------------------------------------------------------------------------


def test_page_date_is_the_original_publication_time_in_utc() -> None:
    result = extracted(page("article_chrome.html"))
    # article:published_time 08:30+01:00, not article:modified_time two days later
    assert result.published_at == datetime(2024, 3, 12, 7, 30, tzinfo=UTC)
    assert result.published_at.tzinfo is UTC
    assert result.date_source is DateSource.PAGE


def test_page_date_wins_over_the_feed_date() -> None:
    feed_date = datetime(2024, 3, 13, 9, 0, tzinfo=UTC)
    result = extracted(page("article_chrome.html"), feed_published_at=feed_date)
    assert result.published_at == datetime(2024, 3, 12, 7, 30, tzinfo=UTC)
    assert result.date_source is DateSource.PAGE


def test_json_ld_date_only_value_is_midnight_utc() -> None:
    result = extracted(page("article_jsonld.html"))
    # datePublished "2023-11-07", not dateModified "2023-11-09T12:00:00Z"
    assert result.published_at == datetime(2023, 11, 7, tzinfo=UTC)
    assert result.date_source is DateSource.PAGE
    assert result.author == "Tomas Varga"
    assert result.site_name == "The Northern Ledger"
    assert result.title == "Library network to open on Sundays"


def test_undated_page_takes_the_feed_date_in_utc() -> None:
    feed_date = datetime(2024, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    result = extracted(page("article_undated.html"), feed_published_at=feed_date)
    assert result.published_at == datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert result.date_source is DateSource.FEED


def test_naive_feed_date_is_taken_as_utc() -> None:
    result = extracted(page("article_undated.html"), feed_published_at=datetime(2024, 6, 1, 12))
    assert result.published_at == datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def test_undated_page_without_feed_date_has_no_date_rather_than_today() -> None:
    """No "Updated today", "3 hours ago", "© 2024" or the run's clock as a date."""
    html = page("article_undated.html")
    assert "Updated today" in html and "3 hours ago" in html and "&copy; 2024" in html
    result = extracted(html)
    assert result.published_at is None
    assert result.date_source is DateSource.NONE


def test_date_in_the_url_counts_as_a_page_date() -> None:
    result = extracted(
        page("article_undated.html"),
        url="https://coastline-weekly.example/2023/06/18/gull-bay-clean-up",
        feed_published_at=datetime(2023, 6, 19, tzinfo=UTC),
    )
    assert result.published_at == datetime(2023, 6, 18, tzinfo=UTC)
    assert result.date_source is DateSource.PAGE


def test_markup_date_with_time_beats_the_date_in_the_url() -> None:
    result = extracted(
        page("article_chrome.html"), url="https://riverside-courier.example/2024/03/11/ferry"
    )
    assert result.published_at == datetime(2024, 3, 12, 7, 30, tzinfo=UTC)


# --- site name and language ----------------------------------------------------------------


def test_site_name_falls_back_to_the_host_without_www() -> None:
    result = extracted(page("article_undated.html"), url="https://www.coastline-weekly.example/a")
    assert result.site_name == "coastline-weekly.example"


def test_language_is_detected_from_the_text_over_a_wrong_declaration() -> None:
    html = page("article_de.html")
    assert '<html lang="en">' in html  # a template default the text contradicts
    result = extracted(html)
    assert result.language == "de"
    assert result.site_name == "Hafenbote"
    assert result.published_at == datetime(2024, 5, 21, 4, 15, tzinfo=UTC)
    assert "Der Bauausschuss hat dem Plan am Dienstagabend" in result.text


def test_language_is_detected_without_any_declaration() -> None:
    assert extracted(page("article_jsonld.html")).language == "en"


@pytest.mark.parametrize(
    ("head", "language"),
    [
        ('<html lang="en-GB">\n<head>', "en"),
        ('<html>\n<head><meta property="og:locale" content="fr_FR">', "fr"),
        ('<html>\n<head><meta http-equiv="Content-Language" content="de-AT, en">', "de"),
        ('<html lang="x-default">\n<head>', None),
        ("<html>\n<head>", None),
    ],
)
def test_declared_language_is_used_when_detection_is_unsure(
    head: str, language: str | None
) -> None:
    """A list of names and times gives the detector too little to go on."""
    html = page("results_en_gb.html")
    assert '<html lang="en-GB">\n<head>' in html
    result = extracted(html.replace('<html lang="en-GB">\n<head>', head))
    assert result.language == language
    assert "Aoife Brennan (Kingsport AC) 34:12" in result.text


# --- no content ----------------------------------------------------------------------------


def test_paywall_stub_is_no_content() -> None:
    html = page("paywall_stub.html")
    reason = no_content(html).reason
    match = STUB_REASON.fullmatch(reason)
    assert match, reason
    assert 10 < int(match[1]) < 60
    # the same page passes a lower threshold: the setting decides, not the markup
    lenient = extract(html, URL, settings=ExtractSettings(min_words=10))
    assert isinstance(lenient, ExtractedPage)
    assert lenient.text.startswith("Developers want to turn the derelict grain store")


def test_index_page_of_links_is_no_content() -> None:
    reason = no_content(page("index_page.html")).reason
    match = STUB_REASON.fullmatch(reason)
    assert match, reason
    assert int(match[1]) < 10


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("", "empty document"),
        (" \n\t ", "empty document"),
        (random.Random(7).randbytes(6000).decode("latin-1"), "not parseable as HTML"),
        (random.Random(8).randbytes(6000).decode("utf-8", "replace"), "not parseable as HTML"),
        ("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n" * 40, "not parseable as HTML"),
        # htmldate downloads a string that looks like a URL; nothing here may
        ("https://www.riverside-courier.example/news/night-ferry-winter", "not parseable as HTML"),
    ],
)
def test_junk_input_is_no_content(html: str, reason: str) -> None:
    assert no_content(html).reason == reason


@pytest.mark.parametrize(
    "html",
    [
        "<html>",
        "<html><body>" + "\x00" * 200 + "<p>a few words</p></body></html>",
        "<html><body><p>a\ud800b lone surrogate</p></body></html>",
        "<html><body>" + "<div>" * 5000 + "deeply nested text " * 50 + "</body></html>",
        "<html><head><script>var a = 1;</script></head><body><script>x()</script></body></html>",
        '{"a": [1, 2, 3], "b": "<p>json, not html</p>"}' * 20,
    ],
)
def test_broken_markup_is_no_content_not_an_exception(html: str) -> None:
    assert no_content(html).reason


# --- helpers -------------------------------------------------------------------------------


def test_normalise_text_collapses_whitespace_and_separates_paragraphs() -> None:
    raw = "  First\tline   of text \n\n\n\u00a0\nSecond  paragraph\u00a0here \n"
    assert normalise_text(raw) == "First line of text\n\nSecond paragraph here"


def test_count_words() -> None:
    assert count_words("The 5G rollout — delayed again, (officials say).") == 7
    assert count_words("") == 0
    # six Chinese characters count as three words
    assert count_words("港口渡轮停航") == 3
    assert count_words("Ferry 港口渡轮停航 news") == 5
