"""R16.3: the buyer's return freight follows the refund, paid by whoever the reason makes
liable; a claim above the profile's cap is refused."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from aftersales.domain.errors import ValidationFailed
from aftersales.services import cases as svc
from aftersales.services.actors import Actor
from aftersales.store.schema import ledger_entries
from tests.factories import make_world

_seq = itertools.count(7_000)


def _kinds(ctx, number: str) -> list[str]:
    with ctx.db.read() as conn:
        from aftersales.store import cases as case_store

        case = case_store.load_case(conn, number)
        rows = conn.execute(
            select(ledger_entries.c.kind)
            .where(ledger_entries.c.case_id == case.id)
            .order_by(ledger_entries.c.id)
        )
        return [r.kind for r in rows]


def _return(ctx, w, number: str, freight: int) -> None:
    svc.approve_return(ctx, w.merchant, number)
    svc.ship_return(
        ctx,
        w.buyer,
        number,
        carrier="SF",
        tracking_number=f"SF{1_000_000_000_000 + next(_seq)}",
        freight=freight,
    )
    svc.return_delivered(ctx, Actor.carrier(), number)
    svc.refund(ctx, w.merchant, number)


def _cap(ctx) -> int:
    return ctx.profiles.current["douyin"].money.max_return_freight


def test_R16_3_merchant_side_reason_the_shop_pays_the_return_freight(ctx):
    w = make_world(ctx)
    number = w.open(reason="defect")
    _return(ctx, w, number, _cap(ctx))
    assert _kinds(ctx, number) == ["return_freight", "refund"]


def test_R16_3_no_reason_on_an_insured_order_the_insurer_pays(ctx):
    w = make_world(ctx)
    order = w.order()
    with ctx.db.write() as conn:  # the order system pushed it with shipping insurance
        from sqlalchemy import update

        from aftersales.store.schema import orders

        conn.execute(update(orders).where(orders.c.number == order).values(shipping_insurance=True))
    number = w.open(reason="changed_mind", order=order)
    _return(ctx, w, number, 800)
    assert _kinds(ctx, number) == ["insurance_payout", "refund"]


def test_R16_3_no_reason_without_insurance_the_buyer_bears_the_freight(ctx):
    w = make_world(ctx)
    number = w.open(reason="changed_mind")
    _return(ctx, w, number, 800)
    assert _kinds(ctx, number) == ["refund"]


def test_R16_3_freight_above_the_profile_cap_is_refused(ctx):
    w = make_world(ctx)
    number = w.open(reason="defect")
    svc.approve_return(ctx, w.merchant, number)
    with pytest.raises(ValidationFailed) as err:
        svc.ship_return(
            ctx,
            w.buyer,
            number,
            carrier="SF",
            tracking_number="SF1234567890123",
            freight=_cap(ctx) + 1,
        )
    assert (err.value.rule, err.value.params["field"]) == ("R16.3", "freight")
    assert svc.get_case(ctx, w.merchant, number).case.state.value == "awaiting_return"
