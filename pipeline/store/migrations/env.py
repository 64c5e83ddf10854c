"""Alembic environment: runs against the engine handed over by pipeline.store.migrate."""

from alembic import context

import pipeline.store.schema  # noqa: F401  (registers every table on Base.metadata)
from pipeline.store.models import Base

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
