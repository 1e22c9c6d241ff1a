"""Bulk seeding for the concurrency tests: many refund cases waiting on the merchant with a
due ``merchant_response`` deadline, written with SQLAlchemy Core ``executemany`` (one
statement per table) instead of thousands of service calls.

Each seeded case looks like one the services open (``refund_unshipped`` on a paid, unshipped
order; state ``awaiting_merchant``, version 1, an ``open`` timeline entry, one pending
deadline), so the worker fires ``merchant_timeout`` and records one refund decision per case.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select

from aftersales.domain.case_types import DeadlineKind
from aftersales.profiles import load_profiles
from aftersales.services.context import ProfileStore
from aftersales.store.db import Database
from aftersales.store.schema import (
    buyers,
    case_events,
    case_lines,
    cases,
    deadlines,
    order_lines,
    orders,
    products,
    refund_decisions,
    shops,
)

PRICE = 10_000


@dataclass(frozen=True)
class Seeded:
    count: int
    case_ids: list[int]


def _insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """One executemany (pipelined by psycopg). No RETURNING: with thousands of rows the
    RETURNING form is several times slower, so callers read the ids back by a key."""
    conn.execute(insert(table), rows)


def seed_due_refunds(database: Database, n: int, *, now: datetime) -> Seeded:
    """``n`` cases awaiting the merchant whose response deadline fell due an hour before
    ``now`` (real time for worker processes, which read the system clock)."""
    tag = uuid.uuid4().hex[:8]
    opened = now - timedelta(hours=49)
    due = now - timedelta(hours=1)
    with database.write() as conn:
        profile = ProfileStore(load_profiles()).current_for(conn, "douyin", opened)
        shop_id = conn.execute(
            insert(shops)
            .values(
                code=f"BULK{tag}",
                name="Bulk shop",
                timezone=profile.timezone,
                return_address="1 Return Rd, Hangzhou",
                profile_id=profile.id,
                created_at=opened - timedelta(days=30),
            )
            .returning(shops.c.id)
        ).scalar_one()
        buyer_id = conn.execute(
            insert(buyers)
            .values(name="Bulk buyer", phone=f"137{tag}", created_at=opened - timedelta(days=400))
            .returning(buyers.c.id)
        ).scalar_one()
        product_id = conn.execute(
            insert(products)
            .values(
                shop_id=shop_id,
                sku=f"SKU{tag}",
                title="T-shirt",
                flags=[],
                declared_no_reason_days=None,
            )
            .returning(products.c.id)
        ).scalar_one()
        _insert_many(
            conn,
            orders,
            [
                {
                    "number": f"BO{tag}{i:07d}",
                    "shop_id": shop_id,
                    "buyer_id": buyer_id,
                    "currency": "CNY",
                    "freight": 800,
                    "shipping_insurance": False,
                    "paid_at": opened - timedelta(hours=2),
                    "ship_by": None,
                    "shipped_at": None,
                    "signed_at": None,
                    "created_at": opened - timedelta(hours=2),
                }
                for i in range(n)
            ],
        )
        order_ids = [
            r.id
            for r in conn.execute(
                select(orders.c.id).where(orders.c.shop_id == shop_id).order_by(orders.c.number)
            )
        ]
        _insert_many(
            conn,
            order_lines,
            [
                {
                    "order_id": oid,
                    "product_id": product_id,
                    "quantity": 1,
                    "unit_price": PRICE,
                    "paid": PRICE,
                    "downloaded": False,
                }
                for oid in order_ids
            ],
        )
        line_of = dict(
            conn.execute(
                select(order_lines.c.order_id, order_lines.c.id).where(
                    order_lines.c.product_id == product_id
                )
            ).all()
        )
        _insert_many(
            conn,
            cases,
            [
                {
                    "number": f"BC{tag}{i:07d}",
                    "shop_id": shop_id,
                    "buyer_id": buyer_id,
                    "order_id": oid,
                    "type": "refund_unshipped",
                    "state": "awaiting_merchant",
                    "first_reason": "no_longer_needed",
                    "reason": "no_longer_needed",
                    "description": "bulk",
                    "currency": "CNY",
                    "requested": PRICE,
                    "agreed": None,
                    "offer_amount": None,
                    "offer_return_required": None,
                    "offer_note": None,
                    "return_address": None,
                    "refusal_code": None,
                    "refusal_note": None,
                    "rejected_at": None,
                    "edits": 0,
                    "profile_id": profile.id,
                    "profile_version": profile.version,
                    "version": 1,
                    "created_at": opened,
                    "updated_at": opened,
                    "closed_at": None,
                    "close_reason": None,
                    "deadline_kind": DeadlineKind.MERCHANT_RESPONSE.value,
                    "deadline_at": due,
                }
                for i, oid in enumerate(order_ids)
            ],
        )
        case_orders = conn.execute(
            select(cases.c.id, cases.c.order_id)
            .where(cases.c.shop_id == shop_id)
            .order_by(cases.c.number)
        ).all()
        case_ids = [cid for cid, _ in case_orders]
        _insert_many(
            conn,
            case_lines,
            [
                {"case_id": cid, "order_line_id": line_of[oid], "quantity": 1}
                for cid, oid in case_orders
            ],
        )
        _insert_many(
            conn,
            case_events,
            [
                {
                    "case_id": cid,
                    "seq": 1,
                    "at": opened,
                    "actor_kind": "buyer",
                    "actor_id": f"buyer:{buyer_id}",
                    "action": "open",
                    "rule": "R2",
                    "strategy": None,
                    "from_state": None,
                    "to_state": "awaiting_merchant",
                    "changes": {},
                    "note": "bulk",
                }
                for cid in case_ids
            ],
        )
        _insert_many(
            conn,
            deadlines,
            [
                {
                    "case_id": cid,
                    "kind": DeadlineKind.MERCHANT_RESPONSE.value,
                    "due_at": due,
                    "run_at": due,
                    "status": "pending",
                    "attempts": 0,
                    "last_error": None,
                    "fired_at": None,
                    "fired_by": None,
                    "created_at": opened,
                }
                for cid in case_ids
            ],
        )
    assert len(case_ids) == n
    return Seeded(n, case_ids)


# --------------------------------------------------------------------------- checks
def status_counts(conn: Connection) -> dict[str, int]:
    q = select(deadlines.c.status, func.count()).group_by(deadlines.c.status)
    return {status: int(count) for status, count in conn.execute(q)}


def fired_by_counts(conn: Connection) -> dict[str | None, int]:
    q = select(deadlines.c.fired_by, func.count()).group_by(deadlines.c.fired_by)
    return {name: int(count) for name, count in conn.execute(q)}


def assert_each_fired_exactly_once(conn: Connection, seeded: Seeded) -> None:
    """Every deadline fired, every case timed out once, one refund decision per case."""
    assert status_counts(conn) == {"fired": seeded.count}
    timeouts = case_events.c.action == "merchant_timeout"
    doubled = list(
        conn.execute(
            select(case_events.c.case_id, func.count())
            .where(timeouts)
            .group_by(case_events.c.case_id)
            .having(func.count() != 1)
        )
    )
    assert doubled == [], f"cases with more than one timeout event: {doubled[:10]}"
    timed_out = conn.execute(
        select(func.count(func.distinct(case_events.c.case_id))).where(timeouts)
    ).scalar_one()
    assert timed_out == seeded.count, f"{seeded.count - timed_out} cases never timed out"
    # the timeline stays gap-free: open (1) then the timeout (2)
    bad_seq = conn.execute(
        select(func.count()).select_from(case_events).where(timeouts, case_events.c.seq != 2)
    ).scalar_one()
    assert bad_seq == 0
    n_refunds, n_refunded_cases = conn.execute(
        select(func.count(), func.count(func.distinct(refund_decisions.c.case_id)))
    ).one()
    assert (n_refunds, n_refunded_cases) == (seeded.count, seeded.count)
    states = dict(conn.execute(select(cases.c.state, func.count()).group_by(cases.c.state)).all())
    assert states == {"refunded": seeded.count}
    versions = dict(
        conn.execute(select(cases.c.version, func.count()).group_by(cases.c.version)).all()
    )
    assert versions == {2: seeded.count}
