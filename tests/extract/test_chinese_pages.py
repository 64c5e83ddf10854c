"""Chinese pages in the legacy encodings, served over real HTTP, fetched and extracted.

The fixtures are original text written for the project; each test encodes one in the
charset under test and declares it in the header, in a <meta> tag, or not at all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml.html import fromstring
from pytest_httpserver import HTTPServer

from pipeline.config import ExtractSettings, FetchSettings, Settings
from pipeline.extract.chinese_dates import chinese_page_date, parse_chinese_date
from pipeline.extract.extractor import NoContent, count_words, extract
from pipeline.fetch.pages import PageRequest, decode_html, fetch_pages_sync
from pipeline.records import DateSource, ExtractedPage

FIXTURES = Path(__file__).parents[1] / "fixtures" / "extract"
SIMPLIFIED = (FIXTURES / "article_zh_hans.html").read_text(encoding="utf-8")
TRADITIONAL = (FIXTURES / "article_zh_hant.html").read_text(encoding="utf-8")
SIMPLIFIED_TITLE = "英国议会议员与美国国务卿会面 讨论对华战略"
TRADITIONAL_TITLE = "港府回應英國擴大英國國民（海外）護照持有人居留安排"
# 21 July 2020 22:30 Beijing time
SIMPLIFIED_DATE = datetime(2020, 7, 21, 14, 30, tzinfo=UTC)
# 23 July 2020 18:05 Hong Kong time (UTC+8 too)
TRADITIONAL_DATE = datetime(2020, 7, 23, 10, 5, tzinfo=UTC)


@pytest.fixture
def fetch(settings: Settings) -> FetchSettings:
    return settings.fetch.model_copy(update={"respect_robots": False})


def page(template: str, charset: str, *, meta: bool) -> str:
    if meta:
        return template.replace("{charset}", charset)
    # undeclared: no <meta> charset at all
    lines = [line for line in template.splitlines() if "{charset}" not in line]
    return "\n".join(lines)


def served(
    httpserver: HTTPServer, fetch: FetchSettings, body: bytes, content_type: str
) -> tuple[str, str]:
    httpserver.expect_request("/story").respond_with_data(body, content_type=content_type)
    [(_, result)] = fetch_pages_sync([PageRequest("a1", httpserver.url_for("/story"))], fetch)
    assert result.ok, result.error_detail
    assert result.html is not None and result.encoding is not None
    return result.html, result.encoding


def extracted(html: str) -> ExtractedPage:
    outcome = extract(html, "https://jiangpan.example/world/1.html", settings=ExtractSettings())
    assert not isinstance(outcome, NoContent), outcome
    return outcome


CASES = [
    # (template, encoding used for the bytes, label declared, where declared)
    pytest.param(SIMPLIFIED, "gbk", "gb2312", "header", id="gb2312-label-gbk-bytes-header"),
    pytest.param(SIMPLIFIED, "gbk", "gb2312", "meta", id="gb2312-label-gbk-bytes-meta"),
    pytest.param(SIMPLIFIED, "gbk", "GBK", "header", id="gbk-header"),
    pytest.param(SIMPLIFIED, "gbk", "x-gbk", "meta", id="x-gbk-meta"),
    pytest.param(SIMPLIFIED, "gb18030", "GB18030", "meta", id="gb18030-meta"),
    pytest.param(SIMPLIFIED, "gb18030", None, "none", id="gb18030-undeclared"),
    pytest.param(SIMPLIFIED, "gbk", None, "none", id="gbk-undeclared"),
    pytest.param(TRADITIONAL, "big5", "big5", "header", id="big5-header"),
    pytest.param(TRADITIONAL, "big5", "Big5", "meta", id="big5-meta"),
    pytest.param(TRADITIONAL, "big5hkscs", "big5", "meta", id="big5-label-hkscs-bytes"),
    pytest.param(TRADITIONAL, "big5", None, "none", id="big5-undeclared"),
]


@pytest.mark.parametrize(("template", "encoding", "label", "where"), CASES)
def test_chinese_page_is_decoded_and_extracted(
    httpserver: HTTPServer,
    fetch: FetchSettings,
    template: str,
    encoding: str,
    label: str | None,
    where: str,
) -> None:
    source = page(template, label or "", meta=where == "meta")
    content_type = f"text/html; charset={label}" if where == "header" else "text/html"
    html, _ = served(httpserver, fetch, source.encode(encoding), content_type)
    assert html == source  # every character back, none replaced

    article = extracted(html)
    simplified = template is SIMPLIFIED
    assert article.title == (SIMPLIFIED_TITLE if simplified else TRADITIONAL_TITLE)
    assert article.language == "zh"
    assert article.published_at == (SIMPLIFIED_DATE if simplified else TRADITIONAL_DATE)
    assert article.date_source == DateSource.PAGE
    if simplified:
        assert "华为参与英国第五代移动通信网络建设" in article.text
    else:
        assert "英國國民（海外）護照" in article.text
    assert "版权所有" not in article.text  # the footer is chrome, not story


def test_gb2312_label_with_gbk_only_characters_is_not_mojibake():
    """王喆: 喆 is outside GB2312; browsers read the label as GBK/GB18030, and so do we."""
    body = page(SIMPLIFIED, "gb2312", meta=True).encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        body.decode("gb2312")
    html, encoding = decode_html(body, "gb2312") or ("", "")
    assert encoding == "gb18030"
    assert "记者：王喆" in html


def test_gb18030_four_byte_characters_survive():
    text = page(SIMPLIFIED, "gb18030", meta=True).replace("王喆", "王𠮷")
    decoded = decode_html(text.encode("gb18030"), None)
    assert decoded is not None
    assert "王𠮷" in decoded[0]
    assert decoded[1] == "gb18030"


def test_chinese_word_count_counts_two_characters_as_a_word():
    article = extracted(page(SIMPLIFIED, "utf-8", meta=True))
    cjk = sum(1 for ch in article.text if "\u4e00" <= ch <= "\u9fff")
    assert article.word_count == count_words(article.text)
    # a handful of Latin tokens aside, about one word per two characters
    assert cjk // 2 <= article.word_count <= cjk // 2 + 5
    assert article.word_count > 60  # so the page is not taken for a stub


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020年7月21日", datetime(2020, 7, 21, tzinfo=UTC)),
        ("2020年7月21日 10:30", datetime(2020, 7, 21, 2, 30, tzinfo=UTC)),
        ("2020-07-21 10:30", datetime(2020, 7, 21, 2, 30, tzinfo=UTC)),
        ("2020/7/21 08:05:09", datetime(2020, 7, 21, 0, 5, 9, tzinfo=UTC)),
        ("2020年7月21日 07时15分", datetime(2020, 7, 20, 23, 15, tzinfo=UTC)),
        ("2020年2月30日", None),
        ("七月二十一日", None),
    ],
)
def test_chinese_date_strings(text: str, expected: datetime | None):
    assert parse_chinese_date(text) == expected


def test_labelled_stamp_wins_over_a_date_in_the_story():
    html = (
        "<html><body><p>2019年5月15日，英国政府宣布了审查结果。</p>"
        "<div>发布日期：2020年07月21日</div></body></html>"
    )
    assert chinese_page_date(fromstring(html)) == datetime(2020, 7, 21, tzinfo=UTC)


def test_a_narrative_date_without_a_time_is_not_the_page_date():
    html = "<html><body><p>2019年5月15日，英国政府宣布了审查结果。</p></body></html>"
    assert chinese_page_date(fromstring(html)) is None


def test_a_stamp_in_a_script_is_ignored_and_future_stamps_are_refused():
    html = (
        "<html><body><script>var t='发布时间：2020-07-01 09:00';</script>"
        "<p>发布时间：2999-01-01 09:00</p></body></html>"
    )
    assert chinese_page_date(fromstring(html)) is None
