"""`newswatch demo`: the real pipeline against the bundled sample newsroom, served on loopback.

The only differences from a production run are in the settings: the newsroom's feeds,
loopback allowed through the SSRF guard, shorter timeouts, and a data directory of its
own (DATA_DIR/demo) so the demo never mixes with real coverage. Both built-in seeds are
followed; the second has no keyword lists, so its follow-ups are found by meaning alone.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import Settings
from pipeline.demo.server import NewsroomServer
from pipeline.feeds.sitemap_dates import DateRange
from pipeline.index.base import SearchIndex
from pipeline.runs.backfill import BackfillSummary, run_backfill

DEMO_PORT = 8650  # fixed, so article URLs (and so article ids) are the same on every run
DEMO_SLOW_SECONDS = 3.0
DEMO_SEEDS = ("builtin:seed_article", "builtin:nsi_corvane")
# The demo's backfill: the seed's story from July 2020, a few pages per outlet.
DEMO_BACKFILL = DateRange.from_days(date(2020, 7, 1), date(2021, 12, 31))
DEMO_BACKFILL_PAGES = 3


def demo_settings(base: Settings, newsroom: NewsroomServer, **index: Any) -> Settings:
    """The base settings, pointed at the newsroom."""
    values = base.model_dump()
    values["data_dir"] = base.data_dir / "demo"
    values["database_url"] = None
    values["feeds"] = newsroom.feed_configs()
    values["fetch"].update(
        allowed_networks=["127.0.0.0/8"],
        read_timeout_seconds=1.5,
        total_timeout_seconds=5.0,
        in_run_retries=1,
        in_run_retry_delay_seconds=0.2,
        per_host_delay_seconds=0.0,
        retry_backoff_seconds=60.0,
    )
    seeds = values["dedup"]["seeds"]
    values["dedup"]["seeds"] = [*seeds, *(s for s in DEMO_SEEDS if s not in seeds)]
    values["index"].update(index)
    values["backfill"].update(
        sites=[{"name": key, "url": url} for key, url in newsroom.outlet_urls().items()],
        per_host_delay_seconds=0.0,
        max_pages=DEMO_BACKFILL_PAGES,
    )
    return Settings(**values)


def demo_backfill(
    sessions: sessionmaker[Session], settings: Settings, backend: SearchIndex
) -> BackfillSummary:
    """A small backfill of every outlet from July 2020: the story before the feeds' window."""
    sites = [site.url for site in settings.backfill.sites]
    return run_backfill(sessions, settings, backend, sites, DEMO_BACKFILL, trigger="demo")
