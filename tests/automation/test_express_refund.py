"""R7: express refund after shipment, and R8: refund without return, through the services
on SQLite and PostgreSQL. Limits are read from the profile."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftersales.domain import ledger as L
from aftersales.domain.case_types import CaseType, State
from aftersales.domain.errors import Forbidden, IllegalTransition, ValidationFailed
from aftersales.services import cases as svc
from aftersales.services import express_refund as express
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.store import catalog as catalog_store
from aftersales.store import risk as risk_store
from tests.automation.test_strategies import code_of, state, timeline
from tests.conftest import FakeClock
from tests.factories import World, make_world
from tests.ledger.helpers import balance

_tracking = iter(range(10_000_000, 99_999_999))


def sf() -> str:
    return f"SF10{next(_tracking):010d}"


def limit(ctx: Context, profile: str = "douyin") -> int:
    rules = ctx.profiles.current[profile].express_refund
    assert rules is not None
    return rules.max_paid_amount


def returned(w: World, *, paid: int, reason: str = "changed_mind", **kw: object) -> str:
    """A return_refund on an order whose whole payment is ``paid``, approved and shipped
    back with a valid tracking number: the moment R7.1 is checked."""
    number = w.open(
        reason=reason,
        amount=paid,
        unit_price=paid,
        freight=0,
        **kw,  # type: ignore[arg-type]
    )
    svc.approve_return(w.ctx, w.merchant, number)
    svc.ship_return(w.ctx, w.buyer, number, carrier="SF", tracking_number=sf())
    return number


def switch_on(w: World) -> None:
    express.switch(w.ctx, w.merchant, code_of(w), enabled=True)


def advanced(ctx: Context, w: World) -> int:
    return -balance(ctx, L.platform_account(L.Purpose.ADVANCE, "CNY"))


def last(ctx: Context, number: str) -> dict[str, object]:
    return timeline(ctx, number)[-1]


# --------------------------------------------------------------------------- R7.1
def test_R7_1_amount_just_below_the_limit_is_refunded_at_once(ctx: Context) -> None:
    w = make_world(ctx)
    switch_on(w)
    paid = limit(ctx) - 1  # 299.99
    number = returned(w, paid=paid)

    entry = last(ctx, number)
    assert entry["action"] == "express_refund" and entry["rule"] == "R7.1"
    assert state(ctx, number) is State.RETURN_SHIPPED  # the goods are still on their way
    assert balance(ctx, L.buyer_account(w.buyer_id, "CNY")) == paid
    assert advanced(ctx, w) == paid
    check = express.latest_check(ctx, w.merchant, number)
    assert check is not None and check.eligible and check.advance_entry_id is not None


def test_R7_1_amount_at_the_limit_is_not_eligible_and_says_why(ctx: Context) -> None:
    w = make_world(ctx)
    switch_on(w)
    number = returned(w, paid=limit(ctx))  # 300.00

    entry = last(ctx, number)
    assert entry["action"] == "express_refund_declined"
    assert entry["changes"]["failed"]["after"] == ["paid_amount_below_limit"]  # type: ignore[index]
    assert balance(ctx, L.buyer_account(w.buyer_id, "CNY")) == 0
    check = express.latest_check(ctx, w.buyer, number)
    assert check is not None and not check.eligible
    failed = [c for c in check.conditions if not c["held"]]
    assert failed[0]["detail"] == {"paid": limit(ctx), "limit": limit(ctx), "currency": "CNY"}


def test_R7_1_a_merchant_side_reason_is_not_express(ctx: Context) -> None:
    w = make_world(ctx)
    switch_on(w)
    number = returned(w, paid=10_000, reason="wrong_item")
    failed = last(ctx, number)["changes"]["failed"]["after"]  # type: ignore[index]
    # (A first claim about the goods without a photo may also raise the buyer's risk.)
    assert "seven_day_no_reason" in failed


def test_R7_1_a_risky_buyer_is_not_express(ctx: Context) -> None:
    w = make_world(ctx)
    switch_on(w)
    with ctx.db.write() as conn:
        risk_store.insert_report(
            conn,
            shop_id=w.other_shop_id,
            buyer_id=w.buyer_id,
            reason="fake claims",
            now=ctx.now(),
            status="confirmed",
        )
    number = returned(w, paid=10_000)
    failed = last(ctx, number)["changes"]["failed"]["after"]  # type: ignore[index]
    assert failed == ["buyer_risk"]
    assert balance(ctx, L.buyer_account(w.buyer_id, "CNY")) == 0


def test_R7_1_a_shop_without_the_service_checks_nothing(ctx: Context) -> None:
    w = make_world(ctx)
    number = returned(w, paid=10_000)
    assert last(ctx, number)["action"] == "ship_return"
    assert express.latest_check(ctx, w.merchant, number) is None


def test_R7_1_the_check_happens_when_the_tracking_number_is_validated(ctx: Context) -> None:
    w = make_world(ctx)
    switch_on(w)
    number = w.open(amount=10_000, unit_price=10_000, freight=0)
    svc.approve_return(ctx, w.merchant, number)
    with pytest.raises(Exception):  # noqa: B017 - an invalid number is refused (R5.3)
        svc.ship_return(ctx, w.buyer, number, carrier="SF", tracking_number="123")
    assert express.latest_check(ctx, w.merchant, number) is None
    svc.ship_return(ctx, w.buyer, number, carrier="SF", tracking_number=sf())
    assert last(ctx, number)["action"] == "express_refund"


# --------------------------------------------------------------------------- R7.2
def test_R7_2_the_advance_is_recovered_from_the_shop_when_the_return_is_received(
    ctx: Context,
) -> None:
    w = make_world(ctx)
    switch_on(w)
    number = returned(w, paid=10_000)
    settlement = L.shop_account(w.shop_id, L.Purpose.SETTLEMENT, "CNY")
    before = balance(ctx, settlement)

    svc.confirm_receipt(ctx, w.merchant, number)
    svc.refund(ctx, w.merchant, number)

    assert state(ctx, number) is State.REFUNDED
    assert balance(ctx, L.buyer_account(w.buyer_id, "CNY")) == 10_000  # paid once
    assert advanced(ctx, w) == 0
    assert balance(ctx, settlement) == before - 10_000


# --------------------------------------------------------------------------- R7.3
def test_R7_3_switching_off_within_the_lock_is_refused(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    switch_on(w)
    hours = ctx.profiles.current["douyin"].express_refund.switch_off_lock_hours  # type: ignore[union-attr]
    clock.advance(hours=hours, seconds=-1)
    with pytest.raises(IllegalTransition) as exc:
        express.switch(ctx, w.merchant, code_of(w), enabled=False)
    assert exc.value.rule == "R7.3"
    assert express.status(ctx, w.merchant, code_of(w)).enabled
    clock.advance(seconds=1)
    status = express.switch(ctx, w.merchant, code_of(w), enabled=False)
    assert not status.enabled and [s.enabled for s in status.history] == [True, False]


def test_R7_3_switching_on_again_does_not_restart_the_lock(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    first = express.switch(ctx, w.merchant, code_of(w), enabled=True)
    clock.advance(hours=1)
    again = express.switch(ctx, w.merchant, code_of(w), enabled=True)
    assert again.locked_until == first.locked_until and len(again.history) == 1


def test_R7_3_an_order_paid_while_on_stays_eligible_after_switching_off(
    ctx: Context, clock: FakeClock
) -> None:
    w = make_world(ctx)
    # World orders are paid five days before now: switch on before that payment.
    clock.advance(days=-6)
    switch_on(w)
    clock.advance(days=2)
    express.switch(ctx, w.merchant, code_of(w), enabled=False)
    clock.advance(days=4)
    number = returned(w, paid=10_000)
    entry = last(ctx, number)
    assert entry["action"] == "express_refund"
    service = entry["changes"]["conditions"]["after"][0]  # type: ignore[index]
    assert service["detail"] == {"on_now": False, "on_at_payment": True}


def test_R7_3_an_order_paid_while_off_is_not_eligible_after_switching_off(
    ctx: Context, clock: FakeClock
) -> None:
    w = make_world(ctx)
    switch_on(w)  # after the world's orders are paid
    hours = ctx.profiles.current["douyin"].express_refund.switch_off_lock_hours  # type: ignore[union-attr]
    clock.advance(hours=hours)
    express.switch(ctx, w.merchant, code_of(w), enabled=False)
    number = returned(w, paid=10_000)
    failed = last(ctx, number)["changes"]["failed"]["after"]  # type: ignore[index]
    assert failed == ["service_on"]


def test_R1_2_a_sub_account_without_the_permission_cannot_switch_express_refund(
    ctx: Context,
) -> None:
    from aftersales.domain.accounts import Permission

    w = make_world(ctx)
    sub = Actor(
        w.merchant.kind,
        "sub",
        shop_id=w.shop_id,
        main=False,
        permissions=frozenset({Permission.HANDLE_AFTERSALES}),
    )
    with pytest.raises(Forbidden):
        express.switch(ctx, sub, code_of(w), enabled=True)


# --------------------------------------------------------------------------- R8
def tiktok_world(ctx: Context) -> World:
    return make_world(ctx, profile_id="tiktok")


def regional_order(
    w: World, *, amount: int, region: str = "SEA_CROSS_BORDER", paid_days_ago: int = 5
) -> str:
    number = f"R{w.shop_id}-{amount}-{region}-{paid_days_ago}"
    now = w.ctx.now()
    w.push(
        number=number,
        currency="USD",
        unit_price=amount,
        paid_at=now - timedelta(days=paid_days_ago),
        shipped_at=now - timedelta(days=paid_days_ago - 1),
        region=region,
    )
    return number


def refund_only(w: World, order: str, amount: int, reason: str = "not_received") -> str:
    case = svc.open_case(
        w.ctx,
        w.buyer,
        order_number=order,
        type=CaseType.REFUND_ONLY,
        lines=[svc.LineRequest(w.line_id(order), 1)],
        reason=reason,
        amount=amount,
    )
    return case.number


def test_R8_2_a_regional_request_in_the_range_is_refunded_with_no_merchant_action(
    ctx: Context,
) -> None:
    w = tiktok_world(ctx)
    rule = ctx.profiles.current["tiktok"].refund_without_return.auto_approval[0]  # type: ignore[union-attr]
    number = refund_only(w, regional_order(w, amount=rule.max_amount), rule.max_amount)

    assert state(ctx, number) is State.REFUNDED
    entry = last(ctx, number)
    assert entry["action"] == "regional_auto_refund" and entry["rule"] == "R8.2"
    assert entry["actor_kind"] == "system"
    assert balance(ctx, L.buyer_account(w.buyer_id, "USD")) == rule.max_amount


def test_R8_2_above_the_range_or_another_region_follows_the_normal_flow(ctx: Context) -> None:
    w = tiktok_world(ctx)
    rule = ctx.profiles.current["tiktok"].refund_without_return.auto_approval[0]  # type: ignore[union-attr]
    above = refund_only(w, regional_order(w, amount=rule.max_amount + 1), rule.max_amount + 1)
    elsewhere = refund_only(w, regional_order(w, amount=500, region="US"), 500)
    assert state(ctx, above) is State.AWAITING_MERCHANT
    assert state(ctx, elsewhere) is State.AWAITING_MERCHANT


def test_R8_2_orders_paid_before_the_start_date_follow_the_normal_flow(
    ctx: Context, clock: FakeClock
) -> None:
    rule = ctx.profiles.current["tiktok"].refund_without_return.auto_approval[0]  # type: ignore[union-attr]
    from datetime import UTC, datetime, time

    start = datetime.combine(datetime.fromisoformat(rule.from_date).date(), time(12), tzinfo=UTC)
    clock.now = start + timedelta(days=3)
    w = tiktok_world(ctx)  # made on that day: its buyer registered before it
    before = refund_only(w, regional_order(w, amount=500, paid_days_ago=4), 500)
    on_day = refund_only(w, regional_order(w, amount=500, paid_days_ago=3), 500)
    assert state(ctx, before) is State.AWAITING_MERCHANT
    assert state(ctx, on_day) is State.REFUNDED


def test_R8_2_the_douyin_profile_has_no_regional_rule(ctx: Context) -> None:
    w = make_world(ctx)
    number = w.open(type=CaseType.REFUND_ONLY, reason="not_received", signed_ago=None)
    assert state(ctx, number) is State.AWAITING_MERCHANT


def test_R8_1_a_counter_offer_cannot_ask_for_counterfeit_goods_back(ctx: Context) -> None:
    w = tiktok_world(ctx)
    order = regional_order(w, amount=50_000, region="US")
    with ctx.db.write() as conn:
        catalog_store.set_order_dates(
            conn, catalog_store.order_id_by_number(conn, order) or 0, signed_at=ctx.now()
        )
    number = svc.open_case(
        ctx,
        w.buyer,
        order_number=order,
        type=CaseType.RETURN_REFUND,
        lines=[svc.LineRequest(w.line_id(order), 1)],
        reason="counterfeit",
        amount=50_000,
    ).number
    with pytest.raises(ValidationFailed) as exc:
        svc.counter_offer(ctx, w.merchant, number, amount=40_000, return_required=True)
    assert exc.value.rule == "R8.1" and exc.value.params["field"] == "return_required"
    # Without the return it is allowed: refund without return.
    svc.counter_offer(ctx, w.merchant, number, amount=40_000, return_required=False)
    assert state(ctx, number) is State.AWAITING_BUYER


def test_R8_1_custom_made_goods_need_no_return(ctx: Context) -> None:
    w = tiktok_world(ctx)
    order = regional_order(w, amount=20_000, region="US")
    with ctx.db.write() as conn:
        oid = catalog_store.order_id_by_number(conn, order) or 0
        catalog_store.set_order_dates(conn, oid, signed_at=ctx.now())
    # a custom-made order line
    custom = f"{order}-C"
    w.push(
        number=custom,
        product="custom_made",
        currency="USD",
        unit_price=20_000,
        shipped_at=ctx.now() - timedelta(days=4),
        signed_at=ctx.now() - timedelta(days=1),
    )
    number = svc.open_case(
        ctx,
        w.buyer,
        order_number=custom,
        type=CaseType.RETURN_REFUND,
        lines=[svc.LineRequest(w.line_id(custom), 1)],
        reason="defect",
        amount=20_000,
    ).number
    with pytest.raises(ValidationFailed) as exc:
        svc.counter_offer(ctx, w.merchant, number, amount=10_000, return_required=True)
    assert exc.value.rule == "R8.1"
