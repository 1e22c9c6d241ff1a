"""R2: the full lifecycle of each of the five request types, through the services."""

from __future__ import annotations

from datetime import timedelta

from aftersales.domain.case_types import CaseType, State
from aftersales.services import cases as svc
from tests.factories import make_world
from tests.services.support import (
    CARRIER,
    SHOP_RETURN_ADDRESS,
    assert_timeline,
    deadline_statuses,
    handling,
    view,
)

PAID = 10_000  # tests.factories: unit_price * quantity for a one-unit order
FREIGHT = 800


def _money(amount: int) -> dict[str, object]:
    return {"amount": amount, "currency": "CNY"}


def test_R2_1_refund_unshipped_is_refunded_on_merchant_approval(ctx):
    w = make_world(ctx)
    # R5.2: nothing shipped and the whole order is refunded, so freight comes back too
    # (when the profile makes freight refundable).
    amount = PAID + (FREIGHT if handling(ctx).freight_refundable else 0)
    number = w.open(
        type=CaseType.REFUND_UNSHIPPED, reason="no_longer_needed", amount=amount, shipped=False
    )
    case = svc.approve_refund(ctx, w.merchant, number)

    assert case.state is State.REFUNDED
    assert case.agreed is not None and case.agreed.amount == amount
    v = view(ctx, number)
    assert_timeline(
        v,
        [
            ("buyer", "open", "R2", None, "awaiting_merchant"),
            ("merchant", "approve_refund", "R5.2", "awaiting_merchant", "refunded"),
        ],
    )
    opened = v.timeline[0].changes
    assert opened["type"]["after"] == "refund_unshipped"
    assert opened["reason"]["after"] == "no_longer_needed"
    assert opened["requested"]["after"] == _money(amount)
    approved = v.timeline[1].changes
    assert approved["agreed"] == {"before": None, "after": _money(amount)}
    assert approved["close_reason"] == {"before": None, "after": "approve_refund"}
    assert approved["deadline_kind"] == {"before": "merchant_response", "after": None}
    assert v.timeline[1].actor_id == w.merchant.id

    assert [(r.amount, r.currency, r.rule, r.reason, r.decided_by_kind) for r in v.refunds] == [
        (amount, "CNY", "R5.2", "no_longer_needed", "merchant")
    ]
    assert deadline_statuses(v) == [("merchant_response", "cancelled")]


def test_R2_2_refund_only_not_received_on_a_shipped_unsigned_order_is_refunded(ctx):
    w = make_world(ctx)
    number = w.open(type=CaseType.REFUND_ONLY, reason="not_received", signed_ago=None)
    case = svc.approve_refund(ctx, w.merchant, number)

    assert case.state is State.REFUNDED
    v = view(ctx, number)
    assert_timeline(
        v,
        [
            ("buyer", "open", "R2", None, "awaiting_merchant"),
            ("merchant", "approve_refund", "R5.2", "awaiting_merchant", "refunded"),
        ],
    )
    assert v.timeline[1].changes["agreed"]["after"] == _money(PAID)
    assert [(r.amount, r.rule, r.reason) for r in v.refunds] == [(PAID, "R5.2", "not_received")]
    assert [d.status for d in v.deadlines] == ["cancelled"]


def test_R5_2_refund_only_counter_offer_accepted_refunds_the_offer(ctx):
    w = make_world(ctx)
    number = w.open(type=CaseType.REFUND_ONLY, reason="not_received", signed_ago=None)
    svc.counter_offer(ctx, w.merchant, number, amount=6_000, note="partial")
    case = svc.accept_offer(ctx, w.buyer, number)

    assert case.state is State.REFUNDED
    v = view(ctx, number)
    assert_timeline(
        v,
        [
            ("buyer", "open", "R2", None, "awaiting_merchant"),
            ("merchant", "counter_offer", "R5.2", "awaiting_merchant", "awaiting_buyer"),
            ("buyer", "accept_offer", "R5.2", "awaiting_buyer", "refunded"),
        ],
    )
    offer = v.timeline[1].changes["offer"]["after"]
    assert offer["amount"] == _money(6_000) and offer["return_required"] is False
    assert v.timeline[2].changes["agreed"] == {"before": None, "after": _money(6_000)}
    assert [(r.amount, r.rule) for r in v.refunds] == [(6_000, "R5.2")]
    assert deadline_statuses(v) == [
        ("merchant_response", "cancelled"),
        ("buyer_offer_response", "cancelled"),
    ]


