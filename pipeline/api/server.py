"""`newswatch serve`: the search service under uvicorn, in api.workers processes."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from pipeline.api.app import create_app
from pipeline.config import Settings


def app_from_environment() -> FastAPI:
    """The app factory each worker process calls: settings from newswatch.toml and NEWSWATCH_*."""
    return create_app(Settings())


def serve(
    settings: Settings,
    host: str | None = None,
    port: int | None = None,
    *,
    from_environment: bool = False,
) -> None:
    """Serve until interrupted, on host:port (default: api.host and api.port).

    Searches are CPU-bound, so several processes answer at once (api.workers). Worker
    processes build their own app and read the settings again, so more than one worker
    needs `from_environment` (settings exactly as the file and environment give them);
    settings built in code (the demo) are served by this one process.
    """
    options = {
        "host": host or settings.api.host,
        "port": settings.api.port if port is None else port,
        "server_header": False,
        "proxy_headers": False,  # no proxy is trusted by default; see docs/api.md
    }
    if from_environment and settings.api.workers > 1:
        uvicorn.run(
            "pipeline.api.server:app_from_environment",
            factory=True,
            workers=settings.api.workers,
            # A worker answers the supervisor's health checks only once it has imported the
            # app, which takes several seconds on a busy machine; uvicorn's 5 s kills it first.
            timeout_worker_healthcheck=60,
            **options,  # type: ignore[arg-type]
        )
    else:
        uvicorn.run(create_app(settings), **options)  # type: ignore[arg-type]
