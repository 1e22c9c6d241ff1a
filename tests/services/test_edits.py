"""R3.3: the first reason is frozen through edits; R5.6: edit limits (tiktok) and the
resubmit window after a refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftersales.domain.case_types import CaseType, State
from aftersales.domain.errors import IllegalTransition
from aftersales.domain.policy import EvidenceKind
from aftersales.services import cases as svc
from tests.evidence.proof import proof
from tests.factories import make_world
from tests.services.support import assert_timeline, handling, snapshot, view


def test_R3_3_first_reason_stays_frozen_through_edits(ctx):
    w = make_world(ctx)
    number = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    svc.edit_request(ctx, w.buyer, number, reason="defect", description="it is broken")
    case = svc.edit_request(ctx, w.buyer, number, reason="not_as_described", amount=9_000)

    assert (case.first_reason, case.reason, case.edits) == ("changed_mind", "not_as_described", 2)
    assert case.requested.amount == 9_000
    v = view(ctx, number)
    assert v.case.first_reason == "changed_mind"
    assert_timeline(
        v,
        [
            ("buyer", "open", "R4.1", None, "awaiting_merchant"),
            ("buyer", "edit_request", "R5.2", "awaiting_merchant", "awaiting_merchant"),
            ("buyer", "edit_request", "R5.2", "awaiting_merchant", "awaiting_merchant"),
        ],
    )
    first_edit, second_edit = v.timeline[1].changes, v.timeline[2].changes
    assert first_edit["reason"] == {"before": "changed_mind", "after": "defect"}
    assert second_edit["reason"] == {"before": "defect", "after": "not_as_described"}
    assert second_edit["requested"]["after"] == {"amount": 9_000, "currency": "CNY"}
    assert "first_reason" not in first_edit and "first_reason" not in second_edit

    # A refund decided later records the current reason; the case still knows the first.
    svc.approve_refund(ctx, w.merchant, number)
    v = view(ctx, number)
    assert [(r.reason, r.amount) for r in v.refunds] == [("not_as_described", 9_000)]
    assert v.case.first_reason == "changed_mind"


def test_R5_6_tiktok_refuses_an_edit_beyond_the_profile_limit(ctx):
    limit = handling(ctx, "tiktok").max_buyer_edits
    assert limit is not None
    w = make_world(ctx, profile_id="tiktok")
    number = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    for i in range(limit):
        svc.edit_request(ctx, w.buyer, number, description=f"edit {i + 1}")
    before = snapshot(ctx, number)
    assert before["edits"] == limit

    with pytest.raises(IllegalTransition) as exc:
        svc.edit_request(ctx, w.buyer, number, description="one edit too many")
    assert exc.value.rule == "R5.6"
    assert exc.value.code == "request.edit_limit"
    assert snapshot(ctx, number) == before


def test_R5_6_douyin_has_no_edit_limit(ctx):
    assert handling(ctx).max_buyer_edits is None
    tiktok_limit = handling(ctx, "tiktok").max_buyer_edits
    assert tiktok_limit is not None
    w = make_world(ctx)
    number = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    for i in range(tiktok_limit + 1):
        case = svc.edit_request(ctx, w.buyer, number, description=f"edit {i + 1}")
    assert case.edits == tiktok_limit + 1


@pytest.mark.parametrize("profile_id", ["douyin", "tiktok"])
def test_R5_6_resubmit_is_accepted_inside_the_window_and_refused_after_it(ctx, clock, profile_id):
    w = make_world(ctx, profile_id=profile_id)
    hours = handling(ctx, profile_id).resubmit_window_hours
    inside = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    late = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    for number in (inside, late):
        svc.reject(
            ctx,
            w.merchant,
            number,
            refusal_code="buyer_agreed_to_cancel",
            evidence_ids=proof(ctx, w.merchant, number, EvidenceKind.CHAT_LOG),
        )
    closes = clock.now + timedelta(hours=hours)

    clock.now = closes - timedelta(seconds=1)
    case = svc.resubmit(ctx, w.buyer, inside, reason="defect", description="it is broken")
    assert case.state is State.AWAITING_MERCHANT
    assert (case.first_reason, case.reason, case.refusal_code) == ("changed_mind", "defect", None)

    clock.now = closes  # the worker has not run yet: the guard alone refuses
    before = snapshot(ctx, late)
    with pytest.raises(IllegalTransition) as exc:
        svc.resubmit(ctx, w.buyer, late, description="too late")
    assert exc.value.rule == "R5.6"
    assert snapshot(ctx, late) == before
