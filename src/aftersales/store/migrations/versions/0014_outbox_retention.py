"""outbox retention: a finished delivery's attempt log may be pruned

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 15:40:00.000000

Written by hand: ``webhook_attempts`` stays append-only (no UPDATE, and no DELETE while its
delivery may still be sent), but the attempts of a delivery that is finished (delivered, or
failed after its last attempt) may be deleted with it, when the outbox retention prunes the
event. The case timeline and the money tables stay append-only without exception.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FINISHED = "('delivered', 'failed')"


def _sqlite_no_delete(when: str) -> None:
    op.execute("DROP TRIGGER IF EXISTS webhook_attempts_no_delete")
    op.execute(
        f"CREATE TRIGGER webhook_attempts_no_delete BEFORE DELETE ON webhook_attempts {when}"
        "BEGIN SELECT RAISE(ABORT, 'webhook_attempts is append-only'); END"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_no_delete(
            "WHEN coalesce((SELECT status FROM webhook_deliveries "
            f"WHERE id = OLD.delivery_id), '') NOT IN {_FINISHED} "
        )
        return
    op.execute(
        f"""CREATE OR REPLACE FUNCTION webhook_attempts_append_only() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'DELETE' AND EXISTS (
                SELECT 1 FROM webhook_deliveries d
                WHERE d.id = OLD.delivery_id AND d.status IN {_FINISHED}
            ) THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION 'webhook_attempts is append-only';
        END; $$ LANGUAGE plpgsql"""
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_no_delete("")
        return
    op.execute(
        """CREATE OR REPLACE FUNCTION webhook_attempts_append_only() RETURNS trigger AS $$
        BEGIN RAISE EXCEPTION 'webhook_attempts is append-only'; END; $$ LANGUAGE plpgsql"""
    )
