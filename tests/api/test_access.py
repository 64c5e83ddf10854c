"""Access rules and failure modes of the service: API key, size caps, CORS, probes when a
backend is down. Each test runs its own server with its own settings."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.script import ScriptDirectory

from pipeline.store.migrate import alembic_config, head_revision, upgrade
from tests.api.conftest import running_service

KEY = "correct horse battery staple"


def basic(password: str) -> dict[str, str]:
    token = base64.b64encode(f"desk:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[httpx.Client]:
    """An empty service that needs the API key."""
    with running_service("sqlite", tmp_path, filled=False, api={"api_key": KEY}) as live:
        yield live.http


def test_without_a_key_configured_everything_is_open(tmp_path: Path) -> None:
    with running_service("sqlite", tmp_path, filled=False) as live:
        assert live.get("/api/search").status_code == 200
        assert live.get("/").status_code == 200


@pytest.mark.parametrize("path", ["/api/search?q=huawei", "/api/threads", "/", "/followups"])
def test_a_configured_key_is_required(locked: httpx.Client, path: str) -> None:
    missing = locked.get(path)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Basic")
    assert locked.get(path, headers={"X-API-Key": "wrong"}).status_code == 401
    assert locked.get(path, headers=basic("wrong")).status_code == 401
    assert locked.get(path, headers={"X-API-Key": KEY}).status_code == 200
    assert locked.get(path, headers=basic(KEY)).status_code == 200  # browsers, feed readers


def test_the_401_says_how_to_send_the_key(locked: httpx.Client) -> None:
    body = locked.get("/api/search").json()
    assert body["error"] == "unauthorized"
    assert "X-API-Key" in body["detail"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json", "/static/style.css"])
def test_probes_and_static_files_need_no_key(locked: httpx.Client, path: str) -> None:
    assert locked.get(path).status_code == 200


def test_page_size_follows_the_setting(tmp_path: Path) -> None:
    with running_service("sqlite", tmp_path, filled=False, api={"max_page_size": 5}) as live:
        assert live.get("/api/search", params={"limit": 5}).status_code == 200
        refused = live.get("/api/search", params={"limit": 6})
        assert refused.status_code == 400
        assert "between 1 and 5" in refused.json()["detail"]


def test_request_bodies_are_capped(tmp_path: Path) -> None:
    with running_service("sqlite", tmp_path, filled=False, api={"max_request_bytes": 2048}) as live:
        small = live.http.request("GET", "/api/search", content=b"x" * 2048)
        assert small.status_code == 200
        large = live.http.request("GET", "/api/search", content=b"x" * 2049)
        assert large.status_code == 413
        assert large.json()["error"] == "too_large"
        chunked = live.http.request("GET", "/api/search", content=iter([b"x" * 10]))
        assert chunked.status_code == 411


def test_cors_is_off_by_default(tmp_path: Path) -> None:
    with running_service("sqlite", tmp_path, filled=False) as live:
        response = live.get("/api/search", headers={"Origin": "https://desk.example"})
        assert "access-control-allow-origin" not in response.headers


def test_cors_allows_the_listed_origins_only(tmp_path: Path) -> None:
    origins = ["https://desk.example"]
    with running_service("sqlite", tmp_path, filled=False, api={"cors_origins": origins}) as live:
        allowed = live.get("/api/search", headers={"Origin": "https://desk.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://desk.example"
        other = live.get("/api/search", headers={"Origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in other.headers
        preflight = live.http.options(
            "/api/search",
            headers={
                "Origin": "https://desk.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "X-API-Key",
            },
        )
        assert preflight.status_code == 200
        assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()


def test_search_backend_down_is_503_not_500(tmp_path: Path) -> None:
    """An Elasticsearch URL where nothing listens: /readyz and searches say so."""
    with running_service(
        "elasticsearch", tmp_path, filled=False, es_url="http://127.0.0.1:9"
    ) as live:
        ready = live.get("/readyz")
        assert ready.status_code == 503
        body = ready.json()
        assert body["ready"] is False
        assert body["store"]["ok"] is True
        assert body["search"]["ok"] is False
        search = live.get("/api/search", params={"q": "huawei"})
        assert search.status_code == 503
        assert search.json()["error"] == "unavailable"
        page = live.get("/search", params={"q": "huawei"})
        assert page.status_code == 503
        assert "text/html" in page.headers["content-type"]
        assert live.get("/healthz").status_code == 200  # the process itself is fine


def test_store_down_is_503_not_500(tmp_path: Path) -> None:
    """A PostgreSQL URL where nothing listens."""
    with running_service(
        "sqlite",
        tmp_path,
        filled=False,
        store_url="postgresql+psycopg://newswatch@127.0.0.1:9/newswatch",
    ) as live:
        ready = live.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["store"]["ok"] is False
        articles = live.get("/api/articles/0000")
        assert articles.status_code == 503
        assert "is unavailable" in articles.json()["detail"]
        assert "127.0.0.1:9" in articles.json()["detail"]


def test_pages_load_nothing_from_elsewhere(tmp_path: Path) -> None:
    with running_service("sqlite", tmp_path, filled=False) as live:
        for path in ["/", "/search?q=x", "/no-such-page"]:
            response = live.get(path)
            assert "default-src 'self'" in response.headers["content-security-policy"], path
            assert response.headers["referrer-policy"] == "same-origin"
            head = response.text.split("<main>")[0]
            assert "//" not in head  # stylesheet and script are the service's own


def test_a_store_behind_the_schema_is_not_ready(tmp_path: Path) -> None:
    """The service never migrates: an older schema makes /readyz say what to run."""
    with running_service("sqlite", tmp_path, filled=False) as live:
        assert live.get("/readyz").status_code == 200
        scripts = ScriptDirectory.from_config(alembic_config(live.store.engine))
        head = scripts.get_revision(head_revision())
        assert head is not None
        down_to = head.down_revision
        command.downgrade(alembic_config(live.store.engine), str(down_to))

        ready = live.get("/readyz")
        assert ready.status_code == 503
        detail = ready.json()["store"]["detail"]
        assert f"schema at {down_to}" in detail and "newswatch db upgrade" in detail

        upgrade(live.store.engine)
        assert live.get("/readyz").status_code == 200
