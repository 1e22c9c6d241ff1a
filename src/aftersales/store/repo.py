"""Repositories: rows <-> domain objects. Every function takes an open connection; the
service that calls it owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from aftersales.domain.case import Case, CaseLine, CounterOffer, RefundDecision, Shipment
from aftersales.domain.case_types import ActorKind, CaseType, DeadlineKind, State
from aftersales.domain.catalog import Buyer, Order, OrderLine, Product, Shop
from aftersales.domain.money import Money
from aftersales.domain.policy import ProductFlag
from aftersales.store.prebuilt import bound
from aftersales.store.records import every
from aftersales.store.schema import (
    buyers,
    case_events,
    case_lines,
    cases,
    deadlines,
    number_sequences,
    order_lines,
    order_parcels,
    orders,
    policy_profiles,
    products,
    refund_decisions,
    shipments,
    shops,
)


# --------------------------------------------------------------------------- numbers
def next_sequence(conn: Connection, name: str) -> int:
    """Atomically increment and return a named counter (upsert ... RETURNING)."""
    ins = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = ins(number_sequences).values(name=name, value=1)
    upsert = stmt.on_conflict_do_update(
        index_elements=[number_sequences.c.name],
        set_={"value": number_sequences.c.value + 1},
    ).returning(number_sequences.c.value)
    return int(conn.execute(upsert).scalar_one())


# --------------------------------------------------------------------------- catalog
def insert_shop(
    conn: Connection,
    *,
    code: str,
    name: str,
    timezone: str,
    return_address: str,
    profile_id: str,
    now: datetime,
) -> int:
    return int(
        conn.execute(
            insert(shops)
            .values(
                code=code,
                name=name,
                timezone=timezone,
                return_address=return_address,
                profile_id=profile_id,
                created_at=now,
            )
            .returning(shops.c.id)
        ).scalar_one()
    )


def _shop(row: Any) -> Shop:
    return Shop(row.id, row.code, row.name, row.timezone, row.return_address, row.profile_id)


def tx_memo(conn: Connection, name: str) -> dict[Any, Any]:
    """A memo that lives as long as the connection's current transaction."""
    txn = conn.get_transaction()
    if txn is None:  # no transaction: nothing to remember across
        return {}
    held = conn.info.get(name)
    if held is None or held[0] is not txn:
        held = (txn, {})
        conn.info[name] = held
    memo: dict[Any, Any] = held[1]
    return memo


_SHOP_MEMO = "aftersales_shops"
_SHOP_BY_ID = select(shops).where(shops.c.id == bindparam("shop_id"))


def get_shop(conn: Connection, shop_id: int) -> Shop | None:
    """The shop, read once per transaction (``update_shop`` forgets it)."""
    memo = tx_memo(conn, _SHOP_MEMO)
    if shop_id not in memo:
        row = conn.execute(_SHOP_BY_ID, {"shop_id": shop_id}).first()
        memo[shop_id] = _shop(row) if row else None
    shop: Shop | None = memo[shop_id]
    return shop


def get_shop_by_code(conn: Connection, code: str) -> Shop | None:
    row = conn.execute(select(shops).where(shops.c.code == code)).first()
    return _shop(row) if row else None


def shop_row(conn: Connection, shop_id: int) -> Any:
    return conn.execute(select(shops).where(shops.c.id == shop_id)).one()


def shop_code(conn: Connection, shop_id: int) -> str:
    shop = get_shop(conn, shop_id)
    assert shop is not None
    return shop.code


def shop_row_by_code(conn: Connection, code: str) -> Any:
    return conn.execute(select(shops).where(shops.c.code == code)).first()


def shop_rows(conn: Connection) -> list[Any]:
    return list(conn.execute(select(shops).order_by(shops.c.code)))


def update_shop(conn: Connection, shop_id: int, **values: Any) -> None:
    conn.execute(update(shops).where(shops.c.id == shop_id).values(**values))
    tx_memo(conn, _SHOP_MEMO).pop(shop_id, None)


