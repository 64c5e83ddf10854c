"""`newswatch search`: the same parameters, parsed by the same code, as /api/search."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from pipeline.cli.context import load
from pipeline.cli.errors import clean_errors
from pipeline.cli.output import json_default, print_search_page
from pipeline.index.factory import open_index
from pipeline.index.paging import MAX_LIMIT
from pipeline.search.params import search_query


@clean_errors
def search(
    query: Annotated[str, typer.Argument(help='Query: words, "phrases", AND/OR/NOT, prefix*')],
    since: Annotated[
        str | None, typer.Option(help="Published on or after: YYYY-MM-DD or ISO date-time (UTC).")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="Published before this date-time; a plain YYYY-MM-DD includes that day."),
    ] = None,
    source: Annotated[list[str] | None, typer.Option(help="Outlet name or domain.")] = None,
    thread: Annotated[list[str] | None, typer.Option(help="Storyline, e.g. huawei-5g.")] = None,
    relation: Annotated[
        str | None, typer.Option(help="duplicate|follow_up|background|unrelated")
    ] = None,
    language: Annotated[str | None, typer.Option(help="Language code, e.g. en or zh.")] = None,
    perspective: Annotated[
        str | None, typer.Option(help="uk, china or international (from the feed).")
    ] = None,
    sort: Annotated[str, typer.Option(help="relevance or date")] = "relevance",
    limit: Annotated[int, typer.Option(help=f"Hits per page, 1 to {MAX_LIMIT}.")] = 10,
    cursor: Annotated[str | None, typer.Option(help="Next page, from a previous search.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Search the index."""
    request = search_query(
        query,
        since=since,
        until=until,
        sources=source or (),
        threads=thread or (),
        relation=relation,
        language=language,
        perspective=perspective,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )
    page = open_index(load()).search(request)
    if as_json:
        document = json.loads(json.dumps(asdict(page), default=json_default))
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        print_search_page(page, query)
