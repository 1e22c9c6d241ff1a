"""The workbench lists are index walks, whatever the size of the shop: the to-do list (a
shop's cases in one state, soonest deadline first, keyset pages) reads the index on
(shop_id, state, deadline_at, id) in order and never sorts; the searches by order number
and by buyer phone start from those and not from every case of the shop. Checked on the
plans each database makes for the very statements the store sends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, event

from aftersales.store import case_queries
from aftersales.store.case_queries import CaseFilter
from aftersales.store.db import Database

WAITING = CaseFilter(shop_id=1, states=("awaiting_merchant",))


def _plans(db: Database, f: CaseFilter, sort: str, after: Any = None) -> list[str]:
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cur: Any, stmt: str, params: Any, *_: Any) -> None:
        if stmt.lstrip().upper().startswith("SELECT"):
            sent.append((stmt, params))

    with db.read() as conn:
        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            case_queries.page(conn, f, sort, after, 51)
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        return [_explain(db, conn, stmt, params) for stmt, params in sent]


def _explain(db: Database, conn: Connection, stmt: str, params: Any) -> str:
    if db.is_sqlite:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + stmt, params)
        return "\n".join(str(r[-1]) for r in rows)
    # an empty table is cheaper to scan than to walk: ask whether a walk without a sort
    # is a plan at all
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
    return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + stmt, params))


def test_the_to_do_list_walks_its_index_and_never_sorts(db: Database) -> None:
    first, *rest = _plans(db, WAITING, "deadline_at")
    assert "ix_cases_shop_state_deadline" in first, first
    assert "TEMP B-TREE" not in first and "Sort" not in first, first
    # the cases without a deadline (after the last dated page) walk it too
    for plan in rest:
        assert "ix_cases_shop_state_deadline" in plan and "Sort" not in plan, plan


def test_a_page_further_down_is_one_range_of_the_same_index(db: Database) -> None:
    after = (datetime(2026, 11, 22, tzinfo=UTC), 40)
    first, *_ = _plans(db, WAITING, "deadline_at", after)
    assert "ix_cases_shop_state_deadline" in first, first
    assert "TEMP B-TREE" not in first and "Sort" not in first, first


def test_searches_by_order_number_and_phone_start_from_their_own_index(db: Database) -> None:
    for f in (
        CaseFilter(shop_id=1, order_number="DO1001"),
        CaseFilter(shop_id=1, buyer_phone="13800000042"),
    ):
        (plan,) = _plans(db, f, "-created_at")
        assert "ix_cases_shop" not in plan, plan
