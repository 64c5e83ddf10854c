"""`newswatch backfill` run as a user would, against the sample newsroom over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from pipeline.cli.errors import EXIT_BAD_INPUT
from pipeline.cli.main import app
from pipeline.demo.server import NewsroomServer
from pipeline.demo.sitemaps import SHOWCASE
from pipeline.store import open_store
from pipeline.store.models import Article


@pytest.fixture(scope="module")
def newsroom() -> Iterator[NewsroomServer]:
    with NewsroomServer(slow_seconds=1.0) as server:
        yield server


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("NEWSWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSWATCH_FEEDS", "[]")
    monkeypatch.setenv("NEWSWATCH_FETCH__ALLOWED_NETWORKS", json.dumps(["127.0.0.0/8"]))
    monkeypatch.setenv("NEWSWATCH_FETCH__PER_HOST_DELAY_SECONDS", "0")
    monkeypatch.setenv("NEWSWATCH_BACKFILL__PER_HOST_DELAY_SECONDS", "0")
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_backfill_prints_seen_kept_fetched_and_stores_backfill_articles(
    runner: CliRunner, newsroom: NewsroomServer, tmp_path: Path
) -> None:
    site = newsroom.outlet_urls()[SHOWCASE]
    args = ["backfill", "--site", site, "--since", "2020-07-01", "--until", "2021-12-31"]
    result = runner.invoke(app, [*args, "--max-pages", "2"])
    assert result.exit_code == 0, result.output
    assert "seen" in result.output and "kept" in result.output and "fetched" in result.output
    assert "not well-formed" in result.output  # the malformed monthly sitemap is reported
    store = open_store(f"sqlite:///{tmp_path / 'data' / 'newswatch.db'}")
    with store.sessions() as session:
        rows = session.scalars(select(Article).where(Article.source == "backfill")).all()
    assert len(rows) == 2 and all(a.status == "indexed" and a.alerts_muted for a in rows)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--site", "ftp://example.org", "--since", "2020-07-01"], "http(s) URL"),
        (
            ["--site", "https://example.org", "--since", "2021-01-01", "--until", "2020-01-01"],
            "before",
        ),
        (["--site", "https://example.org", "--since", "21/07/2020"], "Invalid value"),
    ],
)
def test_bad_input_exits_2(runner: CliRunner, extra: list[str], message: str) -> None:
    result = runner.invoke(app, ["backfill", *extra])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert message in result.output
