"""R16.1/R16.2: an order's outbound parcel, and what carrier events on it do to the order's
refund request. Through the real services, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest

from aftersales.domain.case_types import CaseType, State
from aftersales.domain.errors import Forbidden, IllegalTransition, ValidationFailed
from aftersales.domain.logistics import ParcelStatus
from aftersales.services import cases as svc
from aftersales.services import logistics, orders, parcels
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.store import cases as case_store
from tests.factories import World, make_world
from tests.services.support import (
    CARRIER,
    assert_timeline,
    deadline_statuses,
    profile,
    run_worker,
    view,
)

ORDER_SYSTEM = Actor.system("order-system")
_seq = itertools.count(5_000)


def sf() -> str:
    return f"SF{1_100_000_000_000 + next(_seq)}"


def order_in_transit(w: World, *, shipped: bool = True) -> tuple[str, str]:
    """An unsigned order with one outbound SF parcel (dispatched an hour ago)."""
    number = w.order(shipped=shipped, signed_ago=None)
    tracking = sf()
    orders.record_fulfilment(
        w.ctx,
        ORDER_SYSTEM,
        number,
        shipped_at=w.ctx.now() - timedelta(hours=1),
        carrier="SF",
        tracking_number=tracking,
    )
    return number, tracking


def event(ctx: Context, tracking: str, status: str, at: datetime | None = None) -> Any:
    return logistics.record_event(
        ctx,
        CARRIER,
        carrier="SF",
        tracking_number=tracking,
        status=ParcelStatus(status),
        occurred_at=at or ctx.now(),
    )


def open_refund(w: World, order: str, type: CaseType, reason: str) -> str:
    return w.open(type=type, reason=reason, order=order)


def parcel_status(ctx: Context, order: str) -> list[tuple[str, str]]:
    v = orders.get_order(ctx, ORDER_SYSTEM, order)
    return [(p.tracking_number, p.status.value) for p in v.parcels]


def timeout_hours(ctx: Context) -> int:
    rules = profile(ctx).logistics
    assert rules is not None
    return rules.returned_parcel_timeout_hours


# --------------------------------------------------------------------------- outbound parcels
def test_R16_fulfilment_records_an_outbound_parcel_and_carrier_events_update_it(ctx, clock):
    w = make_world(ctx)
    order, tracking = order_in_transit(w)
    assert parcel_status(ctx, order) == [(tracking, "in_transit")]

    clock.advance(hours=20)
    event(ctx, tracking, "signed")
    got = orders.get_order(ctx, ORDER_SYSTEM, order)
    assert [(p.status, p.status_at) for p in got.parcels] == [(ParcelStatus.SIGNED, clock.now)]
    # R4: the order counts as signed for once its parcel is (windows count from here)
    assert got.order.signed_at == clock.now


def test_R16_an_older_carrier_event_does_not_overwrite_a_newer_status(ctx, clock):
    w = make_world(ctx)
    order, tracking = order_in_transit(w)
    event(ctx, tracking, "delivered")
    event(ctx, tracking, "in_transit", at=clock.now - timedelta(minutes=30))
    assert parcel_status(ctx, order) == [(tracking, "delivered")]


@pytest.mark.parametrize("pasted", [lambda n: n, lambda n: n.lower()])
def test_R5_3_an_outbound_number_already_on_another_parcel_is_refused(ctx, pasted):
    w = make_world(ctx)
    _, tracking = order_in_transit(w)
    other = w.order(signed_ago=None)
    with pytest.raises(IllegalTransition) as err:
        orders.record_fulfilment(
            ctx,
            ORDER_SYSTEM,
            other,
            shipped_at=ctx.now(),
            carrier="SF",
            tracking_number=pasted(tracking),
        )
    assert (err.value.code, err.value.rule) == ("tracking.reused", "R5.3")
    assert parcel_status(ctx, other) == []


def test_R5_3_the_same_parcel_reported_twice_for_its_order_is_recorded_once(ctx):
    w = make_world(ctx)
    order, tracking = order_in_transit(w)
    shipped = orders.get_order(ctx, ORDER_SYSTEM, order).parcels[0].shipped_at
    orders.record_fulfilment(
        ctx, ORDER_SYSTEM, order, shipped_at=shipped, carrier="SF", tracking_number=tracking
    )
    assert parcel_status(ctx, order) == [(tracking, "in_transit")]


def test_R5_3_a_return_number_cannot_be_an_outbound_parcel_number(ctx):
    w = make_world(ctx)
    case = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    svc.approve_return(ctx, w.merchant, case)
    returned = sf()
    svc.ship_return(ctx, w.buyer, case, carrier="SF", tracking_number=returned)
    with pytest.raises(IllegalTransition) as err:
        orders.record_fulfilment(
            ctx,
            ORDER_SYSTEM,
            w.order(signed_ago=None),
            shipped_at=ctx.now(),
            carrier="SF",
            tracking_number=returned,
        )
    assert (err.value.code, err.value.rule) == ("tracking.reused", "R5.3")


def test_R5_3_an_outbound_parcel_number_cannot_be_reused_as_a_return_number(ctx):
    w = make_world(ctx)
    _, outbound = order_in_transit(w)
    case = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    svc.approve_return(ctx, w.merchant, case)
    with pytest.raises(IllegalTransition) as err:
        svc.ship_return(ctx, w.buyer, case, carrier="SF", tracking_number=outbound)
    assert (err.value.code, err.value.rule) == ("tracking.reused", "R5.3")
    assert view(ctx, case).case.state is State.AWAITING_RETURN


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"carrier": "SF", "tracking_number": "SF12"}, "tracking_number"),
        ({"carrier": "NOPE", "tracking_number": "SF1234567890123"}, "carrier"),
        ({"carrier": "SF"}, "tracking_number"),
    ],
)
def test_R16_a_malformed_parcel_is_refused_naming_the_field(ctx, kw, field):
    w = make_world(ctx)
    order = w.order(signed_ago=None)
    with pytest.raises(ValidationFailed) as err:
        orders.record_fulfilment(ctx, ORDER_SYSTEM, order, shipped_at=ctx.now(), **kw)
    assert err.value.params["field"] == field
    assert parcel_status(ctx, order) == []


# --------------------------------------------------------------------------- R16.1
@pytest.mark.parametrize(
    ("status", "reason", "with_freight"),
    [("refused", "no_longer_needed", False), ("delivery_failed", "not_received", True)],
)
def test_R16_1_with_no_request_one_is_opened_for_the_buyer_and_waits_for_the_parcel(
    ctx, clock, status, reason, with_freight
):
    w = make_world(ctx)
    order, tracking = order_in_transit(w)
    result = event(ctx, tracking, status)

    assert result.case_number is not None
    assert result.applied_action == "parcel_undeliverable"
    v = view(ctx, result.case_number)
    c = v.case
    assert (c.type, c.reason, c.state) == (CaseType.REFUND_ONLY, reason, State.PARCEL_RETURNING)
    # the whole order; R16.3: outbound freight only for a merchant-side reason
    assert c.requested.amount == 10_000 + (800 if with_freight else 0)
    assert c.deadline_at == clock.now + timedelta(hours=timeout_hours(ctx))
    assert_timeline(
        v,
        [
            ("system", "open", "R16.1", None, "awaiting_merchant"),
            ("carrier", "parcel_undeliverable", "R16.1", "awaiting_merchant", "parcel_returning"),
        ],
    )
    assert deadline_statuses(v) == [("parcel_return", "pending")]
    assert parcel_status(ctx, order) == [(tracking, status)]


def test_R16_1_refused_parcel_refunds_when_it_reaches_the_merchant(ctx, clock):
    w = make_world(ctx)
    _, tracking = order_in_transit(w)
    number = event(ctx, tracking, "refused").case_number
    clock.advance(hours=30)

    back = event(ctx, tracking, "returned_to_sender")

    assert (back.case_number, back.applied_action) == (number, "parcel_returned")
    v = view(ctx, number)
    assert v.case.state is State.REFUNDED
    assert [(r.amount, r.rule) for r in v.refunds] == [(10_000, "R16.1")]
    assert v.timeline[-1].actor_kind == "carrier" and v.timeline[-1].rule == "R16.1"
    assert deadline_statuses(v) == [("parcel_return", "cancelled")]


def test_R16_1_a_live_refund_request_waits_for_the_parcel_instead_of_the_merchant(ctx):
    w = make_world(ctx)
    order, tracking = order_in_transit(w)
    number = open_refund(w, order, CaseType.REFUND_ONLY, "stuck_in_transit")

    result = event(ctx, tracking, "delivery_failed")

    assert (result.case_number, result.applied_action) == (number, "parcel_undeliverable")
    v = view(ctx, number)
    assert v.case.state is State.PARCEL_RETURNING
    assert deadline_statuses(v) == [
        ("merchant_response", "cancelled"),
        ("parcel_return", "pending"),
    ]
    with ctx.db.read() as conn:  # no second request was opened on the order
        assert case_store.claimed_quantities(conn, v.case.order_id) == {w.line_id(order): 1}


def test_R16_1_a_refund_before_shipment_follows_a_parcel_shipped_anyway(ctx):
    w = make_world(ctx)
    order = w.order(shipped=False)
    number = open_refund(w, order, CaseType.REFUND_UNSHIPPED, "ordered_by_mistake")
    tracking = sf()
    orders.record_fulfilment(
        ctx, ORDER_SYSTEM, order, shipped_at=ctx.now(), carrier="SF", tracking_number=tracking
    )
    event(ctx, tracking, "refused")
    assert view(ctx, number).case.state is State.PARCEL_RETURNING
    event(ctx, tracking, "returned_to_sender")
    assert view(ctx, number).case.state is State.REFUNDED


def test_R16_1_the_refund_follows_on_timeout_when_the_parcel_never_comes_back(ctx, clock):
    w = make_world(ctx)
    _, tracking = order_in_transit(w)
    number = event(ctx, tracking, "refused").case_number

    clock.advance(hours=timeout_hours(ctx) - 1)
    assert run_worker(ctx).fired == 0
    clock.advance(hours=1)
    assert run_worker(ctx).fired == 1

    v = view(ctx, number)
    assert v.case.state is State.REFUNDED
    last = v.timeline[-1]
    assert (last.actor_kind, last.action, last.rule) == ("system", "parcel_return_timeout", "R16.1")
    assert deadline_statuses(v) == [("parcel_return", "fired")]
    # the parcel arriving afterwards changes nothing
    assert event(ctx, tracking, "returned_to_sender").applied_action is None


def test_R16_1_the_merchant_may_refund_before_the_parcel_is_back(ctx):
    w = make_world(ctx)
    _, tracking = order_in_transit(w)
    number = event(ctx, tracking, "refused").case_number
    case = svc.refund(ctx, w.merchant, number)
    assert case.state is State.REFUNDED
    assert view(ctx, number).timeline[-1].rule == "R16.1"


def test_R16_1_nothing_is_opened_when_the_order_is_already_fully_refunded(ctx):
    w = make_world(ctx)
    order, tracking = order_in_transit(w)
    number = open_refund(w, order, CaseType.REFUND_ONLY, "stuck_in_transit")
    svc.approve_refund(ctx, w.merchant, number)
    result = event(ctx, tracking, "refused")
    assert (result.case_number, result.applied_action) == (None, None)


# --------------------------------------------------------------------------- R16.2
def test_R16_2_an_intercepted_parcel_comes_back_and_the_refund_follows(ctx, clock):
    w = make_world(ctx)
    order = w.order(shipped=False)
    number = open_refund(w, order, CaseType.REFUND_UNSHIPPED, "ordered_by_mistake")
    tracking = sf()
    orders.record_fulfilment(
        ctx, ORDER_SYSTEM, order, shipped_at=ctx.now(), carrier="SF", tracking_number=tracking
    )
    due = view(ctx, number).case.deadline_at

    clock.advance(hours=1)
    asked = parcels.request_intercept(ctx, w.merchant, number)
    assert asked.state is State.AWAITING_MERCHANT
    assert asked.deadline_at == due  # R5.1 keeps running
    entry = view(ctx, number).timeline[-1]
    assert (entry.action, entry.rule) == ("request_intercept", "R16.2")
    assert entry.changes["intercept"]["after"]["tracking_number"] == tracking

    clock.advance(hours=5)
    result = event(ctx, tracking, "intercepted")
    assert (result.case_number, result.applied_action) == (number, "parcel_intercepted")
    assert view(ctx, number).case.state is State.PARCEL_RETURNING
    assert view(ctx, number).timeline[-1].rule == "R16.2"

    event(ctx, tracking, "returned_to_sender")
    v = view(ctx, number)
    assert v.case.state is State.REFUNDED
    assert not any("intercept_missed" in e.changes for e in v.timeline)


def test_R16_2_refunding_when_an_intercept_was_possible_records_intercept_missed(ctx):
    w = make_world(ctx)
    order, tracking = order_in_transit(w)
    number = open_refund(w, order, CaseType.REFUND_ONLY, "stuck_in_transit")

    svc.approve_refund(ctx, w.merchant, number)

    entry = view(ctx, number).timeline[-1]
    assert entry.action == "approve_refund"
    assert entry.changes["intercept_missed"] == {
        "before": None,
        "after": {"carrier": "SF", "tracking_number": tracking, "rule": "R16.2"},
    }


def test_R16_2_after_a_failed_intercept_the_refund_is_not_a_missed_intercept(ctx):
    w = make_world(ctx)
    order, tracking = order_in_transit(w)
    number = open_refund(w, order, CaseType.REFUND_ONLY, "stuck_in_transit")
    parcels.request_intercept(ctx, w.merchant, number)
    with pytest.raises(IllegalTransition) as err:  # one intercept at a time
        parcels.request_intercept(ctx, w.merchant, number)
    assert (err.value.code, err.value.rule) == ("intercept.no_parcel", "R16.2")

    result = event(ctx, tracking, "intercept_failed")
    assert result.applied_action is None
    assert parcel_status(ctx, order) == [(tracking, "intercept_failed")]
    svc.approve_refund(ctx, w.merchant, number)
    assert "intercept_missed" not in view(ctx, number).timeline[-1].changes


def test_R16_2_no_intercept_once_the_parcel_is_delivered(ctx):
    w = make_world(ctx)
    order, tracking = order_in_transit(w)
    number = open_refund(w, order, CaseType.REFUND_ONLY, "stuck_in_transit")
    event(ctx, tracking, "delivered")
    version = view(ctx, number).case.version
    with pytest.raises(IllegalTransition) as err:
        parcels.request_intercept(ctx, w.merchant, number)
    assert err.value.rule == "R16.2"
    assert view(ctx, number).case.version == version
    svc.approve_refund(ctx, w.merchant, number)
    assert "intercept_missed" not in view(ctx, number).timeline[-1].changes


def test_R16_2_a_profile_without_intercepts_refuses_them_and_counts_none(ctx):
    current = ctx.profiles.current["douyin"]
    assert current.logistics is not None
    ctx.profiles.current["douyin"] = current.model_copy(
        update={
            "version": current.version + 1,
            "logistics": current.logistics.model_copy(update={"intercept_enabled": False}),
        }
    )
    w = make_world(ctx)
    order, _ = order_in_transit(w)
    number = open_refund(w, order, CaseType.REFUND_ONLY, "stuck_in_transit")
    with pytest.raises(IllegalTransition) as err:
        parcels.request_intercept(ctx, w.merchant, number)
    assert (err.value.code, err.value.rule) == ("intercept.not_offered", "R16.2")
    svc.approve_refund(ctx, w.merchant, number)
    assert "intercept_missed" not in view(ctx, number).timeline[-1].changes


def test_R16_2_only_the_merchant_asks_for_an_intercept(ctx):
    w = make_world(ctx)
    order, _ = order_in_transit(w)
    number = open_refund(w, order, CaseType.REFUND_ONLY, "stuck_in_transit")
    with pytest.raises(Forbidden):
        parcels.request_intercept(ctx, w.buyer, number)