def insert_buyer(
    conn: Connection,
    *,
    name: str,
    phone: str,
    now: datetime,
    ref: str | None = None,
    registered_at: datetime | None = None,
) -> int:
    return int(
        conn.execute(
            insert(buyers)
            .values(name=name, phone=phone, ref=ref, created_at=now, registered_at=registered_at)
            .returning(buyers.c.id)
        ).scalar_one()
    )


def buyer_id_by_ref(conn: Connection, ref: str) -> int | None:
    value = conn.execute(select(buyers.c.id).where(buyers.c.ref == ref)).scalar()
    return int(value) if value is not None else None


def buyer_ref(conn: Connection, buyer_id: int) -> str | None:
    value = conn.execute(select(buyers.c.ref).where(buyers.c.id == buyer_id)).scalar()
    return str(value) if value is not None else None


def product_id_by_sku(conn: Connection, shop_id: int, sku: str) -> int | None:
    value = conn.execute(
        select(products.c.id).where(products.c.shop_id == shop_id, products.c.sku == sku)
    ).scalar()
    return int(value) if value is not None else None


def get_buyer(conn: Connection, buyer_id: int) -> Buyer | None:
    row = conn.execute(select(buyers).where(buyers.c.id == buyer_id)).first()
    return Buyer(row.id, row.name, row.phone, row.created_at) if row else None


def insert_product(
    conn: Connection,
    *,
    shop_id: int,
    sku: str,
    title: str,
    flags: Iterable[ProductFlag],
    declared_no_reason_days: int | None,
) -> int:
    return int(
        conn.execute(
            insert(products)
            .values(
                shop_id=shop_id,
                sku=sku,
                title=title,
                flags=sorted(f.value for f in flags),
                declared_no_reason_days=declared_no_reason_days,
            )
            .returning(products.c.id)
        ).scalar_one()
    )


@dataclass(frozen=True, slots=True)
class NewOrderLine:
    product_id: int
    quantity: int
    unit_price: int
    paid: int
    downloaded: bool = False


def insert_order(
    conn: Connection,
    *,
    number: str,
    shop_id: int,
    buyer_id: int,
    currency: str,
    freight: int,
    shipping_insurance: bool,
    paid_at: datetime,
    ship_by: datetime | None,
    shipped_at: datetime | None,
    signed_at: datetime | None,
    lines: Sequence[NewOrderLine],
    now: datetime,
    region: str | None = None,
) -> int:
    order_id = int(
        conn.execute(
            insert(orders)
            .values(
                number=number,
                shop_id=shop_id,
                buyer_id=buyer_id,
                currency=currency,
                freight=freight,
                shipping_insurance=shipping_insurance,
                paid_at=paid_at,
                ship_by=ship_by,
                shipped_at=shipped_at,
                signed_at=signed_at,
                created_at=now,
                region=region,
            )
            .returning(orders.c.id)
        ).scalar_one()
    )
    conn.execute(
        insert(order_lines),
        [
            {
                "order_id": order_id,
                "product_id": ln.product_id,
                "quantity": ln.quantity,
                "unit_price": ln.unit_price,
                "paid": ln.paid,
                "downloaded": ln.downloaded,
            }
            for ln in lines
        ],
    )
    return order_id


def _order_query() -> Any:
    """The order with its lines and their products: one statement, built once."""
    lines = order_lines.join(products, products.c.id == order_lines.c.product_id)
    return (
        select(
            orders,
            order_lines.c.id.label("ln_id"),
            order_lines.c.product_id.label("ln_product_id"),
            order_lines.c.quantity.label("ln_quantity"),
            order_lines.c.unit_price.label("ln_unit_price"),
            order_lines.c.paid.label("ln_paid"),
            order_lines.c.downloaded.label("ln_downloaded"),
            products.c.shop_id.label("p_shop_id"),
            products.c.sku.label("p_sku"),
            products.c.title.label("p_title"),
            products.c.flags.label("p_flags"),
            products.c.declared_no_reason_days.label("p_days"),
        )
        .select_from(orders.outerjoin(lines, order_lines.c.order_id == orders.c.id))
        .where(orders.c.id == bindparam("order_id"))
        .order_by(order_lines.c.id)
    )


