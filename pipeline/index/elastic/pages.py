"""Pages of hits with stable cursors, collapsed to one hit per story or not.

Elasticsearch refuses ``collapse`` with ``search_after`` unless the sort is the collapse
field, so pages are cut over the uncollapsed hits (sort values + article-id tie-break)
and each story is shown where its best-ranked member is. A second, collapsed query over
the stories in a batch finds those best members, with their highlights and the other
outlets of the story ("also published by").
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import islice
from typing import Any

from elasticsearch import Elasticsearch

from pipeline.index.base import SearchError, SearchHit
from pipeline.index.elastic.render import CJK_SUBFIELD, HIT_FIELDS, collapse, highlight
from pipeline.index.paging import MAX_LIMIT, also_published_by, search_hit
from pipeline.index.query import Node
from pipeline.records import as_utc

MAX_WINDOW = 10_000  # Elasticsearch's default index.max_result_window: the largest size

Shown = list[tuple[dict[str, Any], list[str]]]  # raw hits with their other outlets


class Scan:
    """The matching hits in sort order, strictly after a cursor, fetched batch by batch.

    Lucene scores are float32 and travel in JSON rounded to that precision; a server that
    keeps them wider (osmem does) would repeat or skip tied hits at a page boundary when
    given the rounded score back. So each request starts just above the boundary's float32
    score and the hits up to the boundary are dropped here; exact on Elasticsearch too.
    """

    def __init__(
        self,
        client: Elasticsearch,
        index: str,
        query: dict[str, Any],
        sort: list[dict[str, Any]],
        after: list[Any] | None,
        *,
        batch: int,
    ) -> None:
        self.client, self.index, self.query, self.sort = client, index, query, sort
        self.after, self.batch = after, batch
        self.total = 0

    def batches(self, **fields: Any) -> Iterator[list[dict[str, Any]]]:
        after, size, first = self.after, self.batch, True
        request = _widened(after)
        while True:
            response = self.client.search(
                index=self.index,
                query=self.query,
                sort=self.sort,
                search_after=request,
                size=size,
                track_total_hits=first,
                **fields,
            )
            if first:
                self.total, first = int(response["hits"]["total"]["value"]), False
            raw = response["hits"]["hits"]
            yield [h for h in raw if after is None or _sorts_after(h["sort"], after)]
            if len(raw) < size:
                return
            after = raw[-1]["sort"]
            if _widened(after) == request:  # a run of ties longer than the batch: take more
                if size >= MAX_WINDOW:
                    raise SearchError("too many equally ranked hits to page through; sort by date")
                size = min(2 * size, MAX_WINDOW)
            request = _widened(after)

    def hits(self, **fields: Any) -> Iterator[dict[str, Any]]:
        for batch in self.batches(**fields):
            yield from batch


@dataclass(frozen=True)
class PageRequest:
    """One page to fetch: the query (its parse tree and DSL), sort, cursor and size."""

    client: Elasticsearch
    index: str
    node: Node | None
    query: dict[str, Any]
    sort: list[dict[str, Any]]
    after: list[Any] | None
    limit: int

    def scan(self, batch: int) -> Scan:
        return Scan(self.client, self.index, self.query, self.sort, self.after, batch=batch)


def uncollapsed(page: PageRequest) -> tuple[Shown, int, bool]:
    """One page of every matching copy; the hits, the total, and whether more follow."""
    scan, limit = page.scan(page.limit + 1), page.limit
    fields = {"source_includes": HIT_FIELDS, "highlight": highlight(page.node)}
    hits = list(islice(scan.hits(track_scores=page.node is not None, **fields), limit + 1))
    return [(h, []) for h in hits[:limit]], scan.total, len(hits) > limit


def collapsed(page: PageRequest) -> tuple[Shown, int, bool]:
    """One hit per story, at the rank of the story's best member (see module docstring)."""
    scan, limit = page.scan(min(max(4 * (page.limit + 1), 100), MAX_LIMIT)), page.limit
    shown: Shown = []
    placed: set[str] = set()  # stories already decided on, in this page
    for raw in scan.batches(source_includes=["story_id"]):
        stories = [s for s in dict.fromkeys(story(h) for h in raw) if s not in placed]
        leaders = _leaders(page, stories) if stories else {}
        for h in raw:
            if story(h) in placed:
                continue  # a lower-ranked copy of a story already placed
            placed.add(story(h))
            leader = leaders.get(story(h))
            # if the best member ranks before the cursor, the story was on an earlier page
            if leader is not None and leader["_id"] == h["_id"]:
                leader["sort"] = h["sort"]
                shown.append((leader, other_outlets(leader)))
                if len(shown) > limit:
                    return shown[:limit], scan.total, True
    return shown, scan.total, False


def _leaders(page: PageRequest, stories: list[str]) -> dict[str, dict[str, Any]]:
    """The best-ranked matching member of each story, with highlight and other outlets."""
    clauses = dict(page.query["bool"])
    clauses["filter"] = [*clauses["filter"], {"terms": {"story_id": stories}}]
    response = page.client.search(
        index=page.index,
        query={"bool": clauses},
        sort=page.sort,
        size=len(stories),
        track_scores=page.node is not None,  # without words every score is 0.0, as in FTS5
        source_includes=HIT_FIELDS,
        collapse=collapse(page.sort),
        highlight=highlight(page.node),
    )
    return {story(h): h for h in response["hits"]["hits"]}


def _f32(value: float) -> float:
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def _widened(after: list[Any] | None) -> list[Any] | None:
    """A search_after just before every hit that ties with `after` at float32 precision."""
    if after is None or not isinstance(after[0], float):
        return after  # dates are exact integers
    bits = struct.unpack("<i", struct.pack("<f", after[0]))[0]
    above = struct.unpack("<f", struct.pack("<i", bits + (1 if after[0] >= 0 else -1)))[0]
    return [above, ""]  # "" sorts before every article id


def _sorts_after(values: list[Any], after: list[Any]) -> bool:
    """Whether a hit's sort values come after the cursor's (descending key, ascending id)."""
    key, cursor_key = values[0], after[0]
    if isinstance(cursor_key, float):
        key, cursor_key = _f32(key), _f32(cursor_key)
    return bool(key < cursor_key or (key == cursor_key and values[1] > after[1]))


# -- results ---------------------------------------------------------------------------


def story(raw: dict[str, Any]) -> str:
    return str(raw["_source"]["story_id"])


def hit(raw: dict[str, Any], also: list[str]) -> SearchHit:
    source = raw["_source"]
    found = raw.get("highlight", {})
    snippets = found.get("text") or found.get(f"text.{CJK_SUBFIELD}", [])
    published = source.get("published_at")
    return search_hit(
        source,
        published_at=as_utc(datetime.fromisoformat(published)) if published else None,
        snippet=snippets[0] if snippets else "",
        score=float(raw.get("_score") or 0.0),
        threads=list(source.get("threads") or []),
        also=also,
    )


def other_outlets(raw: dict[str, Any]) -> list[str]:
    """Outlets of the story's other matching members, sorted case-insensitively."""
    copies = raw.get("inner_hits", {}).get("copies", {}).get("hits", {}).get("hits", [])
    return also_published_by(raw["_source"]["outlet"], (c["_source"]["outlet"] for c in copies))


def day(epoch_ms: int) -> date:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).date()
