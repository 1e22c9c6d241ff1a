"""Outbound parcels (R16): recorded at fulfilment, moved by carrier events.

A parcel that fails delivery or is refused goes back to the merchant and takes the order's
refund request with it (R16.1): a request waiting for the merchant moves to
``parcel_returning``; with no live request, one is opened for the whole order on the
buyer's behalf. The refund follows when the parcel is back at the merchant, or when
``logistics.returned_parcel_timeout_hours`` pass. A merchant may ask for an intercept of a
parcel still travelling (R16.2); an intercepted parcel then comes back the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from aftersales.domain import machine
from aftersales.domain.case import Case, CaseLine, Command, Facts
from aftersales.domain.case_types import Action, ActorKind, CaseType
from aftersales.domain.catalog import Order
from aftersales.domain.errors import DomainError, IllegalTransition
from aftersales.domain.i18n import N_
from aftersales.domain.logistics import (
    DELIVERED,
    UNDELIVERABLE_REASONS,
    ParcelStatus,
    validate_tracking,
)
from aftersales.domain.money import Money
from aftersales.services import engine, events
from aftersales.services.actors import Actor, require_case_access
from aftersales.services.cases import new_case_number
from aftersales.services.context import Context
from aftersales.store import cases as case_store
from aftersales.store import catalog as catalog_store
from aftersales.store import parcels as store

__all__ = ["ParcelView", "add_parcel", "on_carrier_event", "parcels_of", "request_intercept"]


@dataclass(frozen=True, slots=True)
class ParcelView:
    carrier: str
    tracking_number: str
    shipped_at: datetime
    status: ParcelStatus
    status_at: datetime


def parcels_of(conn: Connection, order_id: int) -> list[ParcelView]:
    return [
        ParcelView(r.carrier, r.tracking_number, r.shipped_at, ParcelStatus(r.status), r.status_at)
        for r in store.of_order(conn, order_id)
    ]


def _reused(number: str) -> IllegalTransition:
    return IllegalTransition(
        "tracking.reused",
        N_("Tracking number {number} is already used on another parcel or case."),
        rule="R5.3",
        field="tracking_number",
        number=number,
    )


def add_parcel(
    conn: Connection, order: Order, carrier: str, tracking_number: str, shipped_at: datetime
) -> bool:
    """R16/R5.3: record an outbound parcel of the order (validated per carrier format; a
    number used by any parcel or case shipment is refused). False when this order already
    has the parcel (a replayed fulfilment)."""
    code, number = validate_tracking(carrier, tracking_number)
    existing = store.by_tracking(conn, code, number)
    if existing is not None:
        if existing.order_id == order.id:
            return False
        raise _reused(tracking_number)
    if case_store.tracking_in_use(conn, code, number, 0):
        raise _reused(tracking_number)
    try:
        with conn.begin_nested():
            store.insert_parcel(
                conn,
                order_id=order.id,
                carrier=code,
                tracking_number=number,
                shipped_at=shipped_at,
                status=ParcelStatus.IN_TRANSIT.value,
            )
    except IntegrityError:
        raise _reused(tracking_number) from None
    return True


# --------------------------------------------------------------------------- carrier events
def on_carrier_event(
    ctx: Context,
    conn: Connection,
    parcel: Any,
    status: ParcelStatus,
    occurred_at: datetime,
    carrier: Actor,
    now: datetime,
) -> tuple[int | None, str | None]:
    """Apply a carrier event to an outbound parcel: its status, and what it does to the
    order's refund request. Returns (the case it moved or opened, the action applied). An
    event older than the parcel's latest status is only recorded."""
    if occurred_at < parcel.status_at:
        return None, None
    store.set_status(conn, parcel.id, status.value, occurred_at)
    if status in DELIVERED:
        store.settle_intercepts(conn, parcel.id, "failed", occurred_at)  # too late (R16.2)
        _mark_signed(conn, parcel.order_id, occurred_at, now)
    elif status is ParcelStatus.INTERCEPT_FAILED:
        store.settle_intercepts(conn, parcel.id, "failed", occurred_at)
    elif status is ParcelStatus.INTERCEPTED:
        store.settle_intercepts(conn, parcel.id, "intercepted", occurred_at)
        return _parcel_comes_back(ctx, conn, parcel, Action.PARCEL_INTERCEPTED, None, carrier, now)
    elif status in UNDELIVERABLE_REASONS:
        reason = UNDELIVERABLE_REASONS[status]
        return _parcel_comes_back(
            ctx, conn, parcel, Action.PARCEL_UNDELIVERABLE, reason, carrier, now
        )
    elif status is ParcelStatus.RETURNED_TO_SENDER:
        return _move_live(ctx, conn, parcel.order_id, Action.PARCEL_RETURNED, carrier, now)
    return None, None


