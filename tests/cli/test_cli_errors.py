"""Every command, the alert ones included, fails the same way: one line, one exit code."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli.errors import EXIT_BAD_INPUT, EXIT_UNAVAILABLE
from pipeline.cli.main import app
from tests.alerts.support import free_port

COMMANDS = [["feeds"], ["index", "status"], ["alerts", "list"], ["alerts", "status"]]


def one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_unreachable_database_is_exit_code_3(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    port = free_port()
    url = f"postgresql+psycopg://nobody@127.0.0.1:{port}/none?connect_timeout=2"
    monkeypatch.setenv("NEWSWATCH_DATABASE_URL", url)
    result = runner.invoke(app, command)
    assert result.exit_code == EXIT_UNAVAILABLE, result.output
    line = one_error_line(result.stderr)
    assert "is unavailable" in line and f"127.0.0.1:{port}" in line  # names the server


@pytest.mark.parametrize("command", [*COMMANDS, ["search", "huawei"]], ids=" ".join)
def test_a_bad_setting_is_exit_code_2_naming_it(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("NEWSWATCH_API__MAX_PAGE_SIZE", "0")
    result = runner.invoke(app, command)
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert result.stdout == ""
    line = one_error_line(result.stderr)
    assert "invalid configuration: api.max_page_size" in line


def test_a_long_message_stays_on_one_line(runner: CliRunner, tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text("{not json\n\n at all", encoding="utf-8")
    result = CliRunner(env={"NEWSWATCH_ALERTS__RULES_FILE": str(rules)}).invoke(
        app, ["alerts", "list"], terminal_width=40
    )
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert str(rules.name) in one_error_line(result.stderr)
