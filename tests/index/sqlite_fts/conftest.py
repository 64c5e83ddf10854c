"""The SQLite FTS5 index the tests search: a real index file holding the small newsroom."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.index.sqlite_fts import SqliteFtsIndex
from tests.index.sqlite_fts.fts_corpus import DOCS


@pytest.fixture
def index(tmp_path: Path) -> SqliteFtsIndex:
    backend = SqliteFtsIndex(tmp_path / "search.db")
    backend.ensure_ready()
    outcomes = backend.index(DOCS)
    assert all(o.ok for o in outcomes)
    return backend
