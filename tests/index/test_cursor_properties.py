"""Property tests of the shared cursor codec (pipeline/index/paging.py) and the timeline's
gap filling: whatever a cursor or a set of buckets holds, the answer is a value or
SearchError, never another exception."""

from __future__ import annotations

import base64
import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.index.base import SearchError
from pipeline.index.paging import decode_cursor, encode_cursor
from pipeline.index.timeline import MAX_BUCKETS, with_gaps

FINGERPRINT = "0123456789abcdef"
KEY_TYPES: list[tuple[type, ...]] = [(float,), (int,), (str,), (int, float), (str, int)]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
payloads = st.one_of(
    json_values,
    st.fixed_dictionaries({"q": st.sampled_from([FINGERPRINT, "other"]), "after": json_values}),
    st.fixed_dictionaries(
        {
            "q": st.just(FINGERPRINT),
            "after": st.tuples(json_values, json_values).map(list),
        }
    ),
)


def _encoded(payload: Any) -> str:
    return _b64(json.dumps(payload, allow_nan=True).encode())


cursors = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=150).map(_b64),
    payloads.map(_encoded),
    st.integers(min_value=1, max_value=3000).map(lambda n: _b64(b"[" * n + b"]" * n)),
)


@pytest.mark.fuzz
@settings(max_examples=400, deadline=None)
@given(cursor=cursors, key_types=st.sampled_from(KEY_TYPES))
def test_decoding_any_cursor_gives_a_key_or_a_search_error(
    cursor: str, key_types: tuple[type, ...]
) -> None:
    try:
        key, article_id = decode_cursor(cursor, FINGERPRINT, key_types)
    except SearchError as exc:
        assert "cursor" in str(exc)
        return
    assert isinstance(key, key_types) and not isinstance(key, bool)
    assert isinstance(article_id, str)


@pytest.mark.fuzz
@settings(max_examples=200, deadline=None)
@given(
    key=st.one_of(
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False, min_value=-3e38, max_value=3e38),
        st.text(max_size=40),
    ),
    article_id=st.text(min_size=1, max_size=32),
)
def test_every_cursor_we_encode_decodes_to_itself(key: Any, article_id: str) -> None:
    cursor = encode_cursor(FINGERPRINT, key, article_id)
    assert decode_cursor(cursor, FINGERPRINT, (type(key),)) == (key, article_id)


@pytest.mark.fuzz
@settings(max_examples=200, deadline=None)
@given(
    days=st.dictionaries(
        st.one_of(
            st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
            st.dates(min_value=date(2020, 1, 1), max_value=date(2021, 12, 31)),
        ),
        st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)),
        max_size=5,
    ),
    interval=st.sampled_from(["day", "week", "month", ""]),
)
def test_gap_filling_is_bounded_or_a_search_error(
    days: dict[date, tuple[int, int]], interval: str
) -> None:
    try:
        buckets = with_gaps(days, interval)
    except SearchError:
        return
    assert len(buckets) <= MAX_BUCKETS
    if interval == "day":  # (week keys come aligned from the backends; these are not)
        assert sum(b.articles for b in buckets) == sum(v[0] for v in days.values())
