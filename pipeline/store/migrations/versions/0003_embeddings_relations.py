"""article embeddings; time-aware seed relations

Adds ``article_embeddings`` (one sentence-embedding vector per article: a BLOB on
SQLite, ``bytea`` on PostgreSQL) and migrates the stored relations: relations were
computed without publication dates or embeddings, so every classified article goes back
to 'extracted'. The next classify run keeps each article's story cluster (a classified
article is re-related, not re-clustered), recomputes its relation to every seed
(``background`` for related coverage published before a seed) and sends it to the index
again. Downgrade turns ``background`` back into ``follow_up``, the nearest old value.

Revision ID: 0003_embeddings_relations
Revises: 0002_date_note
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pipeline.store.models

revision: str = "0003_embeddings_relations"
down_revision: str | None = "0002_date_note"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "article_embeddings",
        sa.Column("article_id", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("source_hash", sa.String(length=64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", pipeline.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("article_id"),
    )
    op.execute("UPDATE articles SET status = 'extracted' WHERE status IN ('classified', 'indexed')")


def downgrade() -> None:
    op.execute("UPDATE seed_relations SET relation = 'follow_up' WHERE relation = 'background'")
    op.execute("UPDATE articles SET relation = 'follow_up' WHERE relation = 'background'")
    op.drop_table("article_embeddings")