_ORDER = _order_query()
_ORDER_LOCKED = _ORDER.with_for_update(of=orders)


def lock_and_load_order(conn: Connection, order_id: int) -> Order | None:
    """The order, locked for this transaction (PostgreSQL ``FOR UPDATE``: actions on one
    order's cases serialise, refund caps span cases; SQLite's BEGIN IMMEDIATE already
    serialises every writer), with its lines, in one statement."""
    return _order_of(conn, _ORDER_LOCKED if conn.dialect.name == "postgresql" else _ORDER, order_id)


def load_order(conn: Connection, order_id: int) -> Order | None:
    """The order with its lines, in one statement."""
    return _order_of(conn, _ORDER, order_id)


def _order_of(conn: Connection, q: Any, order_id: int) -> Order | None:
    rows = conn.execute(q, {"order_id": order_id}).all()
    if not rows:
        return None
    row = rows[0]
    cur = row.currency
    order = Order(
        id=row.id,
        number=row.number,
        shop_id=row.shop_id,
        buyer_id=row.buyer_id,
        currency=cur,
        paid_at=row.paid_at,
        freight=Money(row.freight, cur),
        shipping_insurance=row.shipping_insurance,
        ship_by=row.ship_by,
        shipped_at=row.shipped_at,
        signed_at=row.signed_at,
        region=row.region,
    )
    for ln in rows:
        if ln.ln_id is None:
            continue
        product = Product(
            ln.ln_product_id,
            ln.p_shop_id,
            ln.p_sku,
            ln.p_title,
            frozenset(ProductFlag(f) for f in ln.p_flags),
            ln.p_days,
        )
        order.lines.append(
            OrderLine(
                ln.ln_id,
                product,
                ln.ln_quantity,
                Money(ln.ln_unit_price, cur),
                Money(ln.ln_paid, cur),
                ln.ln_downloaded,
            )
        )
    return order


def order_id_by_number(conn: Connection, number: str) -> int | None:
    return conn.execute(select(orders.c.id).where(orders.c.number == number)).scalar()


def set_order_dates(conn: Connection, order_id: int, **dates: datetime | None) -> None:
    conn.execute(update(orders).where(orders.c.id == order_id).values(**dates))


# --------------------------------------------------------------------------- cases
def _case_row(case: Case) -> dict[str, Any]:
    offer = case.offer
    return {
        "number": case.number,
        "shop_id": case.shop_id,
        "buyer_id": case.buyer_id,
        "order_id": case.order_id,
        "type": case.type.value,
        "state": case.state.value,
        "first_reason": case.first_reason,
        "reason": case.reason,
        "description": case.description,
        "currency": case.requested.currency,
        "requested": case.requested.amount,
        "agreed": case.agreed.amount if case.agreed else None,
        "offer_amount": offer.amount.amount if offer else None,
        "offer_return_required": offer.return_required if offer else None,
        "offer_note": offer.note if offer else None,
        "return_address": case.return_address,
        "refusal_code": case.refusal_code,
        "refusal_note": case.refusal_note,
        "rejected_at": case.rejected_at,
        "edits": case.edits,
        "profile_id": case.profile_id,
        "profile_version": case.profile_version,
        "version": case.version,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "closed_at": case.closed_at,
        "close_reason": case.close_reason,
        "deadline_kind": case.deadline_kind.value if case.deadline_kind else None,
        "deadline_at": case.deadline_at,
    }


