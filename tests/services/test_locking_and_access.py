"""Optimistic locking (a stale version gets Conflict) and who may see and act on a case
(R1): a case the actor may not see answers NotFound; a wrong party gets Forbidden."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from aftersales.domain.case_types import CaseType, State
from aftersales.domain.errors import Conflict, Forbidden, NotFound
from aftersales.services import cases as svc
from aftersales.services.actors import Actor
from aftersales.store.schema import cases as cases_table
from tests.factories import make_world
from tests.services.support import snapshot, view


# --------------------------------------------------------------------------- locking
def test_a_stale_expected_version_is_a_conflict_and_changes_nothing(ctx):
    w = make_world(ctx)
    number = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    read = svc.get_case(ctx, w.merchant, number).case.version
    svc.edit_request(ctx, w.buyer, number, description="more photos", expected_version=read)
    before = snapshot(ctx, number)
    assert before["version"] == read + 1

    with pytest.raises(Conflict):
        svc.approve_return(ctx, w.merchant, number, expected_version=read)
    with pytest.raises(Conflict):
        svc.cancel(ctx, w.buyer, number, expected_version=read)
    assert snapshot(ctx, number) == before

    case = svc.approve_return(ctx, w.merchant, number, expected_version=read + 1)
    assert (case.state, case.version) == (State.AWAITING_RETURN, read + 2)
    assert len(view(ctx, number).timeline) == len(before["timeline"]) + 1


def test_R5_2_a_stale_counter_offer_acceptance_is_a_conflict(ctx):
    w = make_world(ctx)
    number = w.open(type=CaseType.REFUND_ONLY, reason="not_received", signed_ago=None)
    offered = svc.counter_offer(ctx, w.merchant, number, amount=5_000)
    # The buyer edits (back to the merchant), the merchant offers again; an acceptance
    # based on the first offer must not go through.
    svc.edit_request(ctx, w.buyer, number, amount=9_000)
    svc.counter_offer(ctx, w.merchant, number, amount=4_000)
    before = snapshot(ctx, number)
    with pytest.raises(Conflict):
        svc.accept_offer(ctx, w.buyer, number, expected_version=offered.version)
    assert snapshot(ctx, number) == before


# --------------------------------------------------------------------------- visibility
def test_R1_another_buyer_cannot_see_or_act_on_the_case(ctx):
    w = make_world(ctx)
    number = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    stranger = Actor.buyer(w.other_buyer_id)
    before = snapshot(ctx, number)

    with pytest.raises(NotFound) as seen:
        svc.get_case(ctx, stranger, number)
    with pytest.raises(NotFound) as missing:
        svc.get_case(ctx, stranger, "AS00000000000000")
    # Indistinguishable from a case that does not exist.
    assert seen.value.code == missing.value.code == "case.not_found"
    with pytest.raises(NotFound):
        svc.cancel(ctx, stranger, number)
    with pytest.raises(NotFound):
        svc.edit_request(ctx, stranger, number, description="mine now")
    assert snapshot(ctx, number) == before


def test_R1_another_buyer_cannot_open_a_request_on_the_order(ctx):
    w = make_world(ctx)
    order = w.order()
    with pytest.raises(NotFound):
        svc.open_case(
            ctx,
            Actor.buyer(w.other_buyer_id),
            order_number=order,
            type=CaseType.RETURN_REFUND,
            lines=[svc.LineRequest(w.line_id(order), 1)],
            reason="changed_mind",
            amount=10_000,
        )


def _case_count(ctx) -> int:
    with ctx.db.read() as conn:
        return conn.execute(select(func.count()).select_from(cases_table)).scalar_one()


def test_R2_a_merchant_opening_a_request_is_forbidden(ctx):
    """Only the buyer opens a request, even on an order of the merchant's own shop."""
    w = make_world(ctx)
    order = w.order()
    request = {
        "order_number": order,
        "type": CaseType.RETURN_REFUND,
        "lines": [svc.LineRequest(w.line_id(order), 1)],
        "reason": "changed_mind",
        "amount": 10_000,
    }
    with pytest.raises(Forbidden) as exc:
        svc.open_case(ctx, w.merchant, **request)
    assert (exc.value.code, exc.value.rule) == ("request.buyer_only", "R2")
    assert _case_count(ctx) == 0

    # The order's units are still free for the buyer's own request.
    case = svc.open_case(ctx, w.buyer, **request)
    assert case.state is State.AWAITING_MERCHANT
    assert _case_count(ctx) == 1


def test_R1_merchant_of_another_shop_gets_not_found(ctx):
    w = make_world(ctx)
    number = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    other = Actor.merchant(w.other_shop_id)
    before = snapshot(ctx, number)

    with pytest.raises(NotFound):
        svc.get_case(ctx, other, number)
    with pytest.raises(NotFound):
        svc.approve_return(ctx, other, number)
    with pytest.raises(NotFound):
        svc.approve_refund(ctx, other, number)
    with pytest.raises(NotFound):
        svc.reject(
            ctx,
            other,
            number,
            refusal_code="buyer_agreed_to_cancel",
            evidence_ids=[],
        )
    assert snapshot(ctx, number) == before


MERCHANT_ACTIONS = {
    "approve_refund": lambda ctx, a, n: svc.approve_refund(ctx, a, n),
    "approve_return": lambda ctx, a, n: svc.approve_return(ctx, a, n),
    "counter_offer": lambda ctx, a, n: svc.counter_offer(ctx, a, n, amount=1_000),
    "reject": lambda ctx, a, n: svc.reject(ctx, a, n, refusal_code="buyer_agreed_to_cancel"),
}


@pytest.mark.parametrize("action", sorted(MERCHANT_ACTIONS))
def test_R1_a_buyer_taking_a_merchant_action_is_forbidden(ctx, action):
    w = make_world(ctx)
    number = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    before = snapshot(ctx, number)
    with pytest.raises(Forbidden) as exc:
        MERCHANT_ACTIONS[action](ctx, w.buyer, number)
    assert exc.value.code == "transition.wrong_actor"
    assert snapshot(ctx, number) == before


def test_R1_parties_cannot_take_each_others_or_the_carriers_actions(ctx):
    w = make_world(ctx)
    number = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    before = snapshot(ctx, number)
    with pytest.raises(Forbidden):
        svc.cancel(ctx, w.merchant, number)  # the buyer withdraws, not the merchant
    assert snapshot(ctx, number) == before

    svc.approve_return(ctx, w.merchant, number)
    svc.ship_return(ctx, w.buyer, number, carrier="SF", tracking_number="SF3000000000001")
    before = snapshot(ctx, number)
    with pytest.raises(Forbidden):
        svc.return_delivered(ctx, w.buyer, number)  # only the carrier reports delivery
    with pytest.raises(Forbidden):
        svc.return_delivered(ctx, w.merchant, number)
    assert snapshot(ctx, number) == before
