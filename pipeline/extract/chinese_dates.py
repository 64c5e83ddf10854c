"""Publication dates written the Chinese way, which htmldate does not read.

Two forms are accepted, in this order of trust:

1. a labelled timestamp anywhere in the page: ``发布时间：2020-07-21 10:30``,
   ``发布日期: 2020/07/21``, ``时间：2020年7月21日 10:30`` (the label says it is the
   page's own date, not one mentioned in the story);
2. the first ``2020年7月21日 10:30`` that carries a time of day: a narrative date in the
   story ("2019年5月15日，…") has none, a byline stamp has one.

A time without an offset on a Chinese-language page is Beijing time (UTC+8, no daylight
saving since 1991); it is converted to UTC. A date without a time is taken as midnight
UTC, as for every other page.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from lxml.html import HtmlElement

from pipeline.records import utcnow

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")

# Text nodes beyond this many characters into the page are not searched: stamps sit at the top.
_SEARCH_CHARS = 20_000
_HIDDEN = frozenset({"script", "style", "noscript", "template"})

_DATE = (
    r"(?P<y>(?:19|20)\d\d)\s*(?:年|[-/.])\s*(?P<m>\d{1,2})\s*(?:月|[-/.])\s*(?P<d>\d{1,2})\s*日?"
)
_TIME = (
    r"(?:\s*(?P<H>[01]?\d|2[0-3])\s*[:：时]\s*(?P<M>[0-5]\d)"
    r"(?:\s*[:：分]\s*(?P<S>[0-5]\d)秒?|分)?)?"
)
_LABEL = r"(?:发布|發布|发表|發表|更新|稿件|出版)?(?:时间|時間|日期)\s*[:：]?\s*"
_LABELLED = re.compile(_LABEL + _DATE + _TIME)
_CHINESE_STAMP = re.compile(
    r"(?P<y>(?:19|20)\d\d)年(?P<m>\d{1,2})月(?P<d>\d{1,2})日\s*"
    r"(?P<H>[01]?\d|2[0-3])\s*[:：时]\s*(?P<M>[0-5]\d)(?:\s*[:：分]\s*(?P<S>[0-5]\d)秒?|分)?"
)


def chinese_page_date(tree: HtmlElement) -> datetime | None:
    """The page's publication date from a Chinese-style stamp, as aware UTC, or None."""
    text = _visible_text(tree)
    for pattern in (_LABELLED, _CHINESE_STAMP):
        for match in pattern.finditer(text):
            moment = _to_datetime(match)
            # as htmldate: nothing later than tomorrow (a typo or a scheduled event)
            if moment is not None and moment <= utcnow() + timedelta(days=1):
                return moment
    return None


def parse_chinese_date(value: str) -> datetime | None:
    """One Chinese-style date string (``2020年7月21日 10:30``) as aware UTC, or None."""
    match = re.fullmatch(r"\s*" + _DATE + _TIME + r"\s*", value)
    return _to_datetime(match) if match else None


def _to_datetime(match: re.Match[str]) -> datetime | None:
    parts = match.groupdict()
    try:
        if parts.get("H") is None:
            return datetime(int(parts["y"]), int(parts["m"]), int(parts["d"]), tzinfo=UTC)
        local = datetime(
            int(parts["y"]),
            int(parts["m"]),
            int(parts["d"]),
            int(parts["H"]),
            int(parts["M"]),
            int(parts.get("S") or 0),
            tzinfo=BEIJING,
        )
    except ValueError:  # 2020年2月30日 and the like
        return None
    return local.astimezone(UTC)


def _visible_text(tree: HtmlElement) -> str:
    """The page's text without scripts and styles, capped, one line per text node."""
    chunks: list[str] = []
    size = 0
    for element in tree.iter():
        hidden = not isinstance(element.tag, str) or element.tag in _HIDDEN
        for piece in (element.tail,) if hidden else (element.text, element.tail):
            if piece and piece.strip():
                chunks.append(piece.strip())
                size += len(piece)
        if size > _SEARCH_CHARS:
            break
    return "\n".join(chunks)
