"""The workbench lists at size: the to-do list (a shop's cases awaiting the merchant, by
deadline) and the searches (buyer phone, order number, created date range), on databases
of 1,000, 100,000 and (with ``--big``) 1,000,000 cases.

The big sizes are written by a bulk loader, but what it writes is copied from what the
services wrote: three template cases are taken through the real use cases (one left
waiting for the merchant, one approved for return, one refunded), and every bulk case is
one of them with its own ids, numbers, shop, buyer, order and times: the same rows in
``buyers``, ``orders``, ``order_lines``, ``cases``, ``case_lines``, ``case_events`` and
``deadlines``. (Ledger entries, refund decisions and outbox events of the refunded
template are not copied: no list reads them.)
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select, text

from aftersales.domain.case_types import CaseType
from aftersales.services import cases as svc
from aftersales.services import orders as orders_svc
from aftersales.services import shops
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.store.case_queries import CaseFilter
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
)

SHOPS = 10  # the measured shop holds half the cases, nine others share the rest
WAITING, RETURNING, REFUNDED = 0.25, 0.15, 0.60  # share of each template
CHUNK = 5_000


@dataclass
class Loaded:
    size: int
    db: Database
    ctx: Context
    merchant: Actor  # the measured shop's main account
    phone: str  # a buyer of the measured shop
    order_number: str  # an order of the measured shop with a case
    day: datetime  # a day inside the history
    middle: tuple[Any, int]  # the to-do list's keyset cursor half-way down
    load_seconds: float


def _templates(ctx: Context, now: datetime) -> tuple[list[int], int, list[int]]:
    """Shops, one buyer and three cases taken through the services (as the system, the
    order system's own path: the same calls the API makes); returns the shop ids,
    the product of the measured shop and the three template case ids."""
    system = Actor.system("bench")
    codes = [f"L{i}" for i in range(SHOPS)]
    shop_ids = [
        shops.create_shop(ctx, system, code=c, name=f"Shop {c}", return_address="Dock 1").id
        for c in codes
    ]
    tee = orders_svc.ProductIn("SKU-1", "Tee")
    product_ids = [orders_svc.record_product(ctx, system, c, tee) for c in codes]
    template_buyer = orders_svc.BuyerIn("bench-template", "Template", "13000000000")
    buyer = orders_svc.record_buyer(ctx, system, template_buyer)
    merchant = Actor.merchant(shop_ids[0])
    ids = []
    for k in range(3):
        number = f"TPL{k}"
        orders_svc.push_order(
            ctx,
            system,
            number=number,
            shop_code=codes[0],
            buyer=template_buyer,
            currency="CNY",
            paid_at=now - timedelta(days=4),
            shipped_at=now - timedelta(days=3),
            signed_at=now - timedelta(days=1),
            lines=[orders_svc.LineIn(tee.sku, tee.title, 1, 10_000, 10_000)],
        )
        with ctx.db.read() as conn:
            line = conn.execute(
                select(order_lines.c.id)
                .join(orders, orders.c.id == order_lines.c.order_id)
                .where(orders.c.number == number)
            ).scalar_one()
        case = svc.open_case(
            ctx,
            Actor.buyer(buyer),
            order_number=number,
            type=CaseType.RETURN_REFUND,
            lines=[svc.LineRequest(line, 1)],
            reason="changed_mind",
            amount=10_000,
        )
        if k == 1:
            case = svc.approve_return(ctx, merchant, case.number)
        elif k == 2:
            case = svc.approve_refund(ctx, merchant, case.number)
        assert case.id is not None
        ids.append(case.id)
    return shop_ids, product_ids[0], ids


def _rows(conn: Connection, table: Any, col: Any, value: int) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(select(table).where(col == value))]


def load(db: Database, ctx: Context, size: int, seed: int = 12) -> Loaded:
    """Write ``size`` cases (three through the services, the rest copied from them)."""
    rnd = random.Random(seed)
    started = time.perf_counter()
    now = ctx.now()
    shop_ids, _, tpl_ids = _templates(ctx, now)
    with db.read() as conn:
        tpl: list[dict[str, Any]] = []
        for cid in tpl_ids:
            case = dict(conn.execute(select(cases).where(cases.c.id == cid)).one()._mapping)
            order = dict(
                conn.execute(select(orders).where(orders.c.id == case["order_id"])).one()._mapping
            )
            tpl.append(
                {
                    "case": case,
                    "order": order,
                    "order_lines": _rows(conn, order_lines, order_lines.c.order_id, order["id"]),
                    "case_lines": _rows(conn, case_lines, case_lines.c.case_id, cid),
                    "events": _rows(conn, case_events, case_events.c.case_id, cid),
                    "deadlines": _rows(conn, deadlines, deadlines.c.case_id, cid),
                }
            )
        shop_products = {
            r.shop_id: r.id for r in conn.execute(select(products.c.shop_id, products.c.id))
        }
        nxt = {
            t.name: (conn.execute(select(func.max(t.c.id))).scalar() or 0) + 1
            for t in (buyers, orders, order_lines, cases, case_lines, case_events, deadlines)
        }
    n_bulk = max(size - len(tpl_ids), 0)
    n_buyers = max(n_bulk // 4, 1)
    span = timedelta(days=365)
    first_buyer = nxt["buyers"]
    buyer_shop: dict[int, int] = {}
    with db.write() as conn:
        batch = []
        for i in range(n_buyers):
            batch.append(
                {
                    "id": first_buyer + i,
                    "name": f"Buyer {i}",
                    "phone": f"139{i:08d}",
                    "ref": None,
                    "created_at": now - span,
                    "registered_at": None,
                }
            )
            if len(batch) >= CHUNK:
                conn.execute(buyers.insert(), batch)
                batch = []
        if batch:
            conn.execute(buyers.insert(), batch)
    per_day: dict[str, int] = {}
    done = 0
    while done < n_bulk:
        take = min(CHUNK, n_bulk - done)
        out: dict[str, list[dict[str, Any]]] = {
            k: [] for k in ("orders", "order_lines", "cases", "case_lines", "events", "deadlines")
        }
        for j in range(done, done + take):
            r = rnd.random()
            t = tpl[0] if r < WAITING else tpl[1] if r < WAITING + RETURNING else tpl[2]
            shop = shop_ids[0] if rnd.random() < 0.5 else shop_ids[1 + j % (SHOPS - 1)]
            buyer = first_buyer + rnd.randrange(n_buyers)
            buyer_shop.setdefault(buyer, shop)
            # what waits is recent (its deadline is ahead, as the worker keeps it); what is
            # done is spread over the year
            recent = {0: timedelta(hours=47), 1: timedelta(days=6)}.get(tpl.index(t), span)
            created = now - recent * rnd.random()
            shift = created - t["case"]["created_at"]
            oid, cid = nxt["orders"] + j, nxt["cases"] + j
            day = created.strftime("%Y%m%d")
            per_day[day] = per_day.get(day, 500_000) + 1
            order = {
                **t["order"],
                "id": oid,
                "number": f"LO{j:010d}",
                "shop_id": shop,
                "buyer_id": buyer,
            }
            for k in ("paid_at", "shipped_at", "signed_at", "created_at"):
                order[k] = order[k] + shift if order[k] is not None else None
            out["orders"].append(order)
            line_id = nxt["order_lines"] + j
            out["order_lines"].append(
                {
                    **t["order_lines"][0],
                    "id": line_id,
                    "order_id": oid,
                    "product_id": shop_products[shop],
                }
            )
            case = {
                **t["case"],
                "id": cid,
                "number": f"AS{day}{per_day[day]:06d}",
                "shop_id": shop,
                "buyer_id": buyer,
                "order_id": oid,
            }
            for k in ("created_at", "updated_at", "closed_at", "rejected_at", "deadline_at"):
                case[k] = case[k] + shift if case[k] is not None else None
            out["cases"].append(case)
            out["case_lines"].append(
                {
                    **t["case_lines"][0],
                    "id": nxt["case_lines"] + j,
                    "case_id": cid,
                    "order_line_id": line_id,
                }
            )
            for e in t["events"]:
                out["events"].append({**e, "id": None, "case_id": cid, "at": e["at"] + shift})
            for d in t["deadlines"]:
                row = {**d, "id": None, "case_id": cid}
                for k in ("due_at", "run_at", "fired_at", "created_at"):
                    row[k] = row[k] + shift if row[k] is not None else None
                out["deadlines"].append(row)
        with db.write() as conn:
            conn.execute(orders.insert(), out["orders"])
            conn.execute(order_lines.insert(), out["order_lines"])
            conn.execute(cases.insert(), out["cases"])
            conn.execute(case_lines.insert(), out["case_lines"])
            for e in out["events"]:
                e.pop("id")
            conn.execute(case_events.insert(), out["events"])
            for d in out["deadlines"]:
                d.pop("id")
            conn.execute(deadlines.insert(), out["deadlines"])
        done += take
    with db.write() as conn:
        if not db.is_sqlite:  # explicit ids: move the sequences past them
            for table in (buyers, orders, order_lines, cases, case_lines):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT max(id) FROM {table.name}))"
                    )
                )
    if not db.is_sqlite:  # statistics, as autovacuum keeps them (SQLite runs without)
        with db.write() as conn:
            conn.exec_driver_sql("ANALYZE")
    main_shop = shop_ids[0]
    phone_buyer = next((b for b, s in buyer_shop.items() if s == main_shop), first_buyer)
    merchant = Actor.merchant(main_shop)
    with db.read() as conn:
        order_number = conn.execute(
            select(orders.c.number).where(orders.c.shop_id == main_shop).limit(1)
        ).scalar_one()
        waiting = conn.execute(
            select(func.count())
            .select_from(cases)
            .where(cases.c.shop_id == main_shop, cases.c.state == "awaiting_merchant")
        ).scalar_one()
        mid = conn.execute(
            select(cases.c.deadline_at, cases.c.id)
            .where(cases.c.shop_id == main_shop, cases.c.state == "awaiting_merchant")
            .order_by(cases.c.deadline_at, cases.c.id)
            .offset(max(waiting // 2, 0))
            .limit(1)
        ).first()
    middle = (mid[0], mid[1]) if mid is not None else (None, 0)
    return Loaded(
        size=size,
        db=db,
        ctx=ctx,
        merchant=merchant,
        phone=f"139{phone_buyer - first_buyer:08d}",
        order_number=order_number,
        day=(now - span / 2).replace(hour=0, minute=0, second=0, microsecond=0),
        middle=middle,
        load_seconds=time.perf_counter() - started,
    )


QUERIES: dict[str, Callable[[Loaded], None]] = {}


def _query(name: str) -> Callable[[Callable[[Loaded], None]], Callable[[Loaded], None]]:
    def wrap(fn: Callable[[Loaded], None]) -> Callable[[Loaded], None]:
        QUERIES[name] = fn
        return fn

    return wrap


TODO = CaseFilter(states=("awaiting_merchant",))


@_query("to-do list, first page (awaiting merchant, by deadline, 50)")
def _todo(x: Loaded) -> None:
    page = svc.list_cases(x.ctx, x.merchant, TODO, sort="deadline_at", limit=50)
    assert len(page.rows) == 50 or x.size < 1_000 or page.next_after is None


@_query("to-do list, a page half-way down (keyset cursor)")
def _todo_mid(x: Loaded) -> None:
    svc.list_cases(x.ctx, x.merchant, TODO, sort="deadline_at", after=x.middle, limit=50)


@_query("search: buyer phone")
def _phone(x: Loaded) -> None:
    svc.list_cases(x.ctx, x.merchant, CaseFilter(buyer_phone=x.phone), limit=50)


@_query("search: order number")
def _order(x: Loaded) -> None:
    page = svc.list_cases(x.ctx, x.merchant, CaseFilter(order_number=x.order_number), limit=50)
    assert len(page.rows) == 1


@_query("search: created on one day (newest first)")
def _day(x: Loaded) -> None:
    f = CaseFilter(created_from=x.day, created_to=x.day + timedelta(days=1))
    svc.list_cases(x.ctx, x.merchant, f, limit=50)


def time_queries(loaded: list[Loaded], rounds: int, reps: int) -> dict[tuple[str, int], float]:
    """p50 seconds of each query at each size; sizes interleaved round by round."""
    samples: dict[tuple[str, int], list[float]] = {}
    for x in loaded:  # warm each database's cache once
        for fn in QUERIES.values():
            fn(x)
    for _ in range(rounds):
        for name, fn in QUERIES.items():
            for x in loaded:
                for _ in range(reps):
                    t = time.perf_counter()
                    fn(x)
                    samples.setdefault((name, x.size), []).append(time.perf_counter() - t)
    return {k: sorted(v)[len(v) // 2] for k, v in samples.items()}
