"""Probes: /healthz says the process is up; /readyz checks the store (reachable, and at
the schema this code needs) and the search backend."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Response
from sqlalchemy import select

from pipeline.api.context import AppContext, Context
from pipeline.store.migrate import current_revision, head_revision
from pipeline.store.models import Article

router = APIRouter(tags=["health"])


@dataclass
class Check:
    ok: bool
    detail: str


@dataclass
class Readiness:
    ready: bool
    store: Check
    search: Check


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The store and the search backend answer",
    responses={503: {"model": Readiness, "description": "The store or the backend is down"}},
)
def readyz(context: Context, response: Response) -> Readiness:
    readiness = check_readiness(context)
    if not readiness.ready:
        response.status_code = 503
    return readiness


def check_readiness(context: AppContext) -> Readiness:
    store, search = _check_store(context), _check_search(context)
    return Readiness(store.ok and search.ok, store, search)


def _check_store(context: AppContext) -> Check:
    # The service never migrates (it may hold a read-only role): a store behind this
    # code's schema is not ready, since queries and the cache generation rely on it.
    try:
        with context.store.sessions() as session:
            session.execute(select(Article.id).limit(1))  # also proves the schema is there
        revision, needed = current_revision(context.store.engine), head_revision()
    except Exception as exc:  # any failure means "not ready"; the reason is reported
        return Check(False, _first_line(exc))
    if revision != needed:
        return Check(
            False, f"schema at {revision}, this version needs {needed}: run `newswatch db upgrade`"
        )
    return Check(True, context.store.engine.dialect.name)


def _check_search(context: AppContext) -> Check:
    try:
        health = context.backend.health()
    except Exception as exc:  # any failure means "not ready"; the reason is reported
        return Check(False, _first_line(exc))
    return Check(True, f"{context.backend.name}: {health.get('documents')} documents")


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
