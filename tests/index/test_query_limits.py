"""The query parser under hostile input: depth and length limits, and property tests that
nothing but SearchError ever comes out of parsing, rendering or running a query."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.index.base import SearchError, SearchQuery
from pipeline.index.elastic.render import render as render_elastic
from pipeline.index.query import MAX_DEPTH, MAX_QUERY_CHARS, Node, parse_query
from pipeline.index.sqlite_fts import SqliteFtsIndex
from pipeline.index.sqlite_fts.render import render as render_fts


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 300, 400])
def test_deep_nesting_is_a_search_error(depth: int) -> None:
    with pytest.raises(SearchError, match="nests too deeply"):
        parse_query("(" * depth + "huawei" + ")" * depth)


@pytest.mark.parametrize(
    "text",
    [
        "huawei " + "NOT " * 200 + "hkex",
        "huawei AND " + "-(" * 100 + "x" + ")" * 100,
        "title:" * 150 + "huawei",
    ],
)
def test_deep_not_and_field_chains_are_search_errors(text: str) -> None:
    with pytest.raises(SearchError, match="nests too deeply"):
        parse_query(text)


def test_nesting_up_to_the_limit_still_works() -> None:
    node = parse_query("(" * MAX_DEPTH + "huawei" + ")" * MAX_DEPTH)
    assert node is not None


def test_an_overlong_query_is_a_search_error() -> None:
    with pytest.raises(SearchError, match="too long"):
        parse_query("huawei " * (MAX_QUERY_CHARS // 7 + 1))


# --- property tests ------------------------------------------------------------------------

pieces = st.sampled_from(
    ["(", ")", '"', "-", "*", ":", " ", "AND", "OR", "NOT", "title:", "text:", "huawei", "5g",
     "hong", "kong*", "é", "東", "x"]
)  # fmt: skip
queries = st.one_of(
    st.text(max_size=80),
    st.lists(pieces, max_size=60).map(" ".join),
    st.lists(pieces, max_size=60).map("".join),
)


@pytest.fixture(scope="module")
def fts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteFtsIndex]:
    index = SqliteFtsIndex(Path(tmp_path_factory.mktemp("query-fuzz")) / "search.db")
    index.ensure_ready()
    yield index


@pytest.mark.fuzz
@settings(max_examples=400, deadline=None)
@given(text=queries)
def test_parsing_and_rendering_raise_only_search_errors(text: str) -> None:
    try:
        node: Node | None = parse_query(text)
    except SearchError as exc:
        assert str(exc)  # a message a person can act on
        return
    if node is not None:
        render_fts(node)
        render_elastic(node)


@pytest.mark.fuzz
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=queries)
def test_fts5_runs_every_query_the_parser_accepts(fts: SqliteFtsIndex, text: str) -> None:
    try:
        page = fts.search(SearchQuery(text=text, limit=5))
    except SearchError:
        return
    assert page.total == 0 and page.hits == []
