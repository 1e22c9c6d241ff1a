"""The demo's case stories: for each case, its request, its order's stage and the steps that
follow (a person's action, or a deadline left to fire), so every reachable state of every
request type is reached through the services."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import NamedTuple

from aftersales.demo.common import sf_tracking
from aftersales.domain.case_types import CaseType, DeadlineKind
from aftersales.domain.logistics import ParcelStatus
from aftersales.domain.policy import (
    EvidenceKind,
)
from aftersales.services import cases as svc
from aftersales.services import logistics, money, orders
from aftersales.services.actors import Actor
from aftersales.services.context import Context

T = CaseType
DK = DeadlineKind
Step = tuple[str, Callable[..., object] | None, dict[str, object] | str, float | DeadlineKind]
# (who, service or None for "let the deadline fire", kwargs, hours to wait before the step —
# or, for a deadline, its kind: the wait is read from the shop's profile, just past due)


class Story(NamedTuple):
    """One case's story: its request, the stage its order is in, and the steps that follow."""

    type: CaseType
    reason: str
    stage: str  # of the order: paid, shipped or signed
    steps: list[Step]
    product: str = "plain"  # the product (a category flag) the order is for
    insured: bool = False  # the order carries shipping insurance


def stories() -> list[Story]:
    """(type, reason, order stage, steps[, product]) — one story per target state."""
    m, b, c, p = "merchant", "buyer", "carrier", "platform"
    # A step's "evidence" names the kinds of proof the shop uploads before it refuses; the
    # runner uploads one file of each and refuses with their ids (R5.5).
    proof = {"evidence": [EvidenceKind.CARRIER_PROOF]}
    back: list[Step] = [
        (m, svc.approve_return, {}, 1),
        (b, svc.ship_return, "SF", 5),
        (c, svc.return_delivered, {}, 30),
    ]
    offer_back: list[Step] = [
        (
            m,
            svc.counter_offer,
            {"amount": 11_000, "return_required": True, "note": "send it back for inspection"},
            2,
        ),
        (b, svc.accept_offer, {}, 1),
    ]
    ship_back: list[Step] = [(b, svc.ship_return, "SF", 8), (c, svc.return_delivered, {}, 30)]
    stories: list[Story] = [
        # refund before shipment (R2.1)
        Story(T.REFUND_UNSHIPPED, "ordered_by_mistake", "paid", []),
        Story(
            T.REFUND_UNSHIPPED,
            "ordered_by_mistake",
            "paid",
            [(m, svc.counter_offer, {"amount": 5_000, "note": "keep the gift wrap fee"}, 2)],
        ),
        Story(T.REFUND_UNSHIPPED, "no_longer_needed", "paid", [(m, svc.approve_refund, {}, 0.2)]),
        Story(
            T.REFUND_UNSHIPPED,
            "changed_mind",
            "paid",
            [("deadline", None, {}, DK.MERCHANT_RESPONSE)],
        ),
        Story(
            T.REFUND_UNSHIPPED,
            "changed_mind",
            "paid",
            [
                (
                    m,
                    svc.reject,
                    {
                        "refusal_code": "already_shipped_intercept_failed",
                        "evidence": [EvidenceKind.CARRIER_PROOF],
                    },
                    3,
                )
            ],
        ),
        Story(T.REFUND_UNSHIPPED, "ordered_by_mistake", "paid", [(b, svc.cancel, {}, 0.5)]),
        # refund only, shipped (R2.2)
        Story(T.REFUND_ONLY, "not_received", "shipped", []),
        Story(
            T.REFUND_ONLY,
            "stuck_in_transit",
            "shipped",
            [(m, svc.counter_offer, {"amount": 6_000}, 4)],
        ),
        Story(
            T.REFUND_ONLY,
            "stuck_in_transit",
            "shipped",
            [(m, svc.counter_offer, {"amount": 8_000}, 4), (b, svc.accept_offer, {}, 2)],
        ),
        Story(
            T.REFUND_ONLY,
            "not_received",
            "shipped",
            [
                (m, svc.counter_offer, {"amount": 7_000}, 4),
                ("deadline", None, {}, DK.BUYER_OFFER_RESPONSE),
            ],
        ),
        Story(
            T.REFUND_ONLY,
            "defect",
            "signed",
            [
                (
                    m,
                    svc.reject,
                    {"refusal_code": "no_quality_issue", "evidence": [EvidenceKind.QC_RECORD]},
                    6,
                )
            ],
        ),
        # refund only, where the merchant asks for the goods back in a counter-offer (R5.2)
        Story(T.REFUND_ONLY, "defect", "signed", offer_back),
        Story(T.REFUND_ONLY, "defect", "signed", [*offer_back, (b, svc.ship_return, "SF", 8)]),
        Story(T.REFUND_ONLY, "defect", "signed", [*offer_back, *ship_back]),
        Story(
            T.REFUND_ONLY,
            "defect",
            "signed",
            [*offer_back, *ship_back, (m, svc.confirm_receipt, {}, 2)],
        ),
        # return and refund (R2.3, R5)
        Story(T.RETURN_REFUND, "changed_mind", "signed", []),
        Story(
            T.RETURN_REFUND,
            "size_colour_mismatch",
            "signed",
            [(m, svc.counter_offer, {"amount": 9_000, "return_required": True}, 3)],
        ),
        Story(T.RETURN_REFUND, "changed_mind", "signed", [(m, svc.approve_return, {}, 1)]),
        Story(
            T.RETURN_REFUND,
            "changed_mind",
            "signed",
            [(m, svc.approve_return, {}, 1), (b, svc.ship_return, "SF", 20)],
        ),
        Story(T.RETURN_REFUND, "defect", "signed", back),
        Story(T.RETURN_REFUND, "defect", "signed", [*back, (m, svc.confirm_receipt, {}, 3)]),
        Story(
            T.RETURN_REFUND,
            "not_as_described",
            "signed",
            [*back, (m, svc.confirm_receipt, {}, 3), (m, svc.refund, {}, 0.5)],
        ),
        Story(
            T.RETURN_REFUND,
            "changed_mind",
            "signed",
            [*back, ("deadline", None, {}, DK.MERCHANT_RECEIPT)],
        ),
        Story(
            T.RETURN_REFUND,
            "changed_mind",
            "signed",
            [*back, (m, svc.refuse_refund, {"refusal_code": "returned_goods_damaged", **proof}, 5)],
        ),
        Story(
            T.RETURN_REFUND,
            "changed_mind",
            "signed",
            [
                (
                    m,
                    svc.reject,
                    {"refusal_code": "outside_no_reason_scope", "evidence": [EvidenceKind.PHOTO]},
                    2,
                ),
                (b, svc.resubmit, {"reason": "defect", "description": "stitching came apart"}, 5),
            ],
        ),
        Story(
            T.RETURN_REFUND,
            "changed_mind",
            "signed",
            [(m, svc.approve_return, {}, 1), ("deadline", None, {}, DK.RETURN_SHIPMENT)],
        ),
        # express refund after shipment (R7): the platform advances, then recovers (R7.2)
        Story(
            T.RETURN_REFUND,
            "changed_mind",
            "signed",
            [
                (m, svc.approve_return, {}, 1),
                (b, svc.ship_return, "SF", 2),
                (p, money.advance, {}, 0.01),
                (c, svc.return_delivered, {}, 30),
                (m, svc.confirm_receipt, {}, 2),
                (m, svc.refund, {}, 0.5),
            ],
        ),
        Story(
            T.RETURN_REFUND,
            "changed_mind",
            "signed",
            [
                (m, svc.approve_return, {}, 1),
                (b, svc.ship_return, "SF", 2),
                (p, money.advance, {}, 0.01),
                (c, svc.return_delivered, {}, 30),
                (m, svc.refuse_refund, {"refusal_code": "returned_goods_damaged", **proof}, 5),
                (p, money.recover_advance, {}, 24),
            ],
        ),
        # return freight (R16.3): merchant-side reason, the shop pays it back with the refund
        Story(
            T.RETURN_REFUND,
            "defect",
            "signed",
            [
                (m, svc.approve_return, {}, 1),
                (b, svc.ship_return, "SF+freight", 5),
                (c, svc.return_delivered, {}, 30),
                (m, svc.confirm_receipt, {}, 2),
                (m, svc.refund, {}, 0.5),
            ],
        ),
        # no-reason return of an insured order: the shipping insurance pays the freight
        Story(
            T.RETURN_REFUND,
            "changed_mind",
            "signed",
            [
                (m, svc.approve_return, {}, 1),
                (b, svc.ship_return, "SF+freight", 5),
                (c, svc.return_delivered, {}, 30),
                (m, svc.refund, {}, 0.5),
            ],
            "plain",
            True,
        ),
        Story(T.EXCHANGE, "size_colour_mismatch", "signed", []),
        Story(T.EXCHANGE, "size_colour_mismatch", "signed", [(m, svc.approve_return, {}, 2)]),
        Story(T.EXCHANGE, "size_colour_mismatch", "signed", back[:2]),
        Story(T.EXCHANGE, "defect", "signed", [*back, (m, svc.confirm_receipt, {}, 2)]),
        Story(
            T.EXCHANGE,
            "defect",
            "signed",
            [*back, (m, svc.confirm_receipt, {}, 2), (m, svc.ship_replacement, "SF", 4)],
        ),
        Story(
            T.EXCHANGE,
            "defect",
            "signed",
            [
                *back,
                (m, svc.confirm_receipt, {}, 2),
                (m, svc.ship_replacement, "SF", 4),
                (b, svc.confirm_replacement, {}, 50),
            ],
        ),
        Story(
            T.EXCHANGE,
            "size_colour_mismatch",
            "signed",
            [*back, ("deadline", None, {}, DK.MERCHANT_RECEIPT)],
        ),
        Story(T.EXCHANGE, "size_colour_mismatch", "signed", back),
        Story(
            T.EXCHANGE,
            "size_colour_mismatch",
            "signed",
            [(m, svc.counter_offer, {"amount": 2_000, "note": "keep it, take 20 back"}, 3)],
        ),
        Story(
            T.EXCHANGE,
            "changed_mind",
            "signed",
            [
                (
                    m,
                    svc.reject,
                    {"refusal_code": "unsealed_hygiene_goods", "evidence": [EvidenceKind.PHOTO]},
                    4,
                )
            ],
            "seal_sensitive",
        ),
        Story(T.EXCHANGE, "size_colour_mismatch", "signed", [(b, svc.cancel, {}, 2)]),
        # reship (R2.5)
        Story(T.RESHIP, "missing_item", "signed", []),
        Story(T.RESHIP, "missing_item", "signed", [(m, svc.approve_reship, {}, 1)]),
        Story(
            T.RESHIP,
            "missing_item",
            "signed",
            [(m, svc.approve_reship, {}, 1), (m, svc.ship_replacement, "SF", 6)],
        ),
        Story(
            T.RESHIP,
            "missing_item",
            "signed",
            [
                (m, svc.approve_reship, {}, 1),
                (m, svc.ship_replacement, "SF", 6),
                ("deadline", None, {}, DK.REPLACEMENT_CONFIRM),
            ],
        ),
        Story(T.RESHIP, "wrong_item", "signed", [(b, svc.cancel, {}, 1)]),
        Story(
            T.RESHIP,
            "missing_item",
            "signed",
            [(m, svc.counter_offer, {"amount": 1_500, "note": "refund the missing strap"}, 2)],
        ),
        Story(
            T.RESHIP,
            "missing_item",
            "signed",
            [(m, svc.counter_offer, {"amount": 1_500}, 2), (b, svc.accept_offer, {}, 1)],
        ),
        Story(
            T.RESHIP,
            "missing_item",
            "signed",
            [
                (
                    m,
                    svc.reject,
                    {"refusal_code": "buyer_agreed_to_cancel", "evidence": [EvidenceKind.CHAT_LOG]},
                    5,
                )
            ],
        ),
        # R16.1: the order's parcel comes back to the merchant; the refund waits for it
        Story(T.REFUND_UNSHIPPED, "ordered_by_mistake", "paid", [(c, parcel_back, {}, 2)]),
        Story(
            T.REFUND_ONLY,
            "not_received",
            "shipped",
            [(c, parcel_back, {"status": "delivery_failed"}, 3)],
        ),
    ]
    return stories


def parcel_back(ctx: Context, actor: Actor, number: str, status: str = "refused") -> None:
    """R16.1: the order system records the parcel (dispatched an hour ago, e.g. after a
    refund request before shipment), then the carrier reports it refused or undeliverable."""

    order_number = svc.get_case(ctx, Actor.platform("demo"), number).order_number
    tracking = sf_tracking()
    now = ctx.now()
    orders.record_fulfilment(
        ctx,
        Actor.system("order-system"),
        order_number,
        shipped_at=now - timedelta(hours=1),
        carrier=str(tracking["carrier"]),
        tracking_number=str(tracking["tracking_number"]),
    )
    logistics.record_event(
        ctx,
        actor,
        carrier=str(tracking["carrier"]),
        tracking_number=str(tracking["tracking_number"]),
        status=ParcelStatus(status),
        occurred_at=now,
    )
