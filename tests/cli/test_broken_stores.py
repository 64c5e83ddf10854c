"""Unusable stores and data directories: one line naming the place and what to do, exit 3
(or 2 for a data directory the configuration points somewhere impossible), no traceback."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from pipeline.cli.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_UNAVAILABLE
from pipeline.cli.main import app

GARBAGE = b"this file is not an SQLite database, whatever its name says\n" * 200


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEWSWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv(
        "NEWSWATCH_FEEDS", json.dumps([{"name": "f", "url": "http://127.0.0.1:9/x"}])
    )
    monkeypatch.chdir(tmp_path)  # no stray newswatch.toml
    return tmp_path / "data"


def one_line_error(result: object, *needles: str) -> str:
    output: str = result.output  # type: ignore[attr-defined]
    assert result.exception is None or isinstance(result.exception, SystemExit), output  # type: ignore[attr-defined]
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    "command", [["feeds"], ["run"], ["db", "upgrade"], ["alerts", "status"], ["index", "status"]]
)
def test_a_damaged_sqlite_store_is_exit_3_with_one_line(data_dir: Path, command: list[str]) -> None:
    data_dir.mkdir()
    store = data_dir / "newswatch.db"
    store.write_bytes(GARBAGE)
    result = CliRunner().invoke(app, command, env={"COLUMNS": "400"})
    assert result.exit_code == EXIT_UNAVAILABLE, result.output
    one_line_error(result, str(store), "damaged", "backup", "db upgrade")


def test_an_unreachable_postgresql_store_is_exit_3_with_one_line(
    data_dir: Path, postgres_base_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = make_url(postgres_base_url).set(database="newswatch_no_such_database")
    monkeypatch.setenv("NEWSWATCH_DATABASE_URL", missing.render_as_string(hide_password=False))
    result = CliRunner().invoke(app, ["feeds"], env={"COLUMNS": "400"})
    assert result.exit_code == EXIT_UNAVAILABLE, result.output
    one_line_error(result, "newswatch_no_such_database", "unavailable")


@pytest.mark.parametrize("how", ["a file in the way", "read-only parent"])
def test_a_data_directory_that_cannot_be_created_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "a file in the way":
        (tmp_path / "blocker").write_text("a file, not a directory")
        target = tmp_path / "blocker" / "data"
    else:
        if os.geteuid() == 0:
            pytest.skip("root can write to read-only directories")
        parent = tmp_path / "locked"
        parent.mkdir()
        parent.chmod(0o500)
        target = parent / "data"
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["--data-dir", str(target), "feeds"], env={"COLUMNS": "400"})
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    one_line_error(result, str(target), "data directory")


def test_index_rebuild_replaces_a_damaged_search_index(data_dir: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    index = data_dir / "search.db"
    index.write_bytes(GARBAGE)
    broken = runner.invoke(app, ["index", "status"], env={"COLUMNS": "400"})
    assert broken.exit_code == EXIT_UNAVAILABLE and str(index) in broken.output

    rebuilt = runner.invoke(app, ["index", "rebuild"], env={"COLUMNS": "400"})
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "rebuilt the sqlite index" in rebuilt.output
    with sqlite3.connect(index) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    kept = list(data_dir.glob("search.db.damaged-*"))
    assert [p.read_bytes() for p in kept] == [GARBAGE]  # moved aside, not deleted
    assert runner.invoke(app, ["index", "status"]).exit_code == 0


def test_classify_json_fails_when_every_input_failed(data_dir: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-page.html"
    result = CliRunner().invoke(app, ["classify", str(missing), "--json"])
    assert result.exit_code == EXIT_FAILED, result.output
    record = json.loads(result.stdout.splitlines()[0])
    assert "error" in record
