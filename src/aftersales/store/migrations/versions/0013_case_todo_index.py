"""case to-do index

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 19:30:00.000000

Written by hand: the to-do list (a shop's cases in one state, by deadline, keyset pages)
walks an index on (shop_id, state, deadline_at, id) instead of sorting every waiting case.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cases_shop_state_deadline",
            ["shop_id", "state", "deadline_at", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_shop_state_deadline")