def insert_case(conn: Connection, case: Case) -> int:
    case_id = int(
        conn.execute(insert(cases).values(**_case_row(case)).returning(cases.c.id)).scalar_one()
    )
    conn.execute(
        insert(case_lines),
        [
            {"case_id": case_id, "order_line_id": cl.order_line_id, "quantity": cl.quantity}
            for cl in case.lines
        ],
    )
    return case_id


def _case_update() -> Any:
    """The compare-and-set UPDATE of a case (every column of :func:`_case_row`), built
    once: the values are bound per call."""
    columns = [c for c in cases.c if c.name != "id"]
    return (
        update(cases)
        .where(and_(cases.c.id == bindparam("w_id"), cases.c.version == bindparam("w_version")))
        .values(bound(cases, *(c.name for c in columns)))
    )


_CASE_UPDATE = _case_update()


def update_case(conn: Connection, case: Case, expected_version: int) -> bool:
    """Compare-and-set on ``version``: False when someone else wrote first."""
    assert case.id is not None
    values = _case_row(case)
    values["version"] = expected_version + 1
    values["w_id"] = case.id
    values["w_version"] = expected_version
    res = conn.execute(_CASE_UPDATE, values)
    if res.rowcount == 1:
        case.version = expected_version + 1
        return True
    return False


def _latest_shipment(alias: Any, direction: str) -> Any:
    newest = shipments.alias()
    return alias.c.id == (
        select(func.max(newest.c.id))
        .where(and_(newest.c.case_id == cases.c.id, newest.c.direction == direction))
        .scalar_subquery()
    )


def _case_query() -> Any:
    """The case with its lines and its latest return and replacement shipments: one
    statement (one row per line), built once."""
    ret, rep = shipments.alias("ret"), shipments.alias("rep")
    cols = [case_lines.c.order_line_id.label("cl_line"), case_lines.c.quantity.label("cl_qty")]
    for prefix, alias in (("ret", ret), ("rep", rep)):
        cols += [
            alias.c[name].label(f"{prefix}_{name}")
            for name in ("carrier", "tracking_number", "shipped_at", "freight")
        ]
    return (
        select(cases, *cols)
        .select_from(
            cases.outerjoin(case_lines, case_lines.c.case_id == cases.c.id)
            .outerjoin(ret, _latest_shipment(ret, "return"))
            .outerjoin(rep, _latest_shipment(rep, "replacement"))
        )
        .order_by(case_lines.c.id)
    )


_CASE_BY_NUMBER = _case_query().where(cases.c.number == bindparam("number"))
_CASE_BY_ID = _case_query().where(cases.c.id == bindparam("case_id"))


def _shipment_of(row: Any, prefix: str) -> Shipment | None:
    carrier = getattr(row, f"{prefix}_carrier")
    if carrier is None:
        return None
    return Shipment(
        carrier,
        getattr(row, f"{prefix}_tracking_number"),
        getattr(row, f"{prefix}_shipped_at"),
        getattr(row, f"{prefix}_freight"),
    )


def _case(rows: Sequence[Any]) -> Case | None:
    if not rows:
        return None
    row = rows[0]
    cur = row.currency
    lines = tuple(CaseLine(r.cl_line, r.cl_qty) for r in rows if r.cl_line is not None)
    offer = (
        CounterOffer(
            Money(row.offer_amount, cur), bool(row.offer_return_required), row.offer_note or ""
        )
        if row.offer_amount is not None
        else None
    )
    return Case(
        id=row.id,
        number=row.number,
        shop_id=row.shop_id,
        buyer_id=row.buyer_id,
        order_id=row.order_id,
        type=CaseType(row.type),
        state=State(row.state),
        lines=lines,
        first_reason=row.first_reason,
        reason=row.reason,
        description=row.description,
        requested=Money(row.requested, cur),
        profile_id=row.profile_id,
        profile_version=row.profile_version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        agreed=Money(row.agreed, cur) if row.agreed is not None else None,
        offer=offer,
        return_address=row.return_address,
        return_shipment=_shipment_of(row, "ret"),
        replacement_shipment=_shipment_of(row, "rep"),
        refusal_code=row.refusal_code,
        refusal_note=row.refusal_note,
        rejected_at=row.rejected_at,
        edits=row.edits,
        closed_at=row.closed_at,
        close_reason=row.close_reason,
        deadline_kind=DeadlineKind(row.deadline_kind) if row.deadline_kind else None,
        deadline_at=row.deadline_at,
    )


