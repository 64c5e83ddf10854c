"""The service under hostile requests and broken stores, on a real uvicorn server: no 5xx
but 503 for an unusable store, relative redirects, and a schema-driven fuzz run."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.generation.case import Case

from pipeline.api.app import create_app
from tests.api.conftest import Service, running_service
from tests.conftest import make_test_settings

GARBAGE = b"this file is not an SQLite database, whatever its name says\n" * 200


def test_deep_nesting_in_a_query_is_a_400(tmp_path: Path) -> None:
    with running_service("sqlite", tmp_path, filled=False) as live:
        for depth in (300, 400):
            q = "(" * depth + "huawei" + ")" * depth
            response = live.get("/api/search", params={"q": q})
            assert response.status_code == 400, response.text
            assert "nests too deeply" in response.json()["detail"]
            page = live.get("/search", params={"q": q})
            assert page.status_code == 400 and "nests too deeply" in page.text


def test_the_trailing_slash_redirect_is_relative(tmp_path: Path) -> None:
    with running_service("sqlite", tmp_path, filled=False) as live:
        forged = {"Host": "attacker.example"}
        response = live.get("/api/search/", params={"q": "huawei"}, headers=forged)
        assert response.status_code == 307
        assert response.headers["location"] == "/api/search?q=huawei"
        assert "attacker" not in response.headers["location"]
        assert live.get("/no-such-route/").status_code == 404  # only served paths redirect


def test_a_damaged_store_is_503_everywhere_with_the_file_named(tmp_path: Path) -> None:
    with running_service("sqlite", tmp_path, filled=False) as live:
        live.store.dispose()
        store = Path(live.settings.resolved_database_url.removeprefix("sqlite:///"))
        for suffix in ("-wal", "-shm"):
            store.with_name(store.name + suffix).unlink(missing_ok=True)
        store.write_bytes(GARBAGE)
        for path in [
            "/api/articles/0000",
            "/api/threads",
            "/",
            "/followups",
            "/alerts/huawei.atom",
        ]:
            response = live.get(path)
            assert response.status_code == 503, (path, response.status_code, response.text[:300])
            assert str(store) in response.text and "damaged" in response.text, path
        assert live.get("/readyz").status_code == 503


# --- schema-driven fuzzing of the HTTP API -----------------------------------------------


def _openapi_document() -> dict[str, Any]:
    """The service's OpenAPI document, as the app generates it (nothing connects)."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(make_test_settings(Path(tmp)))
        return app.openapi()


SCHEMA = schemathesis.openapi.from_dict(_openapi_document())


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A live service over the sample newsroom (SQLite) for the fuzz run."""
    with running_service("sqlite", tmp_path_factory.mktemp("fuzz")) as live:
        yield live


@pytest.mark.fuzz
@SCHEMA.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same examples every run: a failure here is reproducible
)
def test_no_request_the_schema_allows_gets_a_5xx(case: Case, fuzz_target: Service) -> None:
    response = case.call(base_url=fuzz_target.url, timeout=30)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} {case.query} -> {response.status_code}: "
        f"{response.text[:300]}"
    )
