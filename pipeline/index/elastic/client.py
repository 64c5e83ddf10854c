"""The Elasticsearch client, and how its errors and bulk answers map onto the interface."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from elastic_transport import BaseNode
from elasticsearch import ApiError, BadRequestError, Elasticsearch, TransportError
from elasticsearch.helpers import streaming_bulk

from pipeline.config import ElasticsearchSettings
from pipeline.index.base import BackendUnavailable, SearchError

BULK_RETRIES = 3  # for items a busy cluster rejects with 429, with backoff


def make_es_client(
    settings: ElasticsearchSettings, node_class: type[BaseNode] | None = None
) -> Elasticsearch:
    """The official client, configured from settings. `node_class` is for tests only."""
    options: dict[str, Any] = {
        "request_timeout": settings.request_timeout_seconds,
        "verify_certs": settings.verify_certs,
    }
    if settings.ca_certs is not None:
        options["ca_certs"] = str(settings.ca_certs)
    if settings.api_key is not None:
        options["api_key"] = settings.api_key.get_secret_value()
    elif settings.username:
        password = settings.password.get_secret_value() if settings.password else ""
        options["basic_auth"] = (settings.username, password)
    if node_class is not None:
        options["node_class"] = node_class
    return Elasticsearch(settings.url, **options)


@contextmanager
def backend_errors(url: str) -> Iterator[None]:
    """Unreachable, refusing (401/403/429) or failing (5xx) clusters: retry later."""
    try:
        yield
    except TransportError as exc:
        raise BackendUnavailable(f"Elasticsearch at {url} is unreachable: {exc}") from exc
    except ApiError as exc:
        if exc.status_code in (401, 403, 429) or exc.status_code >= 500:
            raise BackendUnavailable(f"Elasticsearch refused the request: {exc}") from exc
        raise


@contextmanager
def rejections_as_search_errors() -> Iterator[None]:
    try:
        yield
    except BadRequestError as exc:
        raise SearchError(f"the search backend rejected the query: {exc.message}") from exc


def bulk(
    client: Elasticsearch,
    actions: Iterable[dict[str, Any]],
    *,
    chunk_size: int,
    require_alias: bool = True,
) -> Iterable[tuple[bool, dict[str, Any]]]:
    return streaming_bulk(
        client,
        actions,
        chunk_size=chunk_size,
        raise_on_error=False,
        raise_on_exception=False,  # a refused request becomes failed items, not an exception
        max_retries=BULK_RETRIES,
        initial_backoff=1,
        require_alias=require_alias,  # never auto-create an index from a stale name
    )


def reason(info: dict[str, Any]) -> str:
    """Why a bulk item failed, in one line."""
    error = info.get("error")
    if isinstance(error, dict):
        return f"{error.get('type')}: {error.get('reason')}"
    return str(error or f"status {info.get('status')}")
