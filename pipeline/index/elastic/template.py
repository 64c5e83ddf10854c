"""The index template (mapping and analysis) in ``schemas/elasticsearch/index-template.json``."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any


def template_path() -> Path:
    """Where the template file is: ``schemas/`` at the top of the repository."""
    return Path(__file__).resolve().parents[3] / "schemas" / "elasticsearch" / "index-template.json"


@lru_cache(maxsize=1)
def _template_file() -> dict[str, Any]:
    with template_path().open(encoding="utf-8") as f:
        template: dict[str, Any] = json.load(f)
    return template


def index_template(prefix: str) -> dict[str, Any]:
    """The index template body for the indices PREFIX-vN."""
    template: dict[str, Any] = json.loads(json.dumps(_template_file()))  # a deep copy to fill in
    template["index_patterns"] = [p.replace("{prefix}", prefix) for p in template["index_patterns"]]
    return template


def schema_version() -> int:
    return int(_template_file()["template"]["mappings"]["_meta"]["schema_version"])


def max_indexed_chars() -> int:
    """Highlighting refuses longer texts (index.highlight.max_analyzed_offset)."""
    settings = _template_file()["template"]["settings"]["index"]
    return int(settings["highlight"]["max_analyzed_offset"])
