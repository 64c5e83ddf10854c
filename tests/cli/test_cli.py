"""The `newswatch` command run as a user would: real store, real index, real exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli.errors import EXIT_BAD_INPUT
from pipeline.cli.main import app
from pipeline.index.sqlite_fts import SqliteFtsIndex
from pipeline.store.migrate import head_revision
from tests.index.test_cjk_search import ZH_DOCS

SEED = Path(__file__).resolve().parents[2] / "pipeline" / "data" / "seeds" / "seed_article.txt"


def test_classify_json_on_a_fresh_store_knows_the_seed(runner: CliRunner) -> None:
    result = runner.invoke(app, ["classify", str(SEED), "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout.splitlines()[0])
    assert record["input"] == str(SEED)
    assert record["relation"] == "duplicate" and record["duplicate_of"] == "seed"
    assert {"huawei-5g", "hong-kong"} <= set(record["threads"])


def test_bad_query_is_one_line_and_exit_code_2(runner: CliRunner) -> None:
    result = runner.invoke(app, ["search", '"grand strategy'])
    assert result.exit_code == EXIT_BAD_INPUT
    assert "unbalanced quote" in result.output
    assert "Traceback" not in result.output


def test_index_status_reports_the_outbox(runner: CliRunner) -> None:
    result = runner.invoke(app, ["index", "status"])
    assert result.exit_code == 0, result.output
    assert "outbox pending" in result.output and "documents" in result.output


def test_db_upgrade_reports_the_revision(runner: CliRunner) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"revision {head_revision()}" in result.output


def test_index_setup_prepares_the_backend(runner: CliRunner) -> None:
    result = runner.invoke(app, ["index", "setup"])
    assert result.exit_code == 0, result.output
    assert "index is set up" in result.output and "documents" in result.output


def test_search_finds_chinese_words_and_filters_by_language(
    runner: CliRunner, tmp_path: Path
) -> None:
    index = SqliteFtsIndex(tmp_path / "data" / "search.db")
    index.ensure_ready()
    index.index(ZH_DOCS)
    result = runner.invoke(app, ["search", "华为 OR huawei", "--language", "zh", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)["hits"]
    assert [hit["article_id"] for hit in hits] == ["zh-ban"]  # the English report is filtered
    everything = runner.invoke(app, ["search", "华为 OR huawei", "--json"])
    assert {hit["article_id"] for hit in json.loads(everything.stdout)["hits"]} == {
        "zh-ban",
        "en-ban",
    }
