"""`/api/search/` → `/api/search`, with a relative Location.

Starlette's own trailing-slash redirect builds an absolute URL from the request's Host
header, so a forged Host is echoed back to the client (cache poisoning, open redirect). This
one answers with the path alone, and only for a path that a route serves.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send


def add_slash_redirects(app: FastAPI) -> None:
    app.router.redirect_slashes = False
    app.add_middleware(_SlashRedirect, app_routes=app)


class _SlashRedirect:
    def __init__(self, app: ASGIApp, app_routes: FastAPI) -> None:
        self.app = app
        self.routes = app_routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        target = path.rstrip("/")
        # "//host/" must never become a protocol-relative "//host"
        local = target.startswith("/") and not target.startswith("//")
        if path.endswith("/") and local and self._served(scope, target):
            query = scope.get("query_string", b"").decode("latin-1")
            location = target + (f"?{query}" if query else "")
            await send(
                {
                    "type": "http.response.start",
                    "status": 307,
                    "headers": [(b"location", location.encode("latin-1"))],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)

    def _served(self, scope: Scope, path: str) -> bool:
        probe = {**scope, "path": path}
        return any(route.matches(probe)[0] is Match.FULL for route in self.routes.router.routes)
