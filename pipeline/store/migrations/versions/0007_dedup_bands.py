"""dedup_bands: LSH band keys in the store, backfilled from the stored signatures

A classify run used to load every stored MinHash signature into an in-memory LSH
(seconds and hundreds of MB per 100,000 articles). The band keys now live in
``dedup_bands`` behind an index on ``(band, key)``, so a lookup is one indexed query.
The backfill streams the stored signatures in chunks of ``CHUNK`` (keyset pagination on
``fingerprints.seq``), so its memory does not grow with the store. It uses the default
band layout (``dedup.lsh_threshold`` and the signature's own length); a store run with
another ``lsh_threshold`` is covered in docs/dedup.md.

Revision ID: 0007_dedup_bands
Revises: 0006_article_perspective
"""

from collections.abc import Sequence

import numpy as np
import sqlalchemy as sa
from alembic import op

import pipeline.store.models
from pipeline.classify.dedup import band_keys, band_layout
from pipeline.config import DedupSettings

revision: str = "0007_dedup_bands"
down_revision: str | None = "0006_article_perspective"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 5000

_fingerprints = sa.table(
    "fingerprints",
    sa.column("seq", sa.Integer),
    sa.column("article_id", sa.String),
    sa.column("signature", sa.LargeBinary),
)
_articles = sa.table(
    "articles",
    sa.column("id", sa.String),
    sa.column("published_at", pipeline.store.models.UTCDateTime(timezone=True)),
    sa.column("discovered_at", pipeline.store.models.UTCDateTime(timezone=True)),
)
_bands = sa.table(
    "dedup_bands",
    sa.column("article_id", sa.String),
    sa.column("band", sa.SmallInteger),
    sa.column("key", sa.BigInteger),
    sa.column("seen_at", pipeline.store.models.UTCDateTime(timezone=True)),
)


def upgrade() -> None:
    op.create_table(
        "dedup_bands",
        sa.Column("article_id", sa.String(length=32), nullable=False),
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("seen_at", pipeline.store.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("article_id", "band"),
    )
    _backfill(op.get_bind())
    # Built after the backfill: one sort instead of a b-tree insert per row.
    op.create_index("ix_dedup_bands_band_key", "dedup_bands", ["band", "key"])


def _backfill(conn: sa.Connection) -> None:
    threshold = DedupSettings().lsh_threshold
    seen_at = sa.func.coalesce(_articles.c.published_at, _articles.c.discovered_at)
    last = -1
    while True:
        rows = conn.execute(
            sa.select(_fingerprints.c.seq, _fingerprints.c.article_id, _fingerprints.c.signature)
            .add_columns(seen_at.label("seen_at"))
            .join(_articles, _articles.c.id == _fingerprints.c.article_id)
            .where(_fingerprints.c.seq > last)
            .order_by(_fingerprints.c.seq)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        last = rows[-1].seq
        # Signatures of one length share a layout (num_perm is their length / 4).
        by_length: dict[int, list[sa.Row[tuple[int, str, bytes, object]]]] = {}
        for row in rows:
            by_length.setdefault(len(row.signature), []).append(row)
        values = []
        for length, group in by_length.items():
            bands, per_band = band_layout(threshold, length // 4)
            matrix = np.frombuffer(b"".join(r.signature for r in group), dtype="<u4")
            keys = band_keys(matrix.reshape(len(group), -1), bands, per_band).tolist()
            values += [
                {"article_id": r.article_id, "band": band, "key": key, "seen_at": r.seen_at}
                for r, row_keys in zip(group, keys, strict=True)
                for band, key in enumerate(row_keys)
            ]
        conn.execute(sa.insert(_bands), values)


def downgrade() -> None:
    op.drop_index("ix_dedup_bands_band_key", table_name="dedup_bands")
    op.drop_table("dedup_bands")
