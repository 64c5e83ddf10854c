"""ix_articles_indexed_at: the search service reads max(indexed_at) on every cached request

The latest index write is the search service's cache generation (see
``pipeline.index.stage.index_generation``); the index makes reading it one index probe
instead of a scan of every article.

Revision ID: 0008_indexed_at_index
Revises: 0007_dedup_bands
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_indexed_at_index"
down_revision: str | None = "0007_dedup_bands"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_articles_indexed_at", "articles", ["indexed_at"])


def downgrade() -> None:
    op.drop_index("ix_articles_indexed_at", table_name="articles")
