"""The store: SQLAlchemy models, migrations and session handling."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from pipeline.store.db import make_engine, make_session_factory, transaction
from pipeline.store.migrate import current_revision, head_revision, upgrade
from pipeline.store.models import Article, Base, Feed, FeedEntryRow, Page, Run


@dataclass
class Store:
    engine: Engine
    sessions: sessionmaker[Session]

    def dispose(self) -> None:
        self.engine.dispose()


def open_store(database_url: str, *, migrate: bool = True) -> Store:
    """Connect, and bring the schema to the latest migration unless told not to."""
    engine = make_engine(database_url)
    if migrate and current_revision(engine) != head_revision():
        upgrade(engine)
    return Store(engine, make_session_factory(engine))


__all__ = [
    "Article",
    "Base",
    "Feed",
    "FeedEntryRow",
    "Page",
    "Run",
    "Store",
    "make_engine",
    "open_store",
    "transaction",
]
