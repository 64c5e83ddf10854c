"""Shared fixtures: settings for loopback servers, and real stores on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from pipeline.config import Settings
from pipeline.store import Store, open_store

DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str | None:
    """The PostgreSQL URL tests use, or None when it is unreachable and not demanded.

    Setting NEWSWATCH_TEST_POSTGRES_URL (as .ci/run does) makes PostgreSQL mandatory.
    """
    demanded = os.environ.get("NEWSWATCH_TEST_POSTGRES_URL")
    url = demanded or DEFAULT_TEST_POSTGRES_URL
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:
        if demanded:
            raise RuntimeError(
                f"NEWSWATCH_TEST_POSTGRES_URL is set but unreachable: {exc}"
            ) from exc
        return None
    return url


def make_test_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for tests: loopback allowed, short timeouts, no waiting between retries."""
    fetch = {
        "allowed_networks": ["127.0.0.0/8"],
        "connect_timeout_seconds": 2.0,
        "read_timeout_seconds": 1.0,
        "total_timeout_seconds": 5.0,
        "per_host_delay_seconds": 0.0,
        "in_run_retries": 1,
        "in_run_retry_delay_seconds": 0.05,
        "retry_backoff_seconds": 0.0,
    }
    fetch.update(overrides.pop("fetch", {}))
    values: dict[str, Any] = {"data_dir": tmp_path / "data", "feeds": [], "fetch": fetch}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_test_settings(tmp_path)


@pytest.fixture(scope="session")
def postgres_base_url() -> str:
    url = postgres_url()
    if url is None:
        pytest.skip("PostgreSQL is not reachable (set NEWSWATCH_TEST_POSTGRES_URL to require it)")
    return url


@pytest.fixture
def postgres_store_url(postgres_base_url: str) -> Iterator[str]:
    """A fresh schema in the test database, dropped afterwards."""
    with postgres_schema(postgres_base_url) as url:
        yield url


@contextmanager
def postgres_schema(postgres_base_url: str) -> Iterator[str]:
    """The URL of a fresh schema in the test database, dropped on leaving."""
    schema = f"nw_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(postgres_base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres_store_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.dispose()
