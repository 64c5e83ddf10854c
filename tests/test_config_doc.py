"""docs/configuration.md is what `python -m pipeline.config_doc` generates from config.py."""

from __future__ import annotations

from pathlib import Path

from pipeline.config_doc import render

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_the_configuration_doc_matches_the_settings() -> None:
    assert render() == DOC.read_text(encoding="utf-8"), (
        "docs/configuration.md is out of date: "
        "run .venv/bin/python -m pipeline.config_doc > docs/configuration.md"
    )
