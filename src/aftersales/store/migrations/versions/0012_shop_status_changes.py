"""shop status changes

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 19:10:00.000000

Written by hand (R11.2): a shop's standing as dated, append-only changes. A deposit below
the profile's required level freezes the shop's withdrawals until it is topped up.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aftersales.store.schema
from aftersales.store.triggers import create_append_only, drop_append_only

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shop_status_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("cause", sa.String(length=40), nullable=False),
        sa.Column("rule", sa.String(length=16), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", aftersales.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_shop_status_changes_entry_id_ledger_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_shop_status_changes_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_status_changes")),
    )
    with op.batch_alter_table("shop_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_shop_status_changes_shop", ["shop_id", "status", "cause", "id"], unique=False
        )
    create_append_only(op, "shop_status_changes")


def downgrade() -> None:
    drop_append_only(op, "shop_status_changes")
    with op.batch_alter_table("shop_status_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_shop_status_changes_shop")
    op.drop_table("shop_status_changes")
