"""R5.3: a return tracking number must pass the carrier format and not be used on another
case; a refused upload changes nothing."""

from __future__ import annotations

import pytest

from aftersales.domain.case_types import CaseType, State
from aftersales.domain.errors import IllegalTransition, ValidationFailed
from aftersales.services import cases as svc
from tests.factories import make_world
from tests.services.support import CARRIER, snapshot


def _awaiting_return(ctx, w, case_type=CaseType.RETURN_REFUND, reason="changed_mind") -> str:
    number = w.open(type=case_type, reason=reason)
    svc.approve_return(ctx, w.merchant, number)
    return number


@pytest.mark.parametrize("reused_as", ["SF4000000000001", "sf-4000 0000 00001"])
def test_R5_3_a_tracking_number_used_on_another_case_is_refused(ctx, reused_as):
    w = make_world(ctx)
    first = _awaiting_return(ctx, w)
    second = _awaiting_return(ctx, w)
    svc.ship_return(ctx, w.buyer, first, carrier="SF", tracking_number="SF4000000000001")
    before = snapshot(ctx, second)

    with pytest.raises(IllegalTransition) as exc:
        svc.ship_return(ctx, w.buyer, second, carrier="SF", tracking_number=reused_as)
    assert exc.value.rule == "R5.3"
    assert exc.value.code == "tracking.reused"
    assert snapshot(ctx, second) == before
    assert before["return_shipment"] is None

    case = svc.ship_return(ctx, w.buyer, second, carrier="SF", tracking_number="SF4000000000002")
    assert case.state is State.RETURN_SHIPPED


def test_R5_3_a_replacement_cannot_reuse_another_cases_return_number(ctx):
    w = make_world(ctx)
    returned = _awaiting_return(ctx, w)
    svc.ship_return(ctx, w.buyer, returned, carrier="YTO", tracking_number="YT4000000000003")
    exchange = _awaiting_return(ctx, w, CaseType.EXCHANGE, "size_colour_mismatch")
    svc.ship_return(ctx, w.buyer, exchange, carrier="SF", tracking_number="SF4000000000004")
    svc.return_delivered(ctx, CARRIER, exchange)
    svc.confirm_receipt(ctx, w.merchant, exchange)
    before = snapshot(ctx, exchange)

    with pytest.raises(IllegalTransition) as exc:
        svc.ship_replacement(
            ctx, w.merchant, exchange, carrier="YTO", tracking_number="YT4000000000003"
        )
    assert exc.value.rule == "R5.3"
    assert snapshot(ctx, exchange) == before


def test_R5_3_one_number_cannot_carry_both_the_return_and_the_replacement(ctx):
    """The same case is not 'another case' for the guard; the unique key still refuses."""
    w = make_world(ctx)
    exchange = _awaiting_return(ctx, w, CaseType.EXCHANGE, "size_colour_mismatch")
    svc.ship_return(ctx, w.buyer, exchange, carrier="SF", tracking_number="SF4000000000005")
    svc.return_delivered(ctx, CARRIER, exchange)
    svc.confirm_receipt(ctx, w.merchant, exchange)
    before = snapshot(ctx, exchange)

    with pytest.raises(IllegalTransition) as exc:
        svc.ship_replacement(
            ctx, w.merchant, exchange, carrier="SF", tracking_number="SF4000000000005"
        )
    assert exc.value.rule == "R5.3"
    assert snapshot(ctx, exchange) == before


@pytest.mark.parametrize(
    ("carrier", "number", "field"),
    [
        ("SF", "SF123", "tracking_number"),
        ("SF", "YT4000000000006", "tracking_number"),
        ("ZTO", "not-a-number", "tracking_number"),
        ("NOPE", "SF4000000000006", "carrier"),
    ],
)
def test_R5_3_a_malformed_tracking_number_is_refused_naming_the_field(ctx, carrier, number, field):
    w = make_world(ctx)
    case_number = _awaiting_return(ctx, w)
    before = snapshot(ctx, case_number)
    with pytest.raises(ValidationFailed) as exc:
        svc.ship_return(ctx, w.buyer, case_number, carrier=carrier, tracking_number=number)
    assert exc.value.rule == "R5.3"
    assert exc.value.params["field"] == field
    assert snapshot(ctx, case_number) == before
