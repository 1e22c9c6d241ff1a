"""Claiming due deadlines for the sweeper (scheduling and cancelling them is part of a case
move: :mod:`aftersales.store.repo`).

A claim locks up to ``limit`` due ``pending`` rows and flips them to ``fired`` (a
compare-and-set on the status), two statements for the whole batch. PostgreSQL picks the
rows with ``FOR UPDATE SKIP LOCKED``, so several workers split the due rows without waiting
on each other; SQLite's ``BEGIN IMMEDIATE`` lock already makes the worker the only writer.
The flip is part of the worker's transaction: until it commits nobody else sees the rows as
fired, and if the worker dies they are ``pending`` and due again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, select, update

from aftersales.store.schema import cases, deadlines

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


def case_shops(conn: Connection, case_ids: Iterable[int]) -> dict[int, tuple[int, str, str]]:
    """``case id -> (shop id, state, type)`` for ordering a claimed batch."""
    ids = sorted(set(case_ids))
    if not ids:
        return {}
    q = select(cases.c.id, cases.c.shop_id, cases.c.state, cases.c.type).where(cases.c.id.in_(ids))
    return {int(r.id): (int(r.shop_id), r.state, r.type) for r in conn.execute(q)}


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
