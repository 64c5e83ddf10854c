"""The JSON API under /api: thin calls into the search backend and pipeline.search.reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from pipeline.api.access import require_key
from pipeline.api.context import Context, DbSession
from pipeline.api.params import FollowupParams, Interval, SearchParams, TimelineParams
from pipeline.index.base import SearchPage, TimelineBucket
from pipeline.search import reports
from pipeline.search.perspectives import OtherSides, narrow_followups
from pipeline.search.similar import MoreLikeThis, more_like_this
from pipeline.store.models import Article

router = APIRouter(prefix="/api", dependencies=[Depends(require_key)])

_400: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad query or parameter; `detail` says what to fix"}
}
_404: dict[int | str, dict[str, Any]] = {404: {"description": "No such record"}}


@dataclass
class Timeline:
    interval: Interval
    buckets: list[TimelineBucket]


@router.get("/search", tags=["search"], responses=_400)
def search(params: Annotated[SearchParams, Query()], context: Context) -> SearchPage:
    """Search articles: one hit per story cluster (unless collapse=false), with highlighted
    snippets and the other outlets of the story in `also_published_by`. Pass `next_cursor`
    back as `cursor` for the next page."""
    return context.search(params.to_query(context.settings.api.max_page_size))


@router.get("/timeline", tags=["search"], responses=_400)
def timeline(params: Annotated[TimelineParams, Query()], context: Context) -> Timeline:
    """Articles and distinct stories per day or week for a query and filters (e.g. a thread).
    Gaps between the first and last bucket are included as zeros."""
    query = params.to_query(context.settings.api.max_page_size)
    return Timeline(params.interval, context.timeline(query, params.interval))


@router.get("/articles/{article_id}", tags=["records"], responses=_404)
def article(article_id: str, session: DbSession) -> reports.ArticleDetail:
    """The full record: text and metadata, its story cluster, its relation to each seed with
    the evidence, and its revisions."""
    detail = reports.article_detail(session, article_id)
    if detail is None:
        raise HTTPException(404, f"no article with id {article_id!r}")
    return detail


@router.get("/articles/{article_id}/similar", tags=["records"], responses=_404)
def similar(
    article_id: str,
    context: Context,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=50, description="How many stories.")] = 10,
) -> MoreLikeThis:
    """More like this: the nearest other stories by meaning (cosine over the stored
    embeddings, within two years of the article, its own story cluster left out);
    `method` is `lexical` when the article has no embedding and the search index's
    more-like-this answered instead."""
    if session.get(Article, article_id) is None:
        raise HTTPException(404, f"no article with id {article_id!r}")
    return more_like_this(session, context.backend, article_id, limit)


@router.get("/articles/{article_id}/other-sides", tags=["records"], responses=_404)
def article_other_sides(article_id: str, context: Context, session: DbSession) -> OtherSides:
    """Both sides of the article's story: the reports of its story cluster, and of the
    development it belongs to among a seed's follow-ups, that are in another language or
    from another perspective (uk, china, international), each with its language,
    perspective, outlet and date."""
    found = context.other_sides(session, article_id)
    if found is None:
        raise HTTPException(404, f"no article with id {article_id!r}")
    return found


@router.get("/clusters/{cluster_id}", tags=["records"], responses=_404)
def cluster(cluster_id: str, session: DbSession) -> reports.ClusterDetail:
    """A story cluster: its outlets and its members, earliest first."""
    detail = reports.cluster_detail(session, cluster_id)
    if detail is None:
        raise HTTPException(404, f"no story cluster with id {cluster_id!r}")
    return detail


@router.get("/threads", tags=["records"])
def threads(context: Context, session: DbSession) -> list[reports.ThreadSummary]:
    """Every storyline with its article and story counts and its latest story."""
    return context.thread_summaries(session)


@router.get("/followups", tags=["records"], responses=_404)
def followups(
    params: Annotated[FollowupParams, Query()], context: Context, session: DbSession
) -> reports.SeedFollowups:
    """A seed's copies (clusters and outlets), its follow-up stories by thread and grouped
    into developments (each with its reports side by side by perspective: UK outlets,
    Chinese official media, others), and its background. `lang` and `perspective` keep
    only the stories with a report in that language or from that perspective."""
    wanted = params.report_filter()
    found = context.seed(params.seed)
    if found is None:
        raise HTTPException(404, f"no seed with id {params.seed!r}")
    return narrow_followups(session, reports.seed_followups(session, found, context.book), wanted)
