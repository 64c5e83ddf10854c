"""Imports every module that defines tables, so Base.metadata is complete."""

import pipeline.alerts.models
import pipeline.classify.models
import pipeline.feeds.backfill_models
import pipeline.fetch.host_clock
import pipeline.observe.timings
import pipeline.store.models  # noqa: F401