def load_case(conn: Connection, number: str) -> Case | None:
    return _case(conn.execute(_CASE_BY_NUMBER, {"number": number}).all())


def load_case_by_id(conn: Connection, case_id: int) -> Case | None:
    return _case(conn.execute(_CASE_BY_ID, {"case_id": case_id}).all())


def list_cases(
    conn: Connection, *, shop_id: int | None = None, state: str | None = None, limit: int = 50
) -> list[Any]:
    q = (
        select(
            cases.c.number,
            cases.c.type,
            cases.c.state,
            cases.c.reason,
            cases.c.requested,
            cases.c.currency,
            cases.c.created_at,
            cases.c.deadline_at,
            shops.c.code,
            orders.c.number.label("order_number"),
        )
        .join(shops, shops.c.id == cases.c.shop_id)
        .join(orders, orders.c.id == cases.c.order_id)
    )
    if shop_id is not None:
        q = q.where(cases.c.shop_id == shop_id)
    if state is not None:
        q = q.where(cases.c.state == state)
    return list(conn.execute(q.order_by(cases.c.created_at.desc(), cases.c.id.desc()).limit(limit)))


def already_refunded(conn: Connection, order_id: int, exclude_case: int | None) -> int:
    q = select(func.coalesce(func.sum(refund_decisions.c.amount), 0)).where(
        refund_decisions.c.order_id == order_id
    )
    if exclude_case is not None:
        q = q.where(refund_decisions.c.case_id != exclude_case)
    return int(conn.execute(q).scalar_one())


def claimed_quantities(conn: Connection, order_id: int) -> dict[int, int]:
    """Units per order line on live (not closed) cases of this order."""
    q = (
        select(case_lines.c.order_line_id, func.sum(case_lines.c.quantity))
        .join(cases, cases.c.id == case_lines.c.case_id)
        .where(and_(cases.c.order_id == order_id, cases.c.state != State.CLOSED.value))
        .group_by(case_lines.c.order_line_id)
    )
    return {int(k): int(v) for k, v in conn.execute(q)}


def tracking_in_use(conn: Connection, carrier: str, number: str, case_id: int) -> bool:
    """R5.3/R16: the number is on another case's shipment, or on an order's outbound parcel."""
    parcel = select(order_parcels.c.id).where(
        and_(order_parcels.c.carrier == carrier, order_parcels.c.tracking_number == number)
    )
    if conn.execute(parcel.limit(1)).first() is not None:
        return True
    q = (
        select(shipments.c.id)
        .where(
            and_(
                shipments.c.carrier == carrier,
                shipments.c.tracking_number == number,
                shipments.c.case_id != case_id,
            )
        )
        .limit(1)
    )
    return conn.execute(q).first() is not None


def insert_shipment(conn: Connection, case_id: int, direction: str, shipment: Shipment) -> None:
    conn.execute(
        insert(shipments).values(
            case_id=case_id,
            direction=direction,
            carrier=shipment.carrier,
            tracking_number=shipment.tracking_number,
            shipped_at=shipment.shipped_at,
            freight=shipment.freight,
        )
    )


# --------------------------------------------------------------------------- timeline
_APPEND_EVENT = (
    insert(case_events)
    .values(
        seq=select(func.coalesce(func.max(case_events.c.seq), 0) + 1)
        .where(case_events.c.case_id == bindparam("case_id", type_=case_events.c.case_id.type))
        .scalar_subquery(),
        **bound(
            case_events,
            "case_id",
            "at",
            "actor_kind",
            "actor_id",
            "action",
            "rule",
            "strategy",
            "from_state",
            "to_state",
            "changes",
            "note",
        ),
    )
    .returning(case_events.c.seq)
)


