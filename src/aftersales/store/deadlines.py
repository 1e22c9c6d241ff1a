"""A case's deadlines: scheduled and cancelled by its moves, claimed by the sweeper.

A claim locks up to ``limit`` due ``pending`` rows and flips them to ``fired`` (a
compare-and-set on the status), two statements for the whole batch. PostgreSQL picks the
rows with ``FOR UPDATE SKIP LOCKED``, so several workers split the due rows without waiting
on each other; SQLite's ``BEGIN IMMEDIATE`` lock already makes the worker the only writer.
The flip is part of the worker's transaction: until it commits nobody else sees the rows as
fired, and if the worker dies they are ``pending`` and due again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, select, update

from aftersales.domain.case_types import DeadlineKind
from aftersales.store.prebuilt import bound
from aftersales.store.schema import (
    deadlines,
)

PENDING = "pending"
FIRED = "fired"
STALE = "stale"


def claim_due(conn: Connection, now: datetime, limit: int, *, worker: str) -> list[Any]:
    """Flip up to ``limit`` due pending deadlines to ``fired`` by ``worker`` and return
    them, oldest ``run_at`` first."""
    due = (
        select(deadlines.c.id)
        .where(and_(deadlines.c.status == PENDING, deadlines.c.run_at <= now))
        .order_by(deadlines.c.run_at, deadlines.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    # Two statements, not UPDATE ... WHERE id IN (SELECT ... LIMIT ... SKIP LOCKED): the
    # planner may run such a subquery more than once, and the LIMIT would not hold.
    ids = list(conn.execute(due).scalars())
    if not ids:
        return []
    rows = conn.execute(
        update(deadlines)
        .where(and_(deadlines.c.id.in_(ids), deadlines.c.status == PENDING))
        .values(status=FIRED, fired_at=now, fired_by=worker, last_error=None)
        .returning(*deadlines.c)
    ).all()
    return sorted(rows, key=lambda r: (r.run_at, r.id))


def set_status(conn: Connection, deadline_id: int, status: str) -> None:
    conn.execute(update(deadlines).where(deadlines.c.id == deadline_id).values(status=status))


def postpone(conn: Connection, deadline_id: int, *, run_at: datetime, error: str) -> None:
    """A claimed deadline whose action failed: pending again, due at ``run_at``, the attempt
    and its error recorded."""
    conn.execute(
        update(deadlines)
        .where(deadlines.c.id == deadline_id)
        .values(
            status=PENDING,
            run_at=run_at,
            attempts=deadlines.c.attempts + 1,
            fired_at=None,
            fired_by=None,
            last_error=error[:2000],
        )
    )


# --------------------------------------------------------------------------- scheduling
_SCHEDULE_DEADLINE = insert(deadlines).values(
    status="pending",
    attempts=0,
    **bound(deadlines, "case_id", "kind", "due_at", "run_at", "created_at"),
)


def schedule_deadline(
    conn: Connection, case_id: int, kind: DeadlineKind, due_at: datetime, now: datetime
) -> None:
    conn.execute(
        _SCHEDULE_DEADLINE,
        {
            "case_id": case_id,
            "kind": kind.value,
            "due_at": due_at,
            "run_at": due_at,
            "created_at": now,
        },
    )


def _cancel_deadlines(keep: bool, skip_locked: bool) -> Any:
    cond = and_(
        deadlines.c.case_id == bindparam("w_case_id", type_=deadlines.c.case_id.type),
        deadlines.c.status == "pending",
    )
    if keep:
        cond = and_(cond, deadlines.c.kind != bindparam("w_keep_kind", type_=deadlines.c.kind.type))
    if skip_locked:
        ids = select(deadlines.c.id).where(cond).with_for_update(skip_locked=True)
        cond = deadlines.c.id.in_(ids.scalar_subquery())
    return update(deadlines).where(cond).values(status="cancelled")


_CANCEL_DEADLINES = {
    (keep, pg): _cancel_deadlines(keep, pg) for keep in (False, True) for pg in (False, True)
}


def cancel_deadlines(
    conn: Connection, case_id: int, *, keep_kind: DeadlineKind | None = None
) -> None:
    """Cancel the case's pending deadlines. On PostgreSQL rows a worker holds right now are
    skipped (never waited for, so a person and a worker cannot deadlock): that worker's case
    write then conflicts, and the row is found stale on its next attempt."""
    stmt = _CANCEL_DEADLINES[keep_kind is not None, conn.dialect.name == "postgresql"]
    params: dict[str, Any] = {"w_case_id": case_id}
    if keep_kind is not None:
        params["w_keep_kind"] = keep_kind.value
    conn.execute(stmt, params)


def deadline_rows(conn: Connection, case_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(deadlines).where(deadlines.c.case_id == case_id).order_by(deadlines.c.id)
        )
    )


def pending_count(conn: Connection, now: datetime | None = None) -> int:
    cond = deadlines.c.status == "pending"
    if now is not None:
        cond = and_(cond, deadlines.c.run_at <= now)
    return int(conn.execute(select(func.count()).select_from(deadlines).where(cond)).scalar_one())
