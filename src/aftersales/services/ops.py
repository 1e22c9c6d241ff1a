"""Operating the deployment: the health check and the database schema (``aftersales db``)."""

from __future__ import annotations

from dataclasses import dataclass

from aftersales.services.context import Context
from aftersales.store import deadlines as deadline_store
from aftersales.store import migrate


@dataclass(frozen=True, slots=True)
class Health:
    dialect: str  # "sqlite" or "postgresql"
    deadlines_due: int  # pending deadlines whose time has come


def health(ctx: Context) -> Health:
    """The database answers (one read of the deadline queue) and how many deadlines are due."""
    with ctx.db.read() as conn:
        due = deadline_store.pending_count(conn, ctx.now())
    return Health(ctx.db.dialect, due)


def schema_revision(ctx: Context) -> str | None:
    """The applied migration revision, or None for an empty database."""
    return migrate.current(ctx.db)


def upgrade_schema(ctx: Context) -> str | None:
    """Apply every migration (SQLite or PostgreSQL); returns the revision reached."""
    migrate.upgrade(ctx.db)
    return migrate.current(ctx.db)
