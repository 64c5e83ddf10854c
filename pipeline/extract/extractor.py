"""Turn one downloaded HTML page into article text and metadata, with the source of its date.

trafilatura finds the main text and the metadata; htmldate (through trafilatura) the date.
Nothing here touches the network: the HTML is parsed once into an lxml tree and only that
tree is handed on, because htmldate fetches any *string* input that looks like a URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import cache
from typing import Any

from lxml.etree import LxmlError
from lxml.html import HtmlElement
from py3langid.langid import MODEL_FILE, LanguageIdentifier
from trafilatura import bare_extraction
from trafilatura.settings import Document
from trafilatura.utils import load_html

from pipeline.config import ExtractSettings
from pipeline.dates import implausible_reason
from pipeline.extract.chinese_dates import BEIJING, chinese_page_date
from pipeline.records import DateSource, ExtractedPage, as_utc, utcnow

# Below this probability the detector is guessing (lists of names, tables of numbers) and the
# page's own language declaration is the better answer.
MIN_LANGUAGE_CONFIDENCE = 0.9

# The detector's cost grows with the text (it walks every byte in Python); a few
# paragraphs decide a language as well as the whole article does. 500 characters gave the
# same language as 1,000 (and 1,000 as 2,000) on all 914 texts tried: both splits of the
# evaluation set (English and Chinese), 600 pages of the benchmark corpus and the
# extraction fixtures; 300 did too, 200 did not. It halves the detector's cost.
LANGUAGE_SAMPLE_CHARS = 500

# htmldate gives the date with its time and offset when the page has them.
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"

# Chinese and Japanese are written without spaces between words.
_CJK_CHAR = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HAN_CHAR = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA_CHAR = re.compile("[\u3040-\u30ff]")
# A whitespace-separated token with a letter or digit in it, found in one pass.
_WORD_TOKEN = re.compile(r"\S*[^\W_]\S*")
_LANGUAGE_CODE = re.compile(r"[a-z]{2}")
_LANGUAGE_SEPARATOR = re.compile(r"[-_,;\s]")


@dataclass(frozen=True)
class NoContent:
    """The page has no usable article text; `reason` names the cause (stored with the status)."""

    reason: str


def extract(
    html: str,
    url: str,
    *,
    feed_published_at: datetime | None = None,
    settings: ExtractSettings,
) -> ExtractedPage | NoContent:
    """Main text and metadata of one page, or NoContent saying why there is none.

    Never raises for bad input: empty, broken or binary pages come back as NoContent.
    """
    if not html.strip():
        return NoContent("empty document")
    tree = _parse(html)
    if tree is None:
        return NoContent("not parseable as HTML")
    try:
        document = bare_extraction(
            tree,
            url=url,
            favor_precision=settings.favor_precision,
            include_comments=False,
            with_metadata=True,
            # a shared dedup cache would make the result depend on earlier pages
            deduplicate=False,
            date_extraction_params=_date_params(),
        )
    except (LxmlError, ValueError, TypeError) as exc:
        return NoContent(f"extraction failed: {type(exc).__name__}: {exc}")
    if not isinstance(document, Document):
        return NoContent("no main text found: empty, script-only or navigation-only page")

    text = _without_headline(normalise_text(document.text or ""), document.title)
    words = count_words(text)
    if words < settings.min_words:
        return NoContent(
            f"body text has {words} words (< {settings.min_words}): paywall stub or index page"
        )

    published_at, date_source, date_note = publication_date(
        _with_chinese_stamp(_parse_page_date(document.date), tree), feed_published_at, utcnow()
    )
    return ExtractedPage(
        text=text,
        title=document.title or None,
        author=document.author or None,
        published_at=published_at,
        date_source=date_source,
        date_note=date_note,
        # trafilatura falls back to the URL's host without "www." itself
        site_name=document.sitename or None,
        language=_detected_language(text) or _declared_language(tree),
        word_count=words,
        description=document.description or None,
    )


def normalise_text(text: str) -> str:
    """One paragraph per block, whitespace inside a paragraph collapsed, blank lines between."""
    paragraphs = (" ".join(line.split()) for line in text.splitlines())
    return "\n\n".join(p for p in paragraphs if p)


def count_words(text: str) -> int:
    """Tokens with a letter or digit; two Chinese/Japanese characters count as one word.

    Those scripts use no spaces, so a whole paragraph would otherwise be one "word"; two
    characters is about the average word length in Chinese.
    """
    cjk_chars = len(_CJK_CHAR.findall(text))
    words = _WORD_TOKEN.findall(_CJK_CHAR.sub(" ", text))
    return len(words) + (cjk_chars + 1) // 2


def _declared_language(tree: HtmlElement) -> str | None:
    """ISO 639-1 code the page declares: <html lang>, then og:locale, then content-language."""
    root = tree.getroottree().getroot()
    metas = {
        (meta.get("property") or meta.get("http-equiv") or "").lower(): meta.get("content")
        for meta in root.iter("meta")
    }
    for candidate in (root.get("lang"), metas.get("og:locale"), metas.get("content-language")):
        code = _language_code(candidate)
        if code:
            return code
    return None


def _without_headline(text: str, title: str | None) -> str:
    """Drop a first paragraph that repeats the title: trafilatura keeps the <h1> in the text."""
    first, _, rest = text.partition("\n\n")
    return rest if title and first == " ".join(title.split()) else text


def _parse(html: str) -> HtmlElement | None:
    try:
        return load_html(html)
    except (LxmlError, ValueError, TypeError):
        return None


def _date_params() -> dict[str, Any]:
    """htmldate options: publication date over last-modified, and only dates found in markup.

    The extensive search guesses from free text: a copyright year becomes 1 January, a
    month-year becomes the 1st. Those guesses are worse than the feed's date, so it is off.
    A date in the URL path has no time of day, so the page's markup is asked first.
    The ceiling is tomorrow (UTC), so a page stamped in a time zone ahead of UTC still counts.
    Only Document.date is read: Document.filedate is this ceiling, i.e. the run's clock.
    """
    tomorrow = utcnow().date() + timedelta(days=1)
    return {
        "original_date": True,
        "extensive_search": False,
        "deferred_url_extractor": True,
        "outputformat": _DATE_FORMAT,
        "max_date": datetime.combine(tomorrow, time.max),
    }


def publication_date(
    page_date: datetime | None, feed_published_at: datetime | None, now: datetime
) -> tuple[datetime | None, DateSource, str | None]:
    """The page's date, else the feed's; each only if plausible (pipeline/dates.py).

    The note says why a date that was found was not used, for the article's date evidence.
    """
    notes = []
    try:
        feed_date = as_utc(feed_published_at)
    except OverflowError:  # year 1 or 9999 with an offset: not a date we could use anyway
        feed_date, notes = None, ["feed date rejected: out of range"]
    for value, source in ((page_date, DateSource.PAGE), (feed_date, DateSource.FEED)):
        if value is None:
            continue
        reason = implausible_reason(value, now)
        if reason is None:
            return value, source, "; ".join(notes) or None
        notes.append(f"{source.value} date rejected: {reason}")
    return None, DateSource.NONE, "; ".join(notes) or None


def _with_chinese_stamp(page_date: datetime | None, tree: HtmlElement) -> datetime | None:
    """A Chinese-style stamp when htmldate found nothing, or found only its day.

    htmldate reads "发布时间：2020-07-21 22:30" as the bare day; the stamp has the time.
    """
    if page_date is not None and page_date.time() != time(0, tzinfo=None):
        return page_date
    stamp = chinese_page_date(tree)
    if stamp is None:
        return page_date
    if page_date is None or stamp.astimezone(BEIJING).date() == page_date.date():
        return stamp
    return page_date


def _parse_page_date(value: str | None) -> datetime | None:
    """The page's date as aware UTC; date-only and offset-less values are taken as UTC."""
    if not value:
        return None
    try:
        return as_utc(datetime.fromisoformat(value))
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 shifted out of range
        return None


