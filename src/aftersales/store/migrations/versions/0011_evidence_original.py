"""evidence original

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 17:00:00.000000

Written by hand: an image is now served re-encoded without its metadata, so
an evidence item records the uploaded file's SHA-256 and size beside the served file's.
Older rows keep NULL: they were served as uploaded (their `content_hash` is the
original's). `evidence_items` stays append-only; adding nullable columns rewrites no row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aftersales.store.triggers import create_append_only, drop_append_only

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("evidence_items", sa.Column("original_hash", sa.String(length=64)))
    op.add_column("evidence_items", sa.Column("original_size", sa.BigInteger()))


def downgrade() -> None:
    # SQLite drops a column by copying the table, which would lose its triggers.
    drop_append_only(op, "evidence_items")
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.drop_column("original_size")
        batch_op.drop_column("original_hash")
    create_append_only(op, "evidence_items")
