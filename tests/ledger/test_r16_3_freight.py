"""R16.3 freight, clause by clause, with the ledger balances that result: merchant-side
reasons -> the merchant pays both ways; no-reason -> the buyer pays the return; no-reason
on an insured order -> the insurer compensates the buyer."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import update

from aftersales.domain import ledger as L
from aftersales.domain.errors import ValidationFailed
from aftersales.services import cases as svc
from aftersales.services.actors import Actor
from aftersales.store.schema import orders
from tests.factories import World, make_world
from tests.ledger.helpers import CNY, balance, buyer, invariant_problems, settlement

PRICE, FREIGHT, RETURN_FREIGHT = 10_000, 800, 1_200
_seq = itertools.count(8_000)

INSURER = L.AccountRef(L.Party.INSURER, 0, L.Purpose.SHIPPING_INSURANCE, CNY)


def _returned_and_refunded(ctx, w: World, number: str) -> None:
    svc.approve_return(ctx, w.merchant, number)
    svc.ship_return(
        ctx,
        w.buyer,
        number,
        carrier="SF",
        tracking_number=f"SF{1_200_000_000_000 + next(_seq)}",
        freight=RETURN_FREIGHT,
    )
    svc.return_delivered(ctx, Actor.carrier(), number)
    svc.refund(ctx, w.merchant, number)


def _insure(ctx, order: str) -> None:
    with ctx.db.write() as conn:  # the order system pushed it with shipping insurance 运费险
        conn.execute(update(orders).where(orders.c.number == order).values(shipping_insurance=True))


def test_R16_3_merchant_side_reason_the_merchant_pays_freight_both_ways(ctx):
    w = make_world(ctx)
    order = w.order(unit_price=PRICE, freight=FREIGHT)
    # the buyer asks for the goods and the outbound freight back (whole order, defect)
    number = w.open(reason="defect", order=order, amount=PRICE + FREIGHT)

    _returned_and_refunded(ctx, w, number)

    assert balance(ctx, buyer(w.buyer_id)) == PRICE + FREIGHT + RETURN_FREIGHT
    # the shop received PRICE + FREIGHT and paid back both legs of freight
    assert balance(ctx, settlement(w.shop_id)) == -RETURN_FREIGHT
    assert balance(ctx, INSURER) == 0
    assert invariant_problems(ctx) == []


def test_R16_3_no_reason_the_buyer_pays_the_return_freight(ctx):
    w = make_world(ctx)
    order = w.order(unit_price=PRICE, freight=FREIGHT)
    # R16.3/R5.2: the outbound freight is not refundable on a no-reason return
    with pytest.raises(ValidationFailed) as err:
        w.open(reason="changed_mind", order=order, amount=PRICE + FREIGHT)
    assert err.value.rule == "R5.2"
    number = w.open(reason="changed_mind", order=order, amount=PRICE)

    _returned_and_refunded(ctx, w, number)

    assert balance(ctx, buyer(w.buyer_id)) == PRICE  # the return postage stays the buyer's
    assert balance(ctx, settlement(w.shop_id)) == FREIGHT
    assert balance(ctx, INSURER) == 0
    assert invariant_problems(ctx) == []


def test_R16_3_no_reason_with_shipping_insurance_the_insurer_compensates_the_buyer(ctx):
    w = make_world(ctx)
    order = w.order(unit_price=PRICE, freight=FREIGHT)
    _insure(ctx, order)
    number = w.open(reason="changed_mind", order=order, amount=PRICE)

    _returned_and_refunded(ctx, w, number)

    assert balance(ctx, buyer(w.buyer_id)) == PRICE + RETURN_FREIGHT
    assert balance(ctx, INSURER) == -RETURN_FREIGHT
    assert balance(ctx, settlement(w.shop_id)) == FREIGHT  # the shop pays no freight
    assert invariant_problems(ctx) == []


def test_R16_3_a_merchant_side_reason_on_an_insured_order_is_still_the_merchants(ctx):
    """Shipping insurance covers no-reason returns only: a defect stays the shop's."""
    w = make_world(ctx)
    order = w.order(unit_price=PRICE, freight=FREIGHT)
    _insure(ctx, order)
    number = w.open(reason="defect", order=order, amount=PRICE)

    _returned_and_refunded(ctx, w, number)

    assert balance(ctx, buyer(w.buyer_id)) == PRICE + RETURN_FREIGHT
    assert balance(ctx, INSURER) == 0
    assert balance(ctx, settlement(w.shop_id)) == FREIGHT - RETURN_FREIGHT
