"""The store: SQLAlchemy models, migrations and the repository functions over them."""

from pipeline.store.db import make_engine, make_session_factory, transaction
from pipeline.store.models import Article, Base, Feed, FeedEntryRow, Page, Run

__all__ = [
    "Article",
    "Base",
    "Feed",
    "FeedEntryRow",
    "Page",
    "Run",
    "make_engine",
    "make_session_factory",
    "transaction",
]
