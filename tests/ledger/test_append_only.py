"""The ledger is append-only: the database itself refuses UPDATE and DELETE on entries and
postings (SQLite triggers, PostgreSQL trigger functions); corrections are reversals (R11)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from aftersales.services import money
from tests.factories import make_world
from tests.ledger.helpers import AGENT, raw

STATEMENTS = {
    ("ledger_entries", "update"): "UPDATE ledger_entries SET memo = 'tampered', rule = 'R0'",
    ("ledger_entries", "update_key"): "UPDATE ledger_entries SET idempotency_key = 'x' || id",
    ("ledger_entries", "delete"): "DELETE FROM ledger_entries",
    ("ledger_postings", "update"): "UPDATE ledger_postings SET amount = amount + 1",
    ("ledger_postings", "update_one"): (
        "UPDATE ledger_postings SET balance_after = 0"
        " WHERE id = (SELECT max(id) FROM ledger_postings)"
    ),
    ("ledger_postings", "delete"): "DELETE FROM ledger_postings",
    ("ledger_postings", "delete_one"): (
        "DELETE FROM ledger_postings WHERE id = (SELECT min(id) FROM ledger_postings)"
    ),
}


@pytest.mark.parametrize(("table", "verb"), sorted(STATEMENTS))
def test_R11_ledger_tables_refuse_update_and_delete(ctx, table, verb):
    w = make_world(ctx)
    number = w.order()
    money.refund_order(ctx, AGENT, number, 1_000, key="goodwill-1")
    before = raw(ctx, f"SELECT * FROM {table} ORDER BY id")
    assert len(before) >= 2  # there is something to tamper with

    with pytest.raises(DBAPIError) as exc, ctx.db.write() as conn:
        conn.execute(text(STATEMENTS[(table, verb)]))

    assert "append-only" in str(exc.value)
    assert raw(ctx, f"SELECT * FROM {table} ORDER BY id") == before


@pytest.mark.parametrize(
    "sql", ["UPDATE shop_freezes SET ends_at = starts_at", "DELETE FROM shop_freezes"]
)
def test_R14_1_a_withdrawal_freeze_cannot_be_shortened_or_removed(ctx, sql):
    m = ctx.profiles.current["douyin"].money
    w = make_world(ctx)
    number = w.order()
    money.top_up_deposit(ctx, AGENT, w.shop_id, 10**7, "CNY", "deposit-1")
    money.fine(ctx, AGENT, number, m.fine_multiple_min, "counterfeit", "fine-1")
    before = raw(ctx, "SELECT * FROM shop_freezes ORDER BY id")
    assert len(before) == 1

    with pytest.raises(DBAPIError) as exc, ctx.db.write() as conn:
        conn.execute(text(sql))

    assert "append-only" in str(exc.value)
    assert raw(ctx, "SELECT * FROM shop_freezes ORDER BY id") == before
