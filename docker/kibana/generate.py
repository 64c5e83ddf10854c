"""Writes docker/kibana/saved-objects.ndjson: the Kibana objects journalists start from.

- a data view on the read alias (``newswatch-articles``, time field ``published_at``);
- a dashboard "newswatch coverage": articles per thread over time, articles per outlet
  over time, and a table of outlets per thread;
- a saved search per thread (``threads:"<id>"``), newest first.

The file is Kibana's export format (one saved object per line, then the export summary),
so `POST /api/saved_objects/_import` takes it (docker/'s kibana-setup step) and a
journalist can export changed objects back into it. Regenerate after editing the threads:

    python docker/kibana/generate.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
THREADS = ROOT / "pipeline" / "data" / "threads.json"
OUTPUT = Path(__file__).with_name("saved-objects.ndjson")
DATA_VIEW = "newswatch-articles"
DASHBOARD = "newswatch-coverage"
INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"
UPDATED = "2026-11-30T00:00:00.000Z"  # fixed, so the file is reproducible


def search_source(query: str = "") -> dict[str, Any]:
    source = {
        "query": {"query": query, "language": "kuery"},
        "filter": [],
        "indexRefName": INDEX_REF,
    }
    return {"searchSourceJSON": json.dumps(source, separators=(",", ":"))}


def data_view_ref() -> list[dict[str, str]]:
    return [{"id": DATA_VIEW, "name": INDEX_REF, "type": "index-pattern"}]


def saved_object(
    kind: str, object_id: str, attributes: dict[str, Any], refs: list[Any]
) -> dict[str, Any]:
    return {
        "attributes": attributes,
        "id": object_id,
        "managed": False,
        "references": refs,
        "type": kind,
        "updated_at": UPDATED,
    }


def data_view() -> dict[str, Any]:
    return saved_object(
        "index-pattern",
        DATA_VIEW,
        {"title": DATA_VIEW, "name": "newswatch articles", "timeFieldName": "published_at"},
        [],
    )


def over_time(object_id: str, title: str, split_field: str, size: int) -> dict[str, Any]:
    """An aggregation-based line chart: articles per day, one line per `split_field` value."""
    vis_state = {
        "title": title,
        "type": "line",
        "params": {"addLegend": True, "legendPosition": "right", "addTooltip": True},
        "aggs": [
            {"id": "1", "enabled": True, "type": "count", "schema": "metric", "params": {}},
            {
                "id": "2",
                "enabled": True,
                "type": "date_histogram",
                "schema": "segment",
                "params": {"field": "published_at", "interval": "d", "min_doc_count": 0},
            },
            {
                "id": "3",
                "enabled": True,
                "type": "terms",
                "schema": "group",
                "params": {"field": split_field, "size": size, "order": "desc", "orderBy": "1"},
            },
        ],
    }
    return visualization(object_id, title, vis_state)


def outlets_per_thread() -> dict[str, Any]:
    title = "Outlets per thread"
    vis_state = {
        "title": title,
        "type": "table",
        "params": {"perPage": 20},
        "aggs": [
            {"id": "1", "enabled": True, "type": "count", "schema": "metric", "params": {}},
            {
                "id": "2",
                "enabled": True,
                "type": "terms",
                "schema": "bucket",
                "params": {"field": "threads", "size": 20, "order": "desc", "orderBy": "1"},
            },
            {
                "id": "3",
                "enabled": True,
                "type": "terms",
                "schema": "bucket",
                "params": {"field": "outlet", "size": 20, "order": "desc", "orderBy": "1"},
            },
        ],
    }
    return visualization("newswatch-outlets-per-thread", title, vis_state)


def visualization(object_id: str, title: str, vis_state: dict[str, Any]) -> dict[str, Any]:
    attributes = {
        "title": title,
        "description": "",
        "version": 1,
        "uiStateJSON": "{}",
        "visState": json.dumps(vis_state, separators=(",", ":")),
        "kibanaSavedObjectMeta": search_source(),
    }
    return saved_object("visualization", object_id, attributes, data_view_ref())


def dashboard(panels: list[dict[str, Any]]) -> dict[str, Any]:
    layout = []
    for n in range(len(panels)):
        wide = n < 2
        layout.append(
            {
                "version": "8.0.0",
                "type": "visualization",
                "gridData": {"x": 0, "y": n * 15, "w": 48 if wide else 24, "h": 15, "i": str(n)},
                "panelIndex": str(n),
                "embeddableConfig": {},
                "panelRefName": f"panel_{n}",
            }
        )
    attributes = {
        "title": "newswatch coverage",
        "description": "Coverage of the story per thread and per outlet over time.",
        "panelsJSON": json.dumps(layout, separators=(",", ":")),
        "optionsJSON": json.dumps({"useMargins": True, "hidePanelTitles": False}),
        "timeRestore": True,
        "timeFrom": "now-30d",
        "timeTo": "now",
        "kibanaSavedObjectMeta": {
            "searchSourceJSON": json.dumps(
                {"query": {"query": "", "language": "kuery"}, "filter": []}
            )
        },
    }
    refs = [
        {"id": panel["id"], "name": f"panel_{n}", "type": "visualization"}
        for n, panel in enumerate(panels)
    ]
    return saved_object("dashboard", DASHBOARD, attributes, refs)


def thread_search(thread: dict[str, Any]) -> dict[str, Any]:
    attributes = {
        "title": f"Thread: {thread['label']}",
        "description": f"Articles tagged with the {thread['name']} thread, newest first.",
        "columns": ["title", "outlet", "relation"],
        "sort": [["published_at", "desc"]],
        "kibanaSavedObjectMeta": search_source(f'threads:"{thread["name"]}"'),
    }
    return saved_object("search", f"newswatch-thread-{thread['name']}", attributes, data_view_ref())


def saved_objects() -> list[dict[str, Any]]:
    threads = json.loads(THREADS.read_text(encoding="utf-8"))["threads"]
    panels = [
        over_time("newswatch-coverage-per-thread", "Coverage per thread", "threads", len(threads)),
        over_time("newswatch-coverage-per-outlet", "Coverage per outlet", "outlet", 20),
        outlets_per_thread(),
    ]
    return [data_view(), *panels, dashboard(panels), *(thread_search(t) for t in threads)]


def ndjson(objects: list[dict[str, Any]]) -> str:
    summary = {
        "excludedObjects": [],
        "excludedObjectsCount": 0,
        "exportedCount": len(objects),
        "missingRefCount": 0,
        "missingReferences": [],
    }
    lines = [json.dumps(o, sort_keys=True, separators=(",", ":")) for o in [*objects, summary]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    OUTPUT.write_text(ndjson(saved_objects()), encoding="utf-8")
    print(f"wrote {OUTPUT}")
