"""R5.2: a refund never exceeds what was paid for the lines (plus refundable freight), and
all cases of one order together never refund more than the order; R2: units already on a
live case cannot be requested again."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from aftersales.domain.case import CaseLine, RefundDecision
from aftersales.domain.case_types import ActorKind, CaseType, State
from aftersales.domain.errors import ValidationFailed
from aftersales.domain.money import Money
from aftersales.services import cases as svc
from aftersales.store import cases as case_store
from aftersales.store.schema import cases, refund_decisions
from tests.factories import make_world
from tests.services.support import handling, snapshot, view

PAID = 10_000
FREIGHT = 800


def _case_count(ctx) -> int:
    with ctx.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(cases)).scalar_one())


def _refunded_on(ctx, order_id: int) -> int:
    with ctx.db.read() as conn:
        q = select(func.coalesce(func.sum(refund_decisions.c.amount), 0)).where(
            refund_decisions.c.order_id == order_id
        )
        return int(conn.execute(q).scalar_one())


@pytest.mark.parametrize(
    ("case_type", "reason", "order_kw", "freight_counts"),
    [
        # Not shipped, whole order: freight comes back where the profile says so.
        (CaseType.REFUND_UNSHIPPED, "no_longer_needed", {"shipped": False}, True),
        # Merchant-side reason, whole order: freight too.
        (CaseType.REFUND_ONLY, "not_received", {"signed_ago": None}, True),
        # No-reason return: the buyer's freight is not refunded.
        (CaseType.RETURN_REFUND, "changed_mind", {}, False),
    ],
)
def test_R5_2_a_request_above_what_was_paid_is_refused_at_open(
    ctx, case_type, reason, order_kw, freight_counts
):
    w = make_world(ctx)
    order = w.order(**order_kw)
    cap = PAID + (FREIGHT if freight_counts and handling(ctx).freight_refundable else 0)
    opened = _case_count(ctx)

    with pytest.raises(ValidationFailed) as exc:
        w.open(type=case_type, reason=reason, amount=cap + 1, order=order)
    assert exc.value.rule == "R5.2"
    assert exc.value.code == "amount.exceeds_paid"
    assert _case_count(ctx) == opened

    number = w.open(type=case_type, reason=reason, amount=cap, order=order)
    assert view(ctx, number).case.requested.amount == cap


def test_R5_2_approve_refund_above_what_was_paid_is_refused(ctx):
    w = make_world(ctx)
    number = w.open(type=CaseType.REFUND_ONLY, reason="not_received", amount=5_000, signed_ago=None)
    cap = PAID + (FREIGHT if handling(ctx).freight_refundable else 0)
    before = snapshot(ctx, number)

    with pytest.raises(ValidationFailed) as exc:
        svc.approve_refund(ctx, w.merchant, number, amount=cap + 1)
    assert exc.value.rule == "R5.2"
    assert snapshot(ctx, number) == before

    case = svc.approve_refund(ctx, w.merchant, number, amount=cap)
    assert case.state is State.REFUNDED
    assert [r.amount for r in view(ctx, number).refunds] == [cap]


def test_R5_2_a_second_case_on_the_order_is_capped_by_what_was_already_refunded(ctx):
    w = make_world(ctx)
    order = w.order(quantity=2, unit_price=PAID)  # paid 2 * PAID + FREIGHT
    total = 2 * PAID + FREIGHT
    first = w.open(type=CaseType.REFUND_ONLY, reason="defect", order=order, amount=PAID)
    svc.approve_refund(ctx, w.merchant, first)
    first_case = view(ctx, first).case
    # A further decision on the first case (e.g. compensation recorded by the ledger seam)
    # leaves less of the order to refund than the second unit's price.
    extra = 6_000
    with ctx.db.write() as conn:
        case_store.insert_refund_decision(
            conn,
            first_case.id,
            first_case.order_id,
            RefundDecision(first_case.lines, Money(extra, "CNY"), "defect", "R5.2", ctx.now()),
            ActorKind.MERCHANT,
            w.merchant.id,
        )
    remaining = total - PAID - extra
    assert remaining < PAID

    with pytest.raises(ValidationFailed) as exc:
        w.open(type=CaseType.REFUND_ONLY, reason="defect", order=order, amount=remaining + 1)
    assert exc.value.rule == "R5.2"
    assert exc.value.params["cap"] == Money(remaining, "CNY").format()

    second = w.open(type=CaseType.REFUND_ONLY, reason="defect", order=order, amount=remaining)
    before = snapshot(ctx, second)
    with pytest.raises(ValidationFailed) as exc:
        svc.approve_refund(ctx, w.merchant, second, amount=remaining + 1)
    assert exc.value.rule == "R5.2"
    assert snapshot(ctx, second) == before

    svc.approve_refund(ctx, w.merchant, second)
    assert [r.amount for r in view(ctx, second).refunds] == [remaining]
    assert _refunded_on(ctx, first_case.order_id) == total


def test_R2_units_on_a_live_case_cannot_be_requested_again(ctx):
    w = make_world(ctx)
    order = w.order(quantity=2, unit_price=PAID)
    first = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind", order=order, quantity=1)
    w.open(type=CaseType.EXCHANGE, reason="defect", order=order, quantity=1)
    opened = _case_count(ctx)

    with pytest.raises(ValidationFailed) as exc:
        w.open(type=CaseType.RETURN_REFUND, reason="changed_mind", order=order, quantity=1)
    assert exc.value.rule == "R2"
    assert exc.value.code == "request.bad_quantity"
    assert exc.value.params["field"] == "lines"
    assert exc.value.params["free"] == 0
    assert _case_count(ctx) == opened

    # A withdrawn (closed) request frees its units.
    svc.cancel(ctx, w.buyer, first)
    third = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind", order=order, quantity=1)
    assert view(ctx, third).case.lines == (CaseLine(w.line_id(order), 1),)


def test_R2_a_refunded_case_still_holds_its_units(ctx):
    w = make_world(ctx)
    order = w.order(signed_ago=None)
    number = w.open(type=CaseType.REFUND_ONLY, reason="not_received", order=order)
    svc.approve_refund(ctx, w.merchant, number)
    with pytest.raises(ValidationFailed) as exc:
        w.open(type=CaseType.REFUND_ONLY, reason="not_received", order=order, amount=1)
    assert exc.value.rule == "R2"
