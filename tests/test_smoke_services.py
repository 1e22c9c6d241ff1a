from aftersales.domain.case_types import State
from aftersales.services import cases as svc
from tests.factories import make_world


def test_R5_3_return_refund_happy_path(ctx):
    w = make_world(ctx)
    number = w.open()
    svc.approve_return(ctx, w.merchant, number)
    svc.ship_return(ctx, w.buyer, number, carrier="SF", tracking_number="SF1234567890123")
    svc.confirm_receipt(ctx, w.merchant, number)
    case = svc.refund(ctx, w.merchant, number)
    assert case.state is State.REFUNDED
    view = svc.get_case(ctx, w.merchant, number)
    assert [e.action for e in view.timeline] == [
        "open",
        "approve_return",
        "ship_return",
        "confirm_receipt",
        "refund",
    ]
    assert view.refunds[0].amount == 10_000