def _mark_signed(conn: Connection, order_id: int, at: datetime, now: datetime) -> None:
    """R4: the order counts as signed for once every parcel of it is delivered or signed
    (a carrier's 妥投 counts as 签收), at the last one's time; a recorded date never moves."""
    order = catalog_store.load_order(conn, order_id)
    assert order is not None
    if order.signed_at is not None or order.shipped_at is None or at < order.shipped_at:
        return
    if any(p.status not in DELIVERED for p in parcels_of(conn, order_id)):
        return
    catalog_store.set_order_dates(conn, order_id, signed_at=at)
    events.emit(
        conn,
        "order.fulfilment",
        shop_id=order.shop_id,
        case_id=None,
        data={"order_number": order.number, "signed_at": at.isoformat()},
        now=now,
    )


def _move_live(
    ctx: Context, conn: Connection, order_id: int, action: Action, actor: Actor, now: datetime
) -> tuple[int | None, str | None]:
    """Take ``action`` on every live case of the order that the table lets take it."""
    moved: int | None = None
    for case_id in store.live_case_ids(conn, order_id):
        case = case_store.load_case_by_id(conn, case_id)
        assert case is not None
        if machine.transition_for(case.state, action, case.type) is None:
            continue
        try:
            with conn.begin_nested():
                engine.move(ctx, conn, actor, case, Command(action, actor.kind), None, now)
        except DomainError:
            continue  # recorded on the event; the case's guards did not allow it
        moved = moved if moved is not None else case_id
    return moved, action.value if moved is not None else None


def _parcel_comes_back(
    ctx: Context,
    conn: Connection,
    parcel: Any,
    action: Action,
    open_reason: str | None,
    carrier: Actor,
    now: datetime,
) -> tuple[int | None, str | None]:
    """R16.1/R16.2: the order's refund request waiting for the merchant waits for the parcel
    instead; with no live request at all, one is opened on the buyer's behalf (R16.1)."""
    if store.live_case_ids(conn, parcel.order_id):
        return _move_live(ctx, conn, parcel.order_id, action, carrier, now)
    if open_reason is None:
        return None, None
    case = _open_for_buyer(ctx, conn, parcel.order_id, open_reason, now)
    if case is None:
        return None, None
    engine.move(ctx, conn, carrier, case, Command(action, carrier.kind), None, now)
    return case.id, action.value


def _open_for_buyer(
    ctx: Context, conn: Connection, order_id: int, reason_code: str, now: datetime
) -> Case | None:
    """R16.1: a refund_only request for what is left of the whole order, opened by the
    system for the buyer. None when nothing is left to refund or no request is possible."""
    order = catalog_store.lock_and_load_order(conn, order_id)
    assert order is not None
    shop = catalog_store.get_shop(conn, order.shop_id)
    assert shop is not None
    profile = ctx.profiles.current_for(conn, shop.profile_id, now)
    claimed = case_store.claimed_quantities(conn, order.id)
    lines = tuple(
        CaseLine(ln.id, ln.quantity - claimed.get(ln.id, 0))
        for ln in order.lines
        if ln.quantity > claimed.get(ln.id, 0)
    )
    if not lines:
        return None
    refunded = Money(case_store.already_refunded(conn, order.id, None), order.currency)
    amount = machine.max_refundable(
        order, lines, CaseType.REFUND_ONLY, reason_code, profile, refunded
    )
    if amount.amount <= 0:
        return None
    request = machine.OpenRequest(CaseType.REFUND_ONLY, lines, reason_code, amount)
    facts = Facts(order, refunded, False, shop.return_address)
    number = new_case_number(conn, now, profile.timezone)
    try:
        outcome = machine.open_case(
            request, facts, claimed, profile, now, number, shop.id, order.buyer_id
        )
    except DomainError:
        return None  # e.g. outside every window: the event stays recorded
    case = outcome.case
    case.id = case_store.insert_case(conn, case)
    opened = {
        "type": case.type.value,
        "reason": reason_code,
        "requested": {"amount": amount.amount, "currency": amount.currency},
        "lines": [{"order_line_id": cl.order_line_id, "quantity": cl.quantity} for cl in lines],
        "opened_for": "buyer",
    }
    engine.entry(
        conn,
        case,
        Actor(ActorKind.SYSTEM, "R16.1"),
        action=Action.OPEN,
        rule="R16.1",
        from_state=None,
        changes={k: {"before": None, "after": v} for k, v in opened.items()},
        now=now,
    )
    return case


# --------------------------------------------------------------------------- R16.2
def request_intercept(
    ctx: Context,
    actor: Actor,
    number: str,
    *,
    note: str = "",
    expected_version: int | None = None,
) -> Case:
    """R16.2: the merchant asks the carrier to intercept the order's parcel before it is
    delivered; an intercepted parcel comes back and the refund follows (R16.1)."""
    now = ctx.now()
    with ctx.db.write() as conn:
        case = require_case_access(actor, case_store.load_case(conn, number), number, write=True)
        assert case.id is not None
        parcel = store.interceptable(conn, case.order_id)
        cmd = Command(Action.REQUEST_INTERCEPT, actor.kind, note=note)
        after = engine.move(ctx, conn, actor, case, cmd, expected_version, now)
        assert parcel is not None  # guard_intercept_possible refused otherwise
        store.insert_intercept(
            conn,
            case_id=case.id,
            parcel_id=parcel.id,
            requested_at=now,
            requested_by=actor.id or actor.kind.value,
        )
        engine.forget(conn, case.id)  # the parcel is no longer interceptable
        return after
