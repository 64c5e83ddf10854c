"""Secrets from Airflow Connections, with the newswatch settings (environment, TOML) as fallback.

Under Airflow every secret the DAGs need comes from a Connection when one is defined
(``[airflow]`` names their ids), so operators keep them in Airflow's secrets backend:

- ``newswatch_db`` replaces ``database_url``: host, port, login, password, schema (the
  database); extra ``drivername`` (default ``postgresql+psycopg``).
- ``newswatch_elasticsearch`` replaces ``index.elasticsearch``: host (with or without
  scheme), port, schema (``https``/``http``), login, password; extra ``api_key``,
  ``ca_certs``, ``verify_certs``, ``index_prefix``.
- ``newswatch_smtp`` replaces ``alerts.smtp``: host, port, login, password; extra
  ``starttls``, ``sender``, ``ca_file``.
- ``newswatch_webhook`` replaces ``alerts.webhook_secret``: its password.

A Connection that is not defined leaves the setting as it is. Importable without Airflow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, SecretStr

from pipeline.config import Settings

ELASTIC_CONN_SCHEME = "https"
DEFAULT_DB_DRIVER = "postgresql+psycopg"
M = TypeVar("M", bound=BaseModel)


class ConnectionLike(Protocol):
    """The fields of an Airflow Connection that the settings mapping reads."""

    host: str | None
    port: int | None
    schema: str | None
    login: str | None
    password: str | None

    @property
    def extra_dejson(self) -> dict[str, Any]: ...


Lookup = Callable[[str], ConnectionLike | None]


def elasticsearch_overrides(conn: ConnectionLike) -> dict[str, Any]:
    """ElasticsearchSettings fields from a Connection: host (with scheme, or the
    connection's schema, default https), port, login, password; extra: api_key,
    ca_certs, verify_certs, index_prefix."""
    overrides: dict[str, Any] = {}
    if conn.host:
        scheme = conn.schema or ELASTIC_CONN_SCHEME
        url = conn.host if "://" in conn.host else f"{scheme}://{conn.host}"
        if conn.port:
            url = f"{url.rstrip('/')}:{conn.port}"
        overrides["url"] = url
    overrides |= _login(conn)
    extra = conn.extra_dejson
    if extra.get("api_key"):
        overrides["api_key"] = SecretStr(str(extra["api_key"]))
    for key in ("ca_certs", "verify_certs", "index_prefix"):
        if key in extra:
            overrides[key] = extra[key]
    return overrides


def smtp_overrides(conn: ConnectionLike) -> dict[str, Any]:
    """SmtpSettings fields from a Connection: host, port, login, password; extra:
    starttls, sender, ca_file."""
    overrides: dict[str, Any] = {}
    if conn.host:
        overrides["host"] = conn.host
    if conn.port:
        overrides["port"] = conn.port
    overrides |= _login(conn)
    extra = conn.extra_dejson
    for key in ("starttls", "sender", "ca_file"):
        if key in extra:
            overrides[key] = extra[key]
    return overrides


def database_url(conn: ConnectionLike) -> str:
    """A SQLAlchemy URL from a Connection; the password is escaped, never logged."""
    from sqlalchemy.engine import URL

    if not conn.host:
        raise ValueError("the database Connection has no host")
    driver = str(conn.extra_dejson.get("drivername") or DEFAULT_DB_DRIVER)
    url = URL.create(
        driver,
        username=conn.login or None,
        password=conn.password or None,
        host=conn.host,
        port=conn.port or None,
        database=conn.schema or None,
    )
    return url.render_as_string(hide_password=False)


def with_connections(settings: Settings, lookup: Lookup) -> Settings:
    """Settings with every secret replaced by its Connection's, where one is defined."""
    conf = settings.airflow
    updates: dict[str, Any] = {}
    if (conn := lookup(conf.database_conn_id)) is not None:
        updates["database_url"] = database_url(conn)
    if (conn := lookup(conf.elasticsearch_conn_id)) is not None:
        elastic = _merged(settings.index.elasticsearch, elasticsearch_overrides(conn))
        updates["index"] = settings.index.model_copy(update={"elasticsearch": elastic})
    alerts: dict[str, Any] = {}
    if (conn := lookup(conf.smtp_conn_id)) is not None:
        alerts["smtp"] = _merged(settings.alerts.smtp, smtp_overrides(conn))
    if (conn := lookup(conf.webhook_conn_id)) is not None and conn.password:
        alerts["webhook_secret"] = SecretStr(conn.password)
    if alerts:
        updates["alerts"] = settings.alerts.model_copy(update=alerts)
    return settings.model_copy(update=updates) if updates else settings


def airflow_connection(conn_id: str) -> ConnectionLike | None:
    """An Airflow Connection by id, or None when it is not defined. Call inside a task."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        found: ConnectionLike = Connection.get(conn_id)
        return found
    except AirflowNotFoundException:
        return None


def _login(conn: ConnectionLike) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if conn.login:
        overrides["username"] = conn.login
    if conn.password:
        overrides["password"] = SecretStr(conn.password)
    return overrides


def _merged(model: M, overrides: dict[str, Any]) -> M:
    """The model with `overrides` applied and validated again (a copy; the original stays)."""
    return type(model).model_validate(model.model_dump() | overrides)