def append_event(
    conn: Connection,
    case_id: int,
    *,
    at: datetime,
    actor_kind: ActorKind,
    actor_id: str | None,
    action: str,
    rule: str | None,
    strategy: str | None,
    from_state: State | None,
    to_state: State,
    changes: dict[str, Any],
    note: str | None,
) -> int:
    """Append one timeline entry; its ``seq`` is computed in the INSERT (one statement)."""
    seq = conn.execute(
        _APPEND_EVENT,
        {
            "case_id": case_id,
            "at": at,
            "actor_kind": actor_kind.value,
            "actor_id": actor_id,
            "action": action,
            "rule": rule,
            "strategy": strategy,
            "from_state": from_state.value if from_state else None,
            "to_state": to_state.value,
            "changes": changes,
            "note": note,
        },
    ).scalar_one()
    return int(seq)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of a case's timeline (``case_events``, append-only)."""

    id: int
    case_id: int
    seq: int
    at: datetime
    actor_kind: str
    actor_id: str | None
    action: str
    rule: str | None
    strategy: str | None
    from_state: str | None
    to_state: str
    changes: dict[str, Any]  # field -> {"before", "after"}, and what the move recorded
    note: str | None


def events(conn: Connection, case_id: int) -> list[TimelineEntry]:
    """The case's timeline, in order."""
    return every(
        TimelineEntry,
        conn.execute(
            select(case_events).where(case_events.c.case_id == case_id).order_by(case_events.c.seq)
        ),
    )


_INSERT_REFUND_DECISION = (
    insert(refund_decisions)
    .values(
        bound(
            refund_decisions,
            "case_id",
            "order_id",
            "currency",
            "amount",
            "reason",
            "rule",
            "lines",
            "decided_by_kind",
            "decided_by_id",
            "decided_at",
        )
    )
    .returning(refund_decisions.c.id)
)


def insert_refund_decision(
    conn: Connection,
    case_id: int,
    order_id: int,
    decision: RefundDecision,
    actor_kind: ActorKind,
    actor_id: str | None,
) -> int:
    return int(
        conn.execute(
            _INSERT_REFUND_DECISION,
            {
                "case_id": case_id,
                "order_id": order_id,
                "currency": decision.amount.currency,
                "amount": decision.amount.amount,
                "reason": decision.reason,
                "rule": decision.rule,
                "lines": [
                    {"order_line_id": cl.order_line_id, "quantity": cl.quantity}
                    for cl in decision.lines
                ],
                "decided_by_kind": actor_kind.value,
                "decided_by_id": actor_id,
                "decided_at": decision.decided_at,
            },
        ).scalar_one()
    )


def refund_decisions_of(conn: Connection, case_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(refund_decisions)
            .where(refund_decisions.c.case_id == case_id)
            .order_by(refund_decisions.c.id)
        )
    )


# --------------------------------------------------------------------------- deadlines
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


def lock_order(conn: Connection, order_id: int) -> None:
    """Serialise actions on one order's cases (refund caps span cases). SQLite's
    BEGIN IMMEDIATE already serialises every writer."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(orders.c.id).where(orders.c.id == order_id).with_for_update())


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


# --------------------------------------------------------------------------- profiles
def stored_profile(conn: Connection, profile_id: str, version: int) -> Any:
    return conn.execute(
        select(policy_profiles).where(
            and_(policy_profiles.c.profile_id == profile_id, policy_profiles.c.version == version)
        )
    ).first()


def store_profile(
    conn: Connection,
    profile_id: str,
    version: int,
    digest: str,
    body: dict[str, Any],
    now: datetime,
) -> None:
    conn.execute(
        insert(policy_profiles).values(
            profile_id=profile_id, version=version, digest=digest, body=body, created_at=now
        )
    )
