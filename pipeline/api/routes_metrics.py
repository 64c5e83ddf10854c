"""GET /metrics: the pipeline's Prometheus metrics (pipeline.observe.metrics), read from the
store at each scrape, so Prometheus needs to scrape only the search service."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from pipeline.api.context import Context
from pipeline.observe.metrics import exposition, store_registry

router = APIRouter(tags=["health"])


@router.get("/metrics", summary="Prometheus metrics of the pipeline", response_class=Response)
async def metrics(context: Context) -> Response:
    registry = store_registry(context.store.sessions)
    body = await run_in_threadpool(exposition, registry)  # the store queries block
    return Response(body, media_type=CONTENT_TYPE_LATEST)
