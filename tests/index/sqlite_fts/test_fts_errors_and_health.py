"""The SQLite FTS5 index's argument errors, set-up and health."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.index.base import BackendUnavailable, SearchError, SearchQuery
from pipeline.index.sqlite_fts import SqliteFtsIndex
from tests.index.sqlite_fts.fts_corpus import DOCS, at

# -- errors and health -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"text": '"hong kong'}, "unbalanced quote"),
        ({"text": "author:smith"}, "unknown field"),
        ({"limit": 1001}, "limit"),
        ({"limit": 0}, "limit"),
        ({"since": at("2021-01-02"), "until": at("2021-01-01")}, "since"),
    ],
)
def test_search_errors(index: SqliteFtsIndex, options: dict[str, object], message: str) -> None:
    with pytest.raises(SearchError, match=message):
        index.search(SearchQuery(**options))  # type: ignore[arg-type]


def test_more_like_this_and_timeline_argument_errors(index: SqliteFtsIndex) -> None:
    with pytest.raises(SearchError):
        index.more_like_this("hw-wire", limit=5000)
    with pytest.raises(SearchError):
        index.timeline(SearchQuery(), "month")  # type: ignore[arg-type]


def test_ensure_ready_is_idempotent_and_health_reports(index: SqliteFtsIndex) -> None:
    index.ensure_ready()
    SqliteFtsIndex(index.path).ensure_ready()
    health = index.health()
    assert health["documents"] == len(DOCS)
    assert health["backend"] == "sqlite"
    assert isinstance(health["file_bytes"], int) and health["file_bytes"] > 0


def test_health_raises_when_the_file_is_missing_or_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable):
        SqliteFtsIndex(tmp_path / "absent.db").health()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database file at all" * 200)
    with pytest.raises(BackendUnavailable):
        SqliteFtsIndex(junk).health()
    with pytest.raises(BackendUnavailable):
        SqliteFtsIndex(junk).index([DOCS[0]])
