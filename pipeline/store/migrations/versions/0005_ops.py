"""ops: host_slots (per-host politeness across workers) and stage_timings (stage metrics)

Revision ID: 0005_ops
Revises: 0004_backfill
Create Date: 2026-11-30 09:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pipeline.store.models

revision: str = "0005_ops"
down_revision: str | None = "0004_backfill"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "host_slots",
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column(
            "next_allowed_at", pipeline.store.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("host"),
    )
    op.create_table(
        "stage_timings",
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("last_seconds", sa.Float(), nullable=False),
        sa.Column(
            "last_at", pipeline.store.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.PrimaryKeyConstraint("stage"),
    )


def downgrade() -> None:
    op.drop_table("stage_timings")
    op.drop_table("host_slots")
