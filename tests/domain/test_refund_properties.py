"""R5.2 properties: a refund never exceeds what was paid, for any order and request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aftersales.domain import machine
from aftersales.domain.case import CaseLine, Command
from aftersales.domain.case_types import Action, ActorKind, CaseType, State
from aftersales.domain.catalog import Order
from aftersales.domain.errors import DomainError
from aftersales.domain.money import Money
from aftersales.domain.reasons import REASONS

if TYPE_CHECKING:
    from tests.domain.conftest import Builder

PROPERTY = settings(max_examples=150, deadline=None, derandomize=True, database=None)
MONEY_TYPES = [CaseType.REFUND_UNSHIPPED, CaseType.REFUND_ONLY, CaseType.RETURN_REFUND]


@dataclass(frozen=True)
class Spec:
    """One drawn order (lines as (quantity, unit price, paid)), a request on it, and the
    refunds other cases already made on the order."""

    lines: tuple[tuple[int, int, int], ...]
    freight: int
    requested_qty: tuple[int, ...]
    case_type: CaseType
    reason_code: str
    refunded_share: float  # a fraction of the total, to reach both ends of the range


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    n = draw(st.integers(1, 3))
    lines = []
    for _ in range(n):
        qty = draw(st.integers(1, 5))
        unit = draw(st.integers(1, 500_000))
        paid = draw(st.integers(1, unit * qty))  # after discounts
        lines.append((qty, unit, paid))
    requested = tuple(draw(st.integers(0, q)) for q, _, _ in lines)
    if not any(requested):
        requested = (lines[0][0], *requested[1:])
    return Spec(
        lines=tuple(lines),
        freight=draw(st.integers(0, 3_000)),
        requested_qty=requested,
        case_type=draw(st.sampled_from(MONEY_TYPES)),
        reason_code=draw(st.sampled_from(sorted(REASONS))),
        refunded_share=draw(st.sampled_from([0.0, 0.0, 0.25, 0.5, 0.9, 1.0])),
    )


def realise(b: Builder, spec: Spec) -> tuple[Order, tuple[CaseLine, ...], Money]:
    order_lines = [
        b.line(i + 1, b.product(i + 1, f"商品 {i + 1}"), quantity=q, unit_price=u, paid=p)
        for i, (q, u, p) in enumerate(spec.lines)
    ]
    order = b.order_for(spec.case_type, lines=order_lines, freight=spec.freight)
    case_lines = tuple(CaseLine(i + 1, q) for i, q in enumerate(spec.requested_qty) if q)
    already = b.money(int(order.total_paid.amount * spec.refunded_share))
    return order, case_lines, already


@pytest.fixture(scope="session", params=["douyin", "tiktok"])
def any_build(request: pytest.FixtureRequest) -> Builder:
    return request.getfixturevalue("build" if request.param == "douyin" else "build_tiktok")


@PROPERTY
@given(spec=specs())
def test_R5_2_max_refundable_never_exceeds_what_remains_paid(
    any_build: Builder, spec: Spec
) -> None:
    b = any_build
    order, lines, already = realise(b, spec)
    cap = machine.max_refundable(order, lines, spec.case_type, spec.reason_code, b.profile, already)

    assert cap.currency == order.currency
    assert cap <= order.total_paid - already
    assert cap.amount >= 0
    lines_paid = sum(
        (order.line(cl.order_line_id).paid_for(cl.quantity) for cl in lines),  # type: ignore[union-attr]
        b.money(0),
    )
    assert cap <= lines_paid + order.freight
    whole = all(q == ol.quantity for q, ol in zip(spec.requested_qty, order.lines, strict=True))
    if not whole:
        assert cap <= lines_paid  # freight only with the whole order
    if already.amount == 0 and not whole:
        assert cap == lines_paid


@PROPERTY
@given(spec=specs(), data=st.data())
def test_R5_2_approve_refund_accepts_exactly_amounts_up_to_the_cap(
    any_build: Builder, spec: Spec, data: st.DataObject
) -> None:
    b = any_build
    order, lines, already = realise(b, spec)
    facts = b.facts(order, already_refunded=already.amount)
    cap = machine.max_refundable(
        order, lines, spec.case_type, spec.reason_code, b.profile, already
    ).amount
    case = b.case(
        spec.case_type,
        State.AWAITING_MERCHANT,
        order=order,
        lines=lines,
        reason_code=spec.reason_code,
        requested=max(cap, 1),
    )
    amount = data.draw(
        st.one_of(
            st.integers(-3, 3),
            st.integers(cap - 3, cap + 3),
            st.integers(-10, cap + 10),
        ),
        label="amount",
    )
    cmd = Command(Action.APPROVE_REFUND, ActorKind.MERCHANT, amount=b.money(amount))

    if 1 <= amount <= cap:
        out = machine.apply(case, cmd, facts, b.profile, b.now)
        assert out.to_state is State.REFUNDED
        assert out.refund is not None and out.refund.amount == b.money(amount)
    else:
        with pytest.raises(DomainError) as err:
            machine.apply(case, cmd, facts, b.profile, b.now)
        assert err.value.rule == "R5.2"


@PROPERTY
@given(
    qty=st.integers(1, 50),
    paid=st.integers(0, 10_000_000),
    cut=st.integers(0, 50),
)
def test_R5_2_splitting_a_line_never_pays_more_than_the_line(
    build: Builder, qty: int, paid: int, cut: int
) -> None:
    line = build.line(1, build.product(), quantity=qty, unit_price=max(paid // qty, 1), paid=paid)
    first = min(cut, qty)
    parts = line.paid_for(first) + line.paid_for(qty - first) if first else line.paid_for(qty)
    assert parts <= line.paid
    assert line.paid_for(qty) == line.paid
