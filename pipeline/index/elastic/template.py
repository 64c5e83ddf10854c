"""The index template (mapping and analysis), shipped in the package as
``pipeline/schemas/elasticsearch/index-template.json`` (``schemas/`` is a symlink to it)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from pipeline import schemas
from pipeline.index.elastic.documents import VECTOR_FIELD

TEMPLATE = "elasticsearch/index-template.json"  # in pipeline/schemas/


@lru_cache(maxsize=1)
def _template_file() -> dict[str, Any]:
    return schemas.load(TEMPLATE)


def index_template(prefix: str, *, vectors: bool = True) -> dict[str, Any]:
    """The index template body for the indices PREFIX-v*; without the `dense_vector`
    field when `vectors` is off (a cluster that has no such type)."""
    template: dict[str, Any] = json.loads(json.dumps(_template_file()))  # a deep copy to fill in
    template["index_patterns"] = [p.replace("{prefix}", prefix) for p in template["index_patterns"]]
    if not vectors:
        del template["template"]["mappings"]["properties"][VECTOR_FIELD]
    return template


def vector_dims() -> int:
    properties = _template_file()["template"]["mappings"]["properties"]
    return int(properties[VECTOR_FIELD]["dims"])


def template_settings(keys: Iterable[str]) -> dict[str, Any]:
    """The template's index settings of these keys (None: Elasticsearch's default)."""
    settings = _template_file()["template"]["settings"]["index"]
    return {key: settings.get(key) for key in keys}


def schema_version() -> int:
    return int(_template_file()["template"]["mappings"]["_meta"]["schema_version"])


def max_indexed_chars() -> int:
    """Highlighting refuses longer texts (index.highlight.max_analyzed_offset)."""
    settings = _template_file()["template"]["settings"]["index"]
    return int(settings["highlight"]["max_analyzed_offset"])