def test_R2_3_return_refund_goes_back_and_is_refunded_after_receipt(ctx):
    w = make_world(ctx)
    number = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    svc.approve_return(ctx, w.merchant, number)
    svc.ship_return(ctx, w.buyer, number, carrier="SF", tracking_number="SF1000000000001")
    svc.return_delivered(ctx, CARRIER, number)
    svc.confirm_receipt(ctx, w.merchant, number)
    case = svc.refund(ctx, w.merchant, number)

    assert case.state is State.REFUNDED
    assert case.return_shipment is not None
    assert case.return_shipment.tracking_number == "SF1000000000001"
    v = view(ctx, number)
    assert_timeline(
        v,
        [
            ("buyer", "open", "R4.1", None, "awaiting_merchant"),
            ("merchant", "approve_return", "R5.1", "awaiting_merchant", "awaiting_return"),
            ("buyer", "ship_return", "R5.3", "awaiting_return", "return_shipped"),
            ("carrier", "return_delivered", "R5.4", "return_shipped", "return_delivered"),
            ("merchant", "confirm_receipt", "R5.4", "return_delivered", "return_received"),
            ("merchant", "refund", "R5.4", "return_received", "refunded"),
        ],
    )
    changes = [e.changes for e in v.timeline]
    assert changes[1]["return_address"] == {"before": None, "after": SHOP_RETURN_ADDRESS}
    shipped = changes[2]["return_shipment"]
    assert shipped["before"] is None
    assert shipped["after"]["carrier"] == "SF"
    assert shipped["after"]["tracking_number"] == "SF1000000000001"
    assert changes[5]["agreed"] == {"before": None, "after": _money(PAID)}
    assert [(r.amount, r.rule, r.decided_by_kind) for r in v.refunds] == [
        (PAID, "R5.4", "merchant")
    ]
    assert deadline_statuses(v) == [
        ("merchant_response", "cancelled"),
        ("return_shipment", "cancelled"),
        ("merchant_receipt", "cancelled"),
    ]


def test_R2_4_exchange_returns_the_goods_and_completes_on_replacement_confirmed(ctx):
    w = make_world(ctx)
    number = w.open(type=CaseType.EXCHANGE, reason="size_colour_mismatch")
    svc.approve_return(ctx, w.merchant, number)
    svc.ship_return(ctx, w.buyer, number, carrier="SF", tracking_number="SF1000000000002")
    svc.return_delivered(ctx, CARRIER, number)
    svc.confirm_receipt(ctx, w.merchant, number)
    svc.ship_replacement(ctx, w.merchant, number, carrier="YTO", tracking_number="YT1000000000002")
    case = svc.confirm_replacement(ctx, w.buyer, number)

    assert case.state is State.COMPLETED
    assert case.agreed is None
    assert case.replacement_shipment is not None
    assert case.replacement_shipment.carrier == "YTO"
    v = view(ctx, number)
    assert_timeline(
        v,
        [
            ("buyer", "open", "R4.2", None, "awaiting_merchant"),
            ("merchant", "approve_return", "R5.1", "awaiting_merchant", "awaiting_return"),
            ("buyer", "ship_return", "R5.3", "awaiting_return", "return_shipped"),
            ("carrier", "return_delivered", "R5.4", "return_shipped", "return_delivered"),
            ("merchant", "confirm_receipt", "R5.4", "return_delivered", "return_received"),
            ("merchant", "ship_replacement", "R2.4", "return_received", "replacement_shipped"),
            ("buyer", "confirm_replacement", "R2.4", "replacement_shipped", "completed"),
        ],
    )
    replacement = v.timeline[5].changes["replacement_shipment"]["after"]
    assert replacement["tracking_number"] == "YT1000000000002"
    assert v.refunds == []  # R2.4: goods move, no money
    assert "pending" not in [d.status for d in v.deadlines]


def test_R2_5_reship_sends_the_missing_part_and_completes_without_money(ctx):
    w = make_world(ctx)
    number = w.open(type=CaseType.RESHIP, reason="missing_item")
    svc.approve_reship(ctx, w.merchant, number)
    svc.ship_replacement(ctx, w.merchant, number, carrier="JT", tracking_number="JT1000000000003")
    case = svc.confirm_replacement(ctx, w.buyer, number)

    assert case.state is State.COMPLETED
    v = view(ctx, number)
    assert_timeline(
        v,
        [
            ("buyer", "open", "R4.2", None, "awaiting_merchant"),
            ("merchant", "approve_reship", "R2.5", "awaiting_merchant", "awaiting_reship"),
            ("merchant", "ship_replacement", "R2.5", "awaiting_reship", "replacement_shipped"),
            ("buyer", "confirm_replacement", "R2.4", "replacement_shipped", "completed"),
        ],
    )
    assert v.timeline[0].changes["requested"]["after"] == _money(0)
    assert v.refunds == []  # R2.5: no money moves
    assert deadline_statuses(v) == [
        ("merchant_response", "cancelled"),
        ("replacement_confirm", "cancelled"),
    ]


def test_R5_4_receipt_confirmed_before_the_delivery_scan_starts_the_receipt_clock(ctx, clock):
    w = make_world(ctx)
    number = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    svc.approve_return(ctx, w.merchant, number)
    svc.ship_return(ctx, w.buyer, number, carrier="SF", tracking_number="SF1000000000004")
    received = svc.confirm_receipt(ctx, w.merchant, number)
    assert received.state is State.RETURN_RECEIVED
    assert received.deadline_at == clock.now + timedelta(hours=handling(ctx).merchant_receipt_hours)
    case = svc.refund(ctx, w.merchant, number)

    assert case.state is State.REFUNDED
    v = view(ctx, number)
    assert [e.action for e in v.timeline] == [
        "open",
        "approve_return",
        "ship_return",
        "confirm_receipt",
        "refund",
    ]
    assert v.timeline[3].from_state == "return_shipped"
    assert [(r.amount, r.rule) for r in v.refunds] == [(PAID, "R5.4")]
