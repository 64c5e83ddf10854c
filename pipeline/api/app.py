"""The app factory: one FastAPI app serving the JSON API, the web pages and the probes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from pipeline.api import health, routes_api, routes_feeds, routes_metrics, routes_web
from pipeline.api.access import add_access_middleware
from pipeline.api.context import AppContext
from pipeline.api.errors import add_error_handlers
from pipeline.api.slashes import add_slash_redirects
from pipeline.api.templating import STATIC_DIR
from pipeline.classify.threads import load_thread_book
from pipeline.config import Settings
from pipeline.index.base import SearchIndex
from pipeline.index.factory import open_index
from pipeline.store import Store, open_store

DESCRIPTION = """Search the articles newswatch collected, follow a story's copies and
follow-ups, and count coverage over time. Errors are JSON: `{"error": code, "detail":
message}`; a bad query or parameter is a 400 whose `detail` says what to fix."""


def create_app(
    settings: Settings, store: Store | None = None, backend: SearchIndex | None = None
) -> FastAPI:
    """The app over the given store and backend, or over those the settings name.

    Nothing connects until the first request, so the app starts while a backend is down
    (and /readyz says so). A store or backend opened here is closed with the app.
    """
    owned_store = store is None
    context = AppContext(
        settings=settings,
        store=store or open_store(settings.resolved_database_url, migrate=False),
        backend=backend or open_index(settings),
        book=load_thread_book(settings.dedup.threads_file),
        cache_seconds=settings.api.cache_seconds,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned_store:
            context.store.dispose()

    app = FastAPI(
        title="newswatch",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # the interactive docs load scripts from a CDN; /openapi.json stays
        redoc_url=None,
    )
    app.state.context = context
    add_access_middleware(app, settings.api)
    add_slash_redirects(app)
    add_error_handlers(app)
    app.include_router(health.router)
    app.include_router(routes_metrics.router)
    app.include_router(routes_api.router)
    app.include_router(routes_feeds.router)
    app.include_router(routes_web.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
