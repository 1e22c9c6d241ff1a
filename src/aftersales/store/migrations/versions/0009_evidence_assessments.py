"""evidence assessments

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 09:00:00.000000

Written by hand (R9.3): a platform agent's assessment of an evidence item (relevant,
true, whom it supports, the claim it speaks to). The newest row for an item supersedes
the older ones; nothing is updated or deleted.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import aftersales.store.schema
from aftersales.store.triggers import create_append_only, drop_append_only

APPEND_ONLY = ("evidence_assessments",)

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence_assessments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("evidence_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("relevant", sa.Boolean(), nullable=False),
        sa.Column("credible", sa.Boolean(), nullable=False),
        sa.Column("supports", sa.String(length=16), nullable=False),
        sa.Column("claim", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("assessed_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", aftersales.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_evidence_assessments_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["evidence_items.id"],
            name=op.f("fk_evidence_assessments_evidence_id_evidence_items"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_assessments")),
    )
    with op.batch_alter_table("evidence_assessments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evidence_assessments_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_evidence_assessments_evidence_id"), ["evidence_id"], unique=False
        )

    for table in APPEND_ONLY:
        create_append_only(op, table)


def downgrade() -> None:
    for table in APPEND_ONLY:
        drop_append_only(op, table)
    with op.batch_alter_table("evidence_assessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_assessments_evidence_id"))
        batch_op.drop_index(batch_op.f("ix_evidence_assessments_case_id"))

    op.drop_table("evidence_assessments")
