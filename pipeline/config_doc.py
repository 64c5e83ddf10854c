"""Render docs/configuration.md from the settings models, so the doc never drifts.

Usage: python -m pipeline.config_doc > docs/configuration.md
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from pipeline.config import FeedConfig, Settings

HEADER = """# Configuration

Every setting, generated from `pipeline/config.py` by `python -m pipeline.config_doc`
(a test fails when this file is out of date).

Settings are read from, highest priority first:

1. environment variables `NEWSWATCH_<NAME>`; nested settings join with `__`, e.g.
   `NEWSWATCH_FETCH__READ_TIMEOUT_SECONDS=20`; lists and tables are JSON, e.g.
   `NEWSWATCH_FETCH__ALLOWED_NETWORKS='["127.0.0.0/8"]'`;
2. the TOML file named by `NEWSWATCH_CONFIG` (or `newswatch --config FILE`), else
   `./newswatch.toml` when it exists;
3. the defaults below.

Secrets (`*password*`, `*api_key*`, `webhook_secret`) are never printed or logged; set
them through the environment or, under Airflow, through Connections.
"""


def _default(field: Any) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
        if isinstance(value, BaseModel):
            return "(section)"
        return f"`{value!r}`" if value != [] else "`[]`"
    default = field.default
    return f"`{str(default)!r}`" if isinstance(default, Path) else f"`{default!r}`"


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows: list[str] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        key = f"{prefix}{name}"
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows.extend(_rows(annotation, f"{key}."))
            continue
        env = "NEWSWATCH_" + key.upper().replace(".", "__")
        description = (field.description or "").replace("|", "\\|")
        default = "the shipped list" if key == "feeds" else _default(field)
        rows.append(f"| `{key}` | `{env}` | {default} | {description} |")
    return rows


def render() -> str:
    lines = [
        HEADER,
        "## Settings",
        "",
        "| setting | environment | default | why |",
        "|---|---|---|---|",
    ]
    lines += _rows(Settings, "")
    lines += [
        "",
        "## A feed (`[[feeds]]`)",
        "",
        "| field | default | why |",
        "|---|---|---|",
    ]
    for name, field in FeedConfig.model_fields.items():
        lines.append(
            f"| `{name}` | {_default(field) if not field.is_required() else 'required'} "
            f"| {field.description} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
