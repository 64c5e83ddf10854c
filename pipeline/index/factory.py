"""Open the search backend that the settings choose (index.backend)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.config import Settings
from pipeline.index.base import SearchIndex

if TYPE_CHECKING:
    from elastic_transport import BaseNode


def open_index(settings: Settings, *, node_class: type[BaseNode] | None = None) -> SearchIndex:
    """The configured backend, not yet ensured ready. `node_class` is for tests only."""
    if settings.index.backend == "elasticsearch":
        # imported only when chosen: the client takes ~0.4 s to import, too long for the CLI
        from pipeline.index.elastic import ElasticIndex

        return ElasticIndex(
            settings.index.elasticsearch,
            max_text_chars=settings.index.max_text_chars,
            node_class=node_class,
        )
    from pipeline.index.sqlite_fts import SqliteFtsIndex

    return SqliteFtsIndex(
        settings.data_dir / "search.db", max_text_chars=settings.index.max_text_chars
    )
