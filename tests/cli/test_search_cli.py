"""`newswatch search` parses its parameters like /api/search, and fails in one line."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from pipeline.cli.errors import EXIT_BAD_INPUT
from pipeline.cli.main import app
from pipeline.config import Settings
from pipeline.index.factory import open_index
from pipeline.records import IndexDocument


def _doc(
    article_id: str, published: datetime, relation: str, perspective: str | None = None
) -> IndexDocument:
    return IndexDocument(
        article_id=article_id,
        canonical_url=f"https://harbour.example/{article_id}",
        title=f"Harbour ferry timetable {article_id}",
        text="The harbour ferry timetable changes for the summer crossings.",
        published_at=published,
        date_source="page",
        indexed_at=datetime(2020, 8, 1, tzinfo=UTC),
        outlet="Harbour Post",
        domain="harbour.example",
        language="en",
        relation=relation,
        perspective=perspective,
    )


@pytest.fixture(autouse=True)
def indexed(runner: CliRunner) -> None:
    """Three articles around midnight UTC at the end of 2020-07-01, in the default index."""
    backend = open_index(Settings())
    backend.ensure_ready()
    outcomes = backend.index(
        [
            _doc("june-30", datetime(2020, 6, 30, 9, tzinfo=UTC), "unrelated"),
            _doc("july-1-evening", datetime(2020, 7, 1, 21, tzinfo=UTC), "follow_up", "china"),
            _doc("july-2", datetime(2020, 7, 2, 0, 30, tzinfo=UTC), "unrelated", "uk"),
        ]
    )
    assert all(o.ok for o in outcomes)


def found(runner: CliRunner, *args: str) -> set[str]:
    result = runner.invoke(app, ["search", "ferry", "--json", "--limit", "50", *args])
    assert result.exit_code == 0, result.output
    return {hit["article_id"] for hit in json.loads(result.stdout)["hits"]}


def test_a_date_only_until_includes_that_whole_day_as_in_the_api(runner: CliRunner) -> None:
    assert found(runner, "--until", "2020-07-01") == {"june-30", "july-1-evening"}
    assert found(runner, "--since", "2020-07-01", "--until", "2020-07-01") == {"july-1-evening"}
    assert found(runner, "--until", "2020-07-01T21:00:00+00:00") == {"june-30"}


def test_relation_filters_and_is_validated(runner: CliRunner) -> None:
    assert found(runner, "--relation", "follow_up") == {"july-1-evening"}
    result = runner.invoke(app, ["search", "ferry", "--relation", "copy"])
    assert result.exit_code == EXIT_BAD_INPUT
    assert "relation must be one of duplicate, follow_up, background, unrelated" in result.stderr


def test_perspective_filters_as_in_the_api(runner: CliRunner) -> None:
    assert found(runner, "--perspective", "china") == {"july-1-evening"}
    assert found(runner, "--perspective", "uk", "--since", "2020-07-01") == {"july-2"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--until", "9999-12-31"], "until '9999-12-31' is outside the dates"),
        (["--since", "0001-01-01T00:00:00+01:00"], "is outside the dates"),
        (["--since", "21/07/2020"], "since must be a date"),
        (["--since", "2020-08-01", "--until", "2020-07-01"], "since must be earlier"),
        (["--sort", "popularity"], "sort must be one of relevance, date"),
        (["--perspective", "beijing"], "perspective must be one of uk, china, international"),
        (["--limit", "0"], "limit must be between 1 and 1000"),
        (["--cursor", "not-a-cursor"], "cursor"),
        (["(ferry OR"], "query ends"),
    ],
)
def test_bad_search_parameters_are_one_line_and_exit_code_2(
    runner: CliRunner, args: list[str], message: str
) -> None:
    query = [] if args[0].startswith("(") else ["ferry"]
    result = runner.invoke(app, ["search", *query, *args])
    assert result.exit_code == EXIT_BAD_INPUT, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
