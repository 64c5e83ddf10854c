"""The data contracts as JSON files, shipped inside the package.

The top-level `schemas/` folder of the repository is a symlink to this one: one source,
readable by people there and by the installed package here (importlib.resources).
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any


def load(name: str) -> dict[str, Any]:
    """The JSON document `name` (e.g. "elasticsearch/index-template.json")."""
    document = json.loads(files(__name__).joinpath(name).read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError(f"schema {name} is not a JSON object")
    return document
