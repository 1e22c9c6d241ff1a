"""reviews

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 10:00:00.000000

Written by hand (R12.3): product reviews, negative-review appeals and their decisions.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aftersales.store.schema
from aftersales.store.triggers import create_append_only, drop_append_only

# Reviews are never edited or deleted (a removed review stays, marked by its appeal's
# decision); an appeal and its one decision are records of what happened.
APPEND_ONLY = ("product_reviews", "review_appeals", "review_appeal_decisions")

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "product_reviews",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=24), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", aftersales.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "recorded_at", aftersales.store.schema.UTCDateTime(timezone=True), nullable=False
        ),
        sa.CheckConstraint(
            "rating >= 1 AND rating <= 5", name=op.f("ck_product_reviews_rating_range")
        ),
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["buyers.id"], name=op.f("fk_product_reviews_buyer_id_buyers")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_product_reviews_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
            name=op.f("fk_product_reviews_order_line_id_order_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_product_reviews_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_product_reviews_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_reviews")),
        sa.UniqueConstraint("order_line_id", name=op.f("uq_product_reviews_order_line_id")),
    )
    with op.batch_alter_table("product_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_reviews_buyer_id"), ["buyer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_product_reviews_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_product_reviews_product_id"), ["product_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_product_reviews_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "review_appeals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("filed_by", sa.String(length=80), nullable=False),
        sa.Column("filed_at", aftersales.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "expected_from", aftersales.store.schema.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("decide_by", aftersales.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("profile_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["product_reviews.id"],
            name=op.f("fk_review_appeals_review_id_product_reviews"),
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_review_appeals_shop_id_shops")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_appeals")),
        sa.UniqueConstraint(
            "review_id", "attempt", name=op.f("uq_review_appeals_review_id_attempt")
        ),
    )
    with op.batch_alter_table("review_appeals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_appeals_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "review_appeal_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("appeal_id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=80), nullable=False),
        sa.Column("decided_at", aftersales.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["review_appeals.id"],
            name=op.f("fk_review_appeal_decisions_appeal_id_review_appeals"),
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["product_reviews.id"],
            name=op.f("fk_review_appeal_decisions_review_id_product_reviews"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_appeal_decisions")),
        sa.UniqueConstraint("appeal_id", name=op.f("uq_review_appeal_decisions_appeal_id")),
    )
    with op.batch_alter_table("review_appeal_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_appeal_decisions_review_id"), ["review_id"], unique=False
        )

    for table in APPEND_ONLY:
        create_append_only(op, table)


def downgrade() -> None:
    for table in reversed(APPEND_ONLY):
        drop_append_only(op, table)
    with op.batch_alter_table("review_appeal_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_appeal_decisions_review_id"))
    op.drop_table("review_appeal_decisions")

    with op.batch_alter_table("review_appeals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_appeals_shop_id"))
    op.drop_table("review_appeals")

    with op.batch_alter_table("product_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_reviews_shop_id"))
        batch_op.drop_index(batch_op.f("ix_product_reviews_product_id"))
        batch_op.drop_index(batch_op.f("ix_product_reviews_order_id"))
        batch_op.drop_index(batch_op.f("ix_product_reviews_buyer_id"))
    op.drop_table("product_reviews")
