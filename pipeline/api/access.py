"""Access rules: the optional API key, the request-size cap and CORS.

With ``api.api_key`` set, every page and API route needs the key, sent either in the
``X-API-Key`` header (programs) or as the password of HTTP Basic authentication with any
user name (browsers ask for it themselves; so do feed readers). /healthz, /readyz,
/metrics, the OpenAPI document and the static files stay open. Use it behind HTTPS only.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from typing import Annotated

from fastapi import FastAPI, HTTPException, Request, Security
from fastapi.security import APIKeyHeader
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline.api.context import Context
from pipeline.config import ApiSettings

API_KEY_HEADER = "X-API-Key"
_api_key = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="Needed only when api.api_key is set. Browsers may send it as the password "
    "of HTTP Basic authentication instead.",
)


def require_key(
    request: Request,
    context: Context,
    header_key: Annotated[str | None, Security(_api_key)],
) -> None:
    """Refuse the request unless the configured key (if any) came with it."""
    secret = context.settings.api.api_key
    if secret is None:
        return
    given = header_key or _basic_password(request.headers.get("Authorization"))
    expected = secret.get_secret_value().encode()
    if given is None or not hmac.compare_digest(given.encode(), expected):
        raise HTTPException(
            status_code=401,
            detail=f"an API key is required: send it in the {API_KEY_HEADER} header",
            headers={"WWW-Authenticate": 'Basic realm="newswatch"'},
        )


def _basic_password(header: str | None) -> str | None:
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    _, colon, password = decoded.partition(":")
    return password if colon else None


class BodySizeLimit:
    """ASGI middleware: a request body must declare its length, and stay within max_bytes.

    Every route is a GET, so nothing reads a body; refusing undeclared (chunked) bodies
    up front keeps the cap exact without counting streamed bytes.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            declared = headers.get(b"content-length")
            if b"transfer-encoding" in headers:
                await _refuse(
                    send, 411, "length_required", "send the request body with a Content-Length"
                )
                return
            if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
                await _refuse(send, 413, "too_large", f"request body over {self.max_bytes} bytes")
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send, status: int, code: str, detail: str) -> None:
    body = json.dumps({"error": code, "detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def add_access_middleware(app: FastAPI, settings: ApiSettings) -> None:
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    if settings.cors_origins:  # off unless origins are listed
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET"],
            allow_headers=[API_KEY_HEADER],
        )
