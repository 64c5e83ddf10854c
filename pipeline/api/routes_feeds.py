"""Each alert rule's Atom feed, rendered by the alerts' own Atom channel."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from pipeline.alerts.notifiers.atom import render_rule_feed
from pipeline.api.access import require_key
from pipeline.api.context import Context, DbSession

ATOM = "application/atom+xml; charset=utf-8"

router = APIRouter(dependencies=[Depends(require_key)], tags=["alerts"])


@router.get(
    "/alerts/{rule}.atom",
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": {}}}, 404: {"description": "No rule"}},
)
def alert_feed(rule: str, request: Request, context: Context, session: DbSession) -> Response:
    """A rule's latest alerts as an Atom feed, one entry per story (see the alert rules)."""
    found = context.rules().rule(rule)
    if found is None:
        raise HTTPException(404, f"no alert rule named {rule!r}")
    return Response(render_rule_feed(session, found, self_url=str(request.url)), media_type=ATOM)
