"""Every failure as a clear answer: JSON under /api and for probes, an HTML page elsewhere.

The user's mistakes (bad query syntax, unknown field, bad date, page too large) are 400s;
an unreachable store or search backend is a 503; nothing the user sends becomes a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DatabaseError
from starlette.exceptions import HTTPException

from pipeline.alerts.rules import RuleFileError
from pipeline.api.templating import render
from pipeline.classify.seeds import SeedError
from pipeline.index.base import BackendConfigError, BackendUnavailable, SearchError
from pipeline.store.errors import DataDirError, unusable_store_message

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    500: "internal",
    503: "unavailable",
}
_JSON_PREFIXES = ("/api/", "/alerts/", "/healthz", "/readyz", "/openapi")


def error_response(
    request: Request, status: int, detail: str, headers: Mapping[str, str] | None = None
) -> Response:
    code = _CODES.get(status, "error")
    if request.url.path.startswith(_JSON_PREFIXES):
        return JSONResponse({"error": code, "detail": detail}, status, headers=headers)
    return render(
        request, "error.html", {"status": status, "detail": detail}, status, headers=headers
    )


def add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SearchError)
    async def bad_query(request: Request, exc: SearchError) -> Response:
        return error_response(request, 400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, 400, validation_message(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return error_response(request, exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(BackendConfigError)
    async def search_misconfigured(request: Request, exc: BackendConfigError) -> Response:
        return error_response(request, 503, f"the search backend refused newswatch: {exc}")

    @app.exception_handler(BackendUnavailable)
    async def search_down(request: Request, exc: BackendUnavailable) -> Response:
        return error_response(request, 503, f"the search backend is unavailable: {exc}")

    @app.exception_handler(DatabaseError)
    async def store_down(request: Request, exc: DatabaseError) -> Response:
        message = unusable_store_message(exc)
        if message is None:  # a bug, not the store: the server's error, logged with its trace
            log.error("database error on %s", request.url.path, exc_info=exc)
            return error_response(request, 500, "internal error")
        return error_response(request, 503, message)

    @app.exception_handler(DataDirError)
    async def data_dir_unusable(request: Request, exc: DataDirError) -> Response:
        return error_response(request, 503, str(exc))

    @app.exception_handler(SeedError)
    async def seeds_missing(request: Request, exc: SeedError) -> Response:
        return error_response(request, 503, f"the seed stories cannot be loaded: {exc}")

    @app.exception_handler(RuleFileError)
    async def rules_missing(request: Request, exc: RuleFileError) -> Response:
        return error_response(request, 503, f"the alert rules cannot be loaded: {exc}")


def validation_message(exc: RequestValidationError) -> str:
    """'limit: Input should be a valid integer' for each problem, joined."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"] if p not in ("query", "path", "body"))
        parts.append(f"{where}: {error['msg']}" if where else str(error["msg"]))
    return "; ".join(parts)
