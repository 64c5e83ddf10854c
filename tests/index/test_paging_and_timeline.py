"""Hostile search arguments on both backends: cursors and timeline ranges (issue #12).

A cursor is user input; whatever it holds, a search answers with SearchError (HTTP 400),
never another exception. A timeline whose span cannot be drawn is refused with
SearchError after bounded work, and year 9999 does not overflow.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from pipeline.index.base import SearchError, SearchQuery
from pipeline.index.timeline import MAX_BUCKETS
from pipeline.records import IndexDocument
from tests.index.conftest import Backend
from tests.index.newsroom import make_doc


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _with_key(cursor: str, key: Any) -> str:
    """The cursor with its sort key replaced: the fingerprint stays right."""
    payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    payload["after"][0] = key
    return _b64(json.dumps(payload).encode())


GARBAGE = [
    "not-a-cursor!",
    "=",
    "é",  # not ASCII: base64 refuses it
    _b64(b"\xff\xfe\x00"),  # not UTF-8
    _b64(b"[" * 100_000 + b"]" * 100_000)[:1000],  # cut to stay under the size bound
    _b64(b"[" * 200 + b"]" * 200),  # deep, and short enough to be decoded
    _b64(b'{"q":' * 300 + b"1" + b"}" * 300),
    _b64(b"null"),
    _b64(b'"a string"'),
    _b64(b"[1, 2]"),
    _b64(b'{"q": "x"}'),
    _b64(b'{"q": "x", "after": "y"}'),
    _b64(b'{"q": "x", "after": [1, 2, 3]}'),
    "A" * 100_000,  # far over the size bound
]


@pytest.mark.parametrize("cursor", GARBAGE)
def test_garbage_cursor_is_a_search_error(newsroom: Backend, cursor: str) -> None:
    for sort in ("relevance", "date"):
        with pytest.raises(SearchError, match="cursor"):
            newsroom.index.search(SearchQuery(text="huawei", sort=sort, cursor=cursor))  # type: ignore[arg-type]


def test_deeply_nested_cursor_is_a_search_error(newsroom: Backend) -> None:
    # deeper than Python's recursion limit, and still under the cursor size bound
    deep = _b64(b"[" * 700 + b"]" * 700)
    with pytest.raises(SearchError, match="cursor"):
        newsroom.index.search(SearchQuery(text="huawei", cursor=deep))
    very_deep = _b64(b"[" * 5000)
    with pytest.raises(SearchError, match="cursor"):
        newsroom.index.search(SearchQuery(text="huawei", cursor=very_deep))


@pytest.mark.parametrize(
    "key",
    [10**30, -(10**30), 2**63, 1e300, -1e300, float("inf"), float("nan"), True, None, [1], {}],
    ids=repr,
)
@pytest.mark.parametrize("sort", ["relevance", "date"])
def test_cursor_with_a_hostile_sort_key_is_a_search_error(
    newsroom: Backend, sort: str, key: Any
) -> None:
    query = SearchQuery(text="huawei", sort=sort, limit=1)  # type: ignore[arg-type]
    page = newsroom.index.search(query)
    assert page.next_cursor is not None
    with pytest.raises(SearchError, match="cursor"):
        newsroom.index.search(replace(query, cursor=_with_key(page.next_cursor, key)))


def test_cursor_with_text_for_a_score_is_a_search_error(newsroom: Backend) -> None:
    by_score = newsroom.index.search(SearchQuery(text="huawei", limit=1))
    assert by_score.next_cursor is not None
    wrong = _with_key(by_score.next_cursor, "text where a score belongs")
    with pytest.raises(SearchError, match="cursor"):
        newsroom.index.search(SearchQuery(text="huawei", limit=1, cursor=wrong))


def test_a_real_cursor_still_pages(newsroom: Backend) -> None:
    first = newsroom.index.search(SearchQuery(text="huawei", sort="date", limit=2, collapse=False))
    second = newsroom.index.search(
        SearchQuery(text="huawei", sort="date", limit=2, collapse=False, cursor=first.next_cursor)
    )
    assert second.hits and not {h.article_id for h in first.hits} & {
        h.article_id for h in second.hits
    }


# -- timeline ranges -----------------------------------------------------------------------


def _dated(article_id: str, moment: datetime) -> IndexDocument:
    return make_doc(article_id, f"Lighthouse keeper log {article_id}", "Fog again.", moment)


@pytest.mark.parametrize("interval", ["day", "week"])
def test_timeline_at_the_end_of_year_9999_does_not_overflow(
    backend: Backend, interval: str
) -> None:
    last_day = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    docs = [_dated("far-1", last_day), _dated("far-2", datetime(9999, 12, 25, tzinfo=UTC))]
    assert all(o.ok for o in backend.index.index(docs))
    backend.refresh()
    buckets = backend.index.timeline(SearchQuery(text="lighthouse"), interval)  # type: ignore[arg-type]
    if interval == "day":
        assert (buckets[0].start, buckets[0].articles) == (date(9999, 12, 25), 1)
        assert buckets[-1].start == date(9999, 12, 31) and len(buckets) == 7
    else:  # 9999-12-25 is a Saturday: its week and the next one's Monday
        assert [(b.start, b.articles) for b in buckets] == [
            (date(9999, 12, 20), 1),
            (date(9999, 12, 27), 1),
        ]


@pytest.mark.parametrize("interval", ["day", "week"])
def test_timeline_from_year_1_to_9999_is_refused(backend: Backend, interval: str) -> None:
    docs = [
        _dated("early", datetime(1, 1, 1, tzinfo=UTC)),
        _dated("late", datetime(9999, 12, 31, tzinfo=UTC)),
    ]
    assert all(o.ok for o in backend.index.index(docs))
    backend.refresh()
    with pytest.raises(SearchError, match="since/until"):
        backend.index.timeline(SearchQuery(text="lighthouse"), interval)  # type: ignore[arg-type]
    # narrowed by dates, the same index draws again
    late = SearchQuery(text="lighthouse", since=datetime(9000, 1, 1, tzinfo=UTC))
    assert [(b.start, b.articles) for b in backend.index.timeline(late, "day")] == [
        (date(9999, 12, 31), 1)
    ]


def test_timeline_of_exactly_the_bucket_limit_is_drawn(backend: Backend) -> None:
    first = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday
    last = datetime.fromordinal(first.toordinal() + MAX_BUCKETS - 1).replace(tzinfo=UTC)
    assert all(o.ok for o in backend.index.index([_dated("a", first), _dated("b", last)]))
    backend.refresh()
    buckets = backend.index.timeline(SearchQuery(text="lighthouse"), "day")
    assert len(buckets) == MAX_BUCKETS and sum(b.articles for b in buckets) == 2
    beyond = datetime.fromordinal(last.toordinal() + 1).replace(tzinfo=UTC)
    assert all(o.ok for o in backend.index.index([_dated("c", beyond)]))
    backend.refresh()
    with pytest.raises(SearchError, match="interval=week"):
        backend.index.timeline(SearchQuery(text="lighthouse"), "day")
    assert len(backend.index.timeline(SearchQuery(text="lighthouse"), "week")) < MAX_BUCKETS
