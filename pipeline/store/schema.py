"""Imports every module that defines tables, so Base.metadata is complete."""

from pipeline.store import (
    dedup_models,  # noqa: F401
    models,  # noqa: F401
)
