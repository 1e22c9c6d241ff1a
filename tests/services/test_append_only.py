"""The timeline and the refund decisions are append-only: the database itself refuses an
UPDATE or DELETE, whoever issues it."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from aftersales.domain.case_types import CaseType
from aftersales.services import cases as svc
from tests.factories import make_world

STATEMENTS = {
    ("case_events", "update"): "UPDATE case_events SET note = 'tampered', rule = 'R0'",
    ("case_events", "delete"): "DELETE FROM case_events",
    ("refund_decisions", "update"): "UPDATE refund_decisions SET amount = 1",
    ("refund_decisions", "delete"): "DELETE FROM refund_decisions",
}


def _rows(ctx, table: str) -> list[tuple]:
    with ctx.db.read() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))]


@pytest.mark.parametrize(("table", "verb"), sorted(STATEMENTS))
def test_append_only_tables_refuse_update_and_delete(ctx, table, verb):
    w = make_world(ctx)
    number = w.open(type=CaseType.REFUND_ONLY, reason="not_received", signed_ago=None)
    svc.approve_refund(ctx, w.merchant, number)
    before = _rows(ctx, table)
    assert before  # there is something to tamper with

    with pytest.raises(DBAPIError) as exc, ctx.db.write() as conn:
        conn.execute(text(STATEMENTS[(table, verb)]))
    assert "append-only" in str(exc.value)
    assert _rows(ctx, table) == before