@cache
def _language_identifier() -> LanguageIdentifier:
    # normalised probabilities, so that MIN_LANGUAGE_CONFIDENCE means something
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def warm_up() -> None:
    """Load the language model now (about a second), not inside the first page's extraction."""
    _language_identifier()


def _detected_language(text: str) -> str | None:
    language, confidence = _language_identifier().classify(text[:LANGUAGE_SAMPLE_CHARS])
    if confidence < MIN_LANGUAGE_CONFIDENCE:
        return _language_by_script(text)
    return _language_code(language)


def _language_by_script(text: str) -> str | None:
    """'zh' for text that is mostly Han characters without kana (which would make it Japanese).

    The statistical detector is unsure on Traditional Chinese (about 0.86 for a news page),
    but the script alone settles it.
    """
    letters = sum(1 for ch in text if ch.isalpha())
    han = len(_HAN_CHAR.findall(text))
    kana = len(_KANA_CHAR.findall(text))
    if letters and han / letters > 0.5 and kana < han / 50:
        return "zh"
    return None


def _language_code(value: str | None) -> str | None:
    """'en-GB', 'de_DE', 'fr, en' → 'en', 'de', 'fr'; None for anything not ISO 639-1."""
    if not value:
        return None
    primary = _LANGUAGE_SEPARATOR.split(value.strip().lower(), maxsplit=1)[0]
    return primary if _LANGUAGE_CODE.fullmatch(primary) else None
