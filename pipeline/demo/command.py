"""`newswatch demo`: the real pipeline against the bundled sample newsroom, served on loopback.

The only differences from a production run are in the settings: the newsroom's feeds,
loopback allowed through the SSRF guard, shorter timeouts, and a data directory of its
own (DATA_DIR/demo) so the demo never mixes with real coverage.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipeline.config import Settings
from pipeline.demo.server import NewsroomServer
from pipeline.index.base import SearchQuery

DEMO_PORT = 8650  # fixed, so article URLs (and so article ids) are the same on every run
DEMO_SLOW_SECONDS = 3.0


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
    values["index"].update(index)
    return Settings(**values)


# One development the sample newsroom reports from both sides and in both languages: the
# earlier Huawei installation deadline (30 November 2020), in a UK paper, a Chinese state
# agency's English service and a Chinese-language daily.
DEVELOPMENT_QUERY = "华为 OR huawei"
DEVELOPMENT_SINCE = datetime(2020, 11, 30, tzinfo=UTC)
DEVELOPMENT_UNTIL = datetime(2020, 12, 2, tzinfo=UTC)


def development_query() -> SearchQuery:
    return SearchQuery(
        text=DEVELOPMENT_QUERY,
        since=DEVELOPMENT_SINCE,
        until=DEVELOPMENT_UNTIL,
        sort="date",
        collapse=False,
        limit=20,
    )
