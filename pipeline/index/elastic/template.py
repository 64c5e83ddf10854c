"""The index template (mapping and analysis), shipped in the package as
``pipeline/schemas/elasticsearch/index-template.json`` (``schemas/`` is a symlink to it)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from pipeline import schemas

TEMPLATE = "elasticsearch/index-template.json"  # in pipeline/schemas/


@lru_cache(maxsize=1)
def _template_file() -> dict[str, Any]:
    return schemas.load(TEMPLATE)


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
