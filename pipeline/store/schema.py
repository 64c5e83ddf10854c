"""Imports every module that defines tables, so Base.metadata is complete."""

from pipeline.store import models  # noqa: F401
