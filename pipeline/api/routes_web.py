"""The journalists' web pages: server-rendered HTML over the same search and report calls
as the JSON API. Every page's state is in its URL, so any view can be shared as a link."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from pipeline.api.access import require_key
from pipeline.api.charts import Mark, Series, coverage_svg
from pipeline.api.context import AppContext, Context, DbSession
from pipeline.api.params import FollowupParams, Interval, SearchParams, TimelineParams
from pipeline.api.templating import render
from pipeline.index.base import SearchError, SearchQuery
from pipeline.search import reports
from pipeline.search.perspectives import narrow_followups
from pipeline.search.similar import more_like_this

SIMILAR_ON_PAGE = 5

router = APIRouter(
    include_in_schema=False,
    dependencies=[Depends(require_key)],
    default_response_class=HTMLResponse,
)


@router.get("/")
def home(request: Request, context: Context, session: DbSession) -> Response:
    """Start here: the seed, the way to its follow-ups, the threads and the coverage chart."""
    seed = context.default_seed()
    return render(
        request,
        "home.html",
        {
            **_page(context),
            "choices": reports.filter_choices(session),
            "params": SearchParams(),
            "followups": reports.seed_followups(session, seed, context.book),
            "threads": context.thread_summaries(session),
            "chart": coverage_chart(context, SearchQuery(), "week"),
        },
    )


@router.get("/search")
def search(
    request: Request,
    params: Annotated[SearchParams, Query()],
    context: Context,
    session: DbSession,
) -> Response:
    page, error = None, None
    try:
        page = context.search(params.to_query(context.settings.api.max_page_size))
    except SearchError as exc:  # shown above the form, which keeps what was typed
        error = str(exc)
    return render(
        request,
        "search.html",
        {
            **_page(context),
            "choices": reports.filter_choices(session),
            "params": params,
            "page": page,
            "error": error,
        },
        status_code=400 if error else 200,
    )


@router.get("/articles/{article_id}")
def article(request: Request, article_id: str, context: Context, session: DbSession) -> Response:
    detail = reports.article_detail(session, article_id)
    if detail is None:
        raise HTTPException(404, f"no article with id {article_id!r}")
    similar = more_like_this(session, context.backend, article_id, SIMILAR_ON_PAGE)
    sides = context.other_sides(session, article_id)
    return render(
        request,
        "article.html",
        {**_page(context), "article": detail, "similar": similar, "other_sides": sides},
    )


@router.get("/followups")
def followups(
    request: Request,
    params: Annotated[FollowupParams, Query()],
    context: Context,
    session: DbSession,
) -> Response:
    wanted = params.report_filter()
    found = context.seed(params.seed)
    if found is None:
        raise HTTPException(404, f"no seed with id {params.seed!r}")
    report = reports.seed_followups(session, found, context.book)
    return render(
        request,
        "followups.html",
        {
            **_page(context),
            "params": params,
            "choices": reports.filter_choices(session),
            "followups": narrow_followups(session, report, wanted),
        },
    )


@router.get("/timeline")
def timeline(
    request: Request, params: Annotated[TimelineParams, Query()], context: Context
) -> Response:
    chart, error = None, None
    try:
        query = params.to_query(context.settings.api.max_page_size)
        chart = coverage_chart(context, query, params.interval)
    except SearchError as exc:
        error = str(exc)
    return render(
        request,
        "timeline.html",
        {**_page(context), "params": params, "chart": chart, "error": error},
        status_code=400 if error else 200,
    )


def coverage_chart(context: AppContext, query: SearchQuery, interval: Interval) -> str:
    """The query's coverage over time: one row for all of it, then one row per thread;
    the default seed's date and the first report of each of its developments marked."""
    rows = [Series("All coverage", context.timeline(query, interval))]
    for thread in context.book.threads:
        buckets = context.timeline(replace(query, threads=(thread.name,)), interval)
        rows.append(Series(thread.label, buckets, href=f"/search?thread={thread.name}&sort=date"))
    seed = context.default_seed()
    with context.store.sessions() as session:
        developments = reports.seed_followups(session, seed, context.book).developments
    marks = [
        Mark(d.first_seen_at.date(), d.name, href=f"/articles/{d.first.article_id}")
        for d in developments
        if d.first_seen_at is not None
    ]
    return coverage_svg(rows, interval, seed.published, "seed published", marks)


def _page(context: AppContext) -> dict[str, object]:
    """What every page's template needs: the threads and their labels."""
    return {
        "labels": {t.name: t.label for t in context.book.threads},
        "thread_defs": context.book.threads,
    }
