"""`newswatch serve`: the search service under uvicorn."""

from __future__ import annotations

import uvicorn

from pipeline.api.app import create_app
from pipeline.config import Settings


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Serve until interrupted, on host:port (default: api.host and api.port)."""
    uvicorn.run(
        create_app(settings),
        host=host or settings.api.host,
        port=settings.api.port if port is None else port,
        server_header=False,
        proxy_headers=False,  # no proxy is trusted by default; see docs/api.md
    )
