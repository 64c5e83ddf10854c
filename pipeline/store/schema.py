"""Imports every module that defines tables, so Base.metadata is complete."""

from pipeline.store import (
    alert_models,  # noqa: F401
    dedup_models,  # noqa: F401
    models,  # noqa: F401
)
