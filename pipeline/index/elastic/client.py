"""The Elasticsearch client, and how its errors and bulk answers map onto the interface."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from elastic_transport import BaseNode, HttpHeaders, Urllib3HttpNode
from elastic_transport._node import NodeApiResponse  # not re-exported at the top level
from elastic_transport.client_utils import DEFAULT, DefaultType
from elasticsearch import ApiError, BadRequestError, Elasticsearch, TransportError
from elasticsearch._version import __versionstr__ as client_version
from elasticsearch.helpers import streaming_bulk

from pipeline.config import ElasticsearchSettings
from pipeline.index.base import BackendConfigError, BackendUnavailable, SearchError

BULK_RETRIES = 3  # for items a busy cluster rejects with 429, with backoff
CLIENT_MAJOR = int(client_version.partition(".")[0])
COMPAT_HEADERS = ("accept", "content-type")


class CompatibleWithNode(BaseNode):
    """Rewrites the client's ``compatible-with=<client major>`` media types for a server of
    another major. elasticsearch-py 9 sends ``compatible-with=9`` on every request, which
    Elasticsearch 8 refuses; 8.x servers accept ``compatible-with=8``, the REST API the
    calls newswatch makes have in common. Mixed in before a concrete node class."""

    server_major: int = CLIENT_MAJOR

    def perform_request(
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: HttpHeaders | None = None,
        request_timeout: DefaultType | float | None = DEFAULT,
    ) -> NodeApiResponse:
        if headers is not None and self.server_major != CLIENT_MAJOR:
            headers = headers.copy()
            for name in COMPAT_HEADERS:
                value = headers.get(name)
                if value:
                    headers[name] = value.replace(
                        f"compatible-with={CLIENT_MAJOR}", f"compatible-with={self.server_major}"
                    )
        return super().perform_request(
            method, target, body=body, headers=headers, request_timeout=request_timeout
        )


def compatible_node(base: type[BaseNode], server_major: int) -> type[BaseNode]:
    """`base` (the node class that does the HTTP) sending media types for `server_major`."""
    return type(
        f"CompatibleWith{server_major}{base.__name__}",
        (CompatibleWithNode, base),
        {"server_major": server_major},
    )


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
    if settings.server_major != CLIENT_MAJOR:
        base = node_class or Urllib3HttpNode
        options["node_class"] = compatible_node(base, settings.server_major)
    elif node_class is not None:
        options["node_class"] = node_class
    return Elasticsearch(settings.url, **options)


@contextmanager
def backend_errors(url: str) -> Iterator[None]:
    """Unreachable, busy (429) or failing (5xx) clusters: retry later. Refused credentials
    (401) or privileges (403): a configuration error, not retried."""
    try:
        yield
    except TransportError as exc:
        raise BackendUnavailable(f"Elasticsearch at {url} is unreachable: {exc}") from exc
    except ApiError as exc:
        if exc.status_code == 401:
            raise BackendConfigError(
                f"Elasticsearch at {url} refused the credentials (401): check "
                "index.elasticsearch username/password or api_key (or the Airflow Connection)"
            ) from exc
        if exc.status_code == 403:
            raise BackendConfigError(
                f"Elasticsearch at {url} denied the request (403), the user lacks a "
                f"privilege: {exc.message}; see docs/elasticsearch.md, Security"
            ) from exc
        if exc.status_code == 429 or exc.status_code >= 500:
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
    max_bytes: int,
    require_alias: bool = True,
) -> Iterable[tuple[bool, dict[str, Any]]]:
    return streaming_bulk(
        client,
        actions,
        chunk_size=chunk_size,
        max_chunk_bytes=max_bytes,  # whichever of the two caps a request reaches first
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
