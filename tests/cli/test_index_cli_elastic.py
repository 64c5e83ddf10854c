"""`newswatch index setup|rebuild|status` against an Elasticsearch-speaking server (osmem):
monthly indices from setup to rebuild, as ops run them."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import index as index_cli
from pipeline.cli.main import app
from pipeline.config import Settings
from pipeline.index.elastic import ElasticIndex
from pipeline.index.elastic.months import month_of
from pipeline.index.factory import open_index
from pipeline.records import utcnow
from pipeline.store import open_store
from tests.dags.test_maintenance import article, fill
from tests.index.conftest import OsmemProcess, PlainJsonNode, drop_indices, es_settings


@pytest.fixture
def elastic_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    osmem = OsmemProcess()
    prefix = es_settings(osmem.url).index_prefix
    monkeypatch.setenv("NEWSWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSWATCH_INDEX__BACKEND", "elasticsearch")
    monkeypatch.setenv("NEWSWATCH_INDEX__ELASTICSEARCH__URL", osmem.url)
    monkeypatch.setenv("NEWSWATCH_INDEX__ELASTICSEARCH__INDEX_PREFIX", prefix)
    monkeypatch.chdir(tmp_path)
    # osmem refuses the client's compatible-with media types: the tests' node class
    monkeypatch.setattr(
        index_cli, "open_index", functools.partial(open_index, node_class=PlainJsonNode)
    )
    yield CliRunner()
    elastic = open_index(Settings(), node_class=PlainJsonNode)
    assert isinstance(elastic, ElasticIndex)
    drop_indices(elastic)
    osmem.stop()


def test_setup_then_rebuild_make_monthly_indices(elastic_cli: CliRunner) -> None:
    env = {"COLUMNS": "400"}
    setup = elastic_cli.invoke(app, ["index", "setup"], env=env)
    assert setup.exit_code == 0, setup.output
    this_month = month_of(utcnow()).label
    assert "'index': 'nwtest-" in setup.output and f"{this_month} to {this_month}" in setup.output

    assert elastic_cli.invoke(app, ["db", "upgrade"]).exit_code == 0
    store = open_store(Settings().resolved_database_url)
    try:
        fill(store, [article(1, published_at=datetime(2024, 2, 10, tzinfo=UTC)), article(2)])
    finally:
        store.dispose()
    rebuilt = elastic_cli.invoke(app, ["index", "rebuild"], env=env)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "'indexed': 2" in rebuilt.output

    status = elastic_cli.invoke(app, ["index", "status"], env=env)
    assert status.exit_code == 0, status.output
    assert "-v2" in status.output  # the rebuild's generation is live
    months = {"2024.02", "2026.10", this_month}  # the articles' months and the current one
    assert f"2024.02 to {this_month} ({len(months)} indices)" in status.output
