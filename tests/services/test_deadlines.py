"""R5.1, R5.3, R5.4, R5.6: deadlines fired by the worker, once, on time, and only while
they still apply. Every number comes from the case's profile."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aftersales.domain.case_types import CaseType, State
from aftersales.domain.errors import IllegalTransition
from aftersales.domain.policy import EvidenceKind
from aftersales.jobs import deadlines as deadlines_mod
from aftersales.services import cases as svc
from tests.evidence.proof import proof
from tests.factories import make_world
from tests.roundtrips import count_roundtrips
from tests.services.support import (
    CARRIER,
    SHOP_RETURN_ADDRESS,
    deadline_statuses,
    handling,
    run_worker,
    snapshot,
    system_entries,
    view,
)

JUST = timedelta(seconds=1)


def _advance_to_just_before(clock, due) -> None:
    clock.now = due - JUST


def _assert_fired_once(ctx, number, action, rule) -> None:
    """Running the worker again fires nothing; exactly one timeout entry by the system."""
    again = run_worker(ctx)
    assert again.fired == 0 and again.failed == 0
    entries = system_entries(view(ctx, number))
    assert [(e.action, e.rule) for e in entries] == [(action, rule)]


# --------------------------------------------------------------------------- R5.1
@pytest.mark.parametrize(
    ("case_type", "reason", "order_kw"),
    [
        (CaseType.REFUND_UNSHIPPED, "no_longer_needed", {"shipped": False}),
        (CaseType.REFUND_ONLY, "not_received", {"signed_ago": None}),
    ],
)
def test_R5_1_merchant_silence_for_the_profile_hours_refunds_a_refund_request(
    ctx, clock, case_type, reason, order_kw
):
    w = make_world(ctx)
    number = w.open(type=case_type, reason=reason, amount=7_000, **order_kw)
    due = clock.now + timedelta(hours=handling(ctx).merchant_response_hours)
    assert view(ctx, number).case.deadline_at == due

    _advance_to_just_before(clock, due)
    before = snapshot(ctx, number)
    assert run_worker(ctx).fired == 0
    assert snapshot(ctx, number) == before

    clock.advance(seconds=2)
    assert run_worker(ctx).fired == 1
    v = view(ctx, number)
    assert v.case.state is State.REFUNDED
    assert v.case.close_reason == "merchant_timeout"
    assert [(r.amount, r.rule, r.decided_by_kind) for r in v.refunds] == [(7_000, "R5.1", "system")]
    assert deadline_statuses(v) == [("merchant_response", "fired")]
    assert v.deadlines[0].fired_by == "test-worker"
    entry = v.timeline[-1]
    assert (entry.actor_kind, entry.action, entry.rule) == ("system", "merchant_timeout", "R5.1")
    assert entry.changes["agreed"] == {
        "before": None,
        "after": {"amount": 7_000, "currency": "CNY"},
    }
    _assert_fired_once(ctx, number, "merchant_timeout", "R5.1")


@pytest.mark.parametrize("case_type", [CaseType.RETURN_REFUND, CaseType.EXCHANGE])
def test_R5_1_merchant_silence_approves_a_return_request_with_the_shop_address(
    ctx, clock, case_type
):
    w = make_world(ctx)
    number = w.open(type=case_type, reason="changed_mind")
    h = handling(ctx)
    due = clock.now + timedelta(hours=h.merchant_response_hours)

    _advance_to_just_before(clock, due)
    assert run_worker(ctx).fired == 0
    assert view(ctx, number).case.state is State.AWAITING_MERCHANT

    clock.advance(seconds=2)
    assert run_worker(ctx).fired == 1
    v = view(ctx, number)
    assert v.case.state is State.AWAITING_RETURN
    assert v.case.return_address == SHOP_RETURN_ADDRESS
    assert v.refunds == []
    assert v.timeline[-1].changes["return_address"] == {
        "before": None,
        "after": SHOP_RETURN_ADDRESS,
    }
    # R5.3: the buyer's shipping clock starts when the return is approved.
    assert deadline_statuses(v) == [("merchant_response", "fired"), ("return_shipment", "pending")]
    assert v.deadlines[1].due_at == clock.now + timedelta(days=h.buyer_ship_return_days)
    _assert_fired_once(ctx, number, "merchant_timeout", "R5.1")


def test_R5_1_a_deadline_whose_case_moved_on_does_not_fire(ctx, clock):
    w = make_world(ctx)
    number = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    h = handling(ctx)
    due = clock.now + timedelta(hours=h.merchant_response_hours)
    clock.now = due - timedelta(hours=1)
    svc.approve_return(ctx, w.merchant, number)
    v = view(ctx, number)
    assert deadline_statuses(v) == [
        ("merchant_response", "cancelled"),
        ("return_shipment", "pending"),
    ]

    clock.now = due + timedelta(hours=1)
    before = snapshot(ctx, number)
    res = run_worker(ctx)
    assert (res.fired, res.stale, res.failed) == (0, 0, 0)
    assert snapshot(ctx, number) == before
    assert view(ctx, number).case.state is State.AWAITING_RETURN
    assert system_entries(view(ctx, number)) == []


# --------------------------------------------------------------------------- R5.3
def test_R5_3_buyer_not_shipping_within_the_profile_days_closes_the_request(ctx, clock):
    w = make_world(ctx)
    order = w.order()
    number = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind", order=order)
    svc.approve_return(ctx, w.merchant, number)
    due = clock.now + timedelta(days=handling(ctx).buyer_ship_return_days)

    _advance_to_just_before(clock, due)
    assert run_worker(ctx).fired == 0
    assert view(ctx, number).case.state is State.AWAITING_RETURN

    clock.advance(seconds=2)
    assert run_worker(ctx).fired == 1
    v = view(ctx, number)
    assert v.case.state is State.CLOSED
    assert v.case.close_reason == "return_ship_timeout"
    assert v.refunds == []
    assert deadline_statuses(v) == [
        ("merchant_response", "cancelled"),
        ("return_shipment", "fired"),
    ]
    _assert_fired_once(ctx, number, "return_ship_timeout", "R5.3")
    # R2: a closed request no longer holds its units.
    assert view(ctx, w.open(type=CaseType.EXCHANGE, reason="defect", order=order)).case.state is (
        State.AWAITING_MERCHANT
    )


# --------------------------------------------------------------------------- R5.4
def _delivered_return(ctx, w, tracking: str) -> str:
    number = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    svc.approve_return(ctx, w.merchant, number)
    svc.ship_return(ctx, w.buyer, number, carrier="SF", tracking_number=tracking)
    svc.return_delivered(ctx, CARRIER, number)
    return number


def test_R5_4_merchant_silent_after_delivery_refunds_automatically(ctx, clock):
    w = make_world(ctx)
    number = _delivered_return(ctx, w, "SF2000000000001")
    due = clock.now + timedelta(hours=handling(ctx).merchant_receipt_hours)

    _advance_to_just_before(clock, due)
    assert run_worker(ctx).fired == 0
    assert view(ctx, number).case.state is State.RETURN_DELIVERED

    clock.advance(seconds=2)
    assert run_worker(ctx).fired == 1
    v = view(ctx, number)
    assert v.case.state is State.REFUNDED
    assert [(r.amount, r.rule, r.decided_by_kind) for r in v.refunds] == [
        (10_000, "R5.4", "system")
    ]
    assert deadline_statuses(v)[-1] == ("merchant_receipt", "fired")
    _assert_fired_once(ctx, number, "receipt_timeout", "R5.4")


def test_R5_4_the_receipt_deadline_keeps_running_across_confirm_receipt(ctx, clock):
    w = make_world(ctx)
    number = _delivered_return(ctx, w, "SF2000000000002")
    hours = handling(ctx).merchant_receipt_hours
    due = clock.now + timedelta(hours=hours)

    clock.advance(hours=hours / 2)
    case = svc.confirm_receipt(ctx, w.merchant, number)
    assert case.state is State.RETURN_RECEIVED
    assert case.deadline_at == due  # not restarted
    v = view(ctx, number)
    receipt = [d for d in v.deadlines if d.kind == "merchant_receipt"]
    assert [(d.status, d.due_at) for d in receipt] == [("pending", due)]

    _advance_to_just_before(clock, due)
    assert run_worker(ctx).fired == 0
    assert view(ctx, number).case.state is State.RETURN_RECEIVED

    clock.advance(seconds=2)
    assert run_worker(ctx).fired == 1
    v = view(ctx, number)
    assert v.case.state is State.REFUNDED
    assert [(r.amount, r.rule) for r in v.refunds] == [(10_000, "R5.4")]
    assert v.timeline[-1].from_state == "return_received"
    _assert_fired_once(ctx, number, "receipt_timeout", "R5.4")


# --------------------------------------------------------------------------- R5.6
@pytest.mark.parametrize("profile_id", ["douyin", "tiktok"])
def test_R5_6_a_rejected_request_lapses_after_the_resubmit_window(ctx, clock, profile_id):
    w = make_world(ctx, profile_id=profile_id)
    number = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    svc.reject(
        ctx,
        w.merchant,
        number,
        refusal_code="buyer_agreed_to_cancel",
        evidence_ids=proof(ctx, w.merchant, number, EvidenceKind.CHAT_LOG),
        note="buyer withdrew in chat",
    )
    due = clock.now + timedelta(hours=handling(ctx, profile_id).resubmit_window_hours)
    assert view(ctx, number).case.deadline_at == due

    _advance_to_just_before(clock, due)
    assert run_worker(ctx).fired == 0
    assert view(ctx, number).case.state is State.REJECTED

    clock.advance(seconds=2)
    assert run_worker(ctx).fired == 1
    v = view(ctx, number)
    assert v.case.state is State.CLOSED
    assert v.case.close_reason == "resubmit_timeout"
    assert deadline_statuses(v) == [
        ("merchant_response", "cancelled"),
        ("resubmit_window", "fired"),
    ]
    _assert_fired_once(ctx, number, "resubmit_timeout", "R5.6")


def test_R2_4_replacement_not_confirmed_completes_after_the_profile_days(ctx, clock):
    w = make_world(ctx)
    number = w.open(type=CaseType.RESHIP, reason="missing_item")
    svc.approve_reship(ctx, w.merchant, number)
    svc.ship_replacement(ctx, w.merchant, number, carrier="SF", tracking_number="SF2000000000003")
    due = clock.now + timedelta(days=handling(ctx).replacement_auto_confirm_days)

    _advance_to_just_before(clock, due)
    assert run_worker(ctx).fired == 0
    clock.advance(seconds=2)
    assert run_worker(ctx).fired == 1
    assert view(ctx, number).case.state is State.COMPLETED
    _assert_fired_once(ctx, number, "replacement_confirm_timeout", "R2.4")


# --------------------------------------------------------------------------- failures
def test_R5_1_a_failing_deadline_is_retried_after_backoff_not_in_a_loop(ctx, clock, monkeypatch):
    w = make_world(ctx)
    number = w.open(type=CaseType.REFUND_ONLY, reason="not_received", signed_ago=None)
    clock.now = clock.now + timedelta(hours=handling(ctx).merchant_response_hours) + JUST
    base = timedelta(seconds=ctx.settings.worker_retry_base_seconds)

    real_move = deadlines_mod.engine.move
    calls: list[int] = []

    def flaky_move(*args, **kwargs):
        calls.append(1)
        if len(calls) <= 2:
            raise RuntimeError(f"injected fault {len(calls)}")
        return real_move(*args, **kwargs)

    # The worker fires through the case engine; the fault is injected there.
    monkeypatch.setattr(deadlines_mod.engine, "move", flaky_move)
    before = snapshot(ctx, number)

    res = run_worker(ctx)
    assert (res.fired, res.failed) == (0, 1)
    assert len(calls) == 1  # not retried in a tight loop
    row = view(ctx, number).deadlines[0]
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.run_at == clock.now + base
    assert "injected fault 1" in row.last_error
    after = snapshot(ctx, number)
    assert {k: v for k, v in after.items() if k != "deadlines"} == {
        k: v for k, v in before.items() if k != "deadlines"
    }

    # Before run_at nothing is claimed.
    clock.now = row.run_at - JUST
    assert run_worker(ctx).handled == 0
    assert len(calls) == 1

    # Second failure: the backoff doubles.
    clock.now = row.run_at
    assert run_worker(ctx).failed == 1
    row = view(ctx, number).deadlines[0]
    assert (row.status, row.attempts) == ("pending", 2)
    assert row.run_at == clock.now + 2 * base
    assert view(ctx, number).case.state is State.AWAITING_MERCHANT

    clock.now = row.run_at + JUST
    assert run_worker(ctx).fired == 1
    v = view(ctx, number)
    assert v.case.state is State.REFUNDED
    assert deadline_statuses(v) == [("merchant_response", "fired")]
    assert [(r.amount, r.rule) for r in v.refunds] == [(10_000, "R5.1")]
    _assert_fired_once(ctx, number, "merchant_timeout", "R5.1")
    assert len(calls) == 3


def test_R5_1_a_failing_deadline_in_a_batch_is_postponed_alone_and_the_rest_fire(
    ctx, clock, monkeypatch
):
    w = make_world(ctx)
    numbers = [
        w.open(type=CaseType.REFUND_ONLY, reason="not_received", signed_ago=None) for _ in range(3)
    ]
    clock.now = clock.now + timedelta(hours=handling(ctx).merchant_response_hours) + JUST
    real_move = deadlines_mod.engine.move
    calls: list[str] = []

    def flaky_move(*args, **kwargs):
        case = args[3]
        calls.append(case.number)
        if case.number == numbers[1]:
            raise RuntimeError("injected fault")
        return real_move(*args, **kwargs)

    monkeypatch.setattr(deadlines_mod.engine, "move", flaky_move)
    res = deadlines_mod.DeadlineWorker(ctx, name="test-worker", batch=10).run_once()
    assert (res.fired, res.stale, res.failed) == (2, 0, 1)
    assert calls.count(numbers[1]) == 1  # tried once, not again when the batch was isolated
    assert [view(ctx, n).case.state for n in numbers] == [
        State.REFUNDED,
        State.AWAITING_MERCHANT,
        State.REFUNDED,
    ]
    row = view(ctx, numbers[1]).deadlines[0]
    assert (row.status, row.attempts) == ("pending", 1)
    assert "injected fault" in row.last_error
    monkeypatch.setattr(deadlines_mod.engine, "move", real_move)
    for n in (numbers[0], numbers[2]):
        _assert_fired_once(ctx, n, "merchant_timeout", "R5.1")


def test_R5_1_a_batch_reads_the_cases_of_its_deadlines_once(ctx, clock):
    """The claimed deadlines' cases are read in one statement that both orders the batch
    and gives each firing its case; the cases still end as R5.1 says."""
    w = make_world(ctx)
    numbers = [w.open(type=CaseType.RETURN_REFUND, reason="changed_mind") for _ in range(4)]
    clock.now = clock.now + timedelta(hours=handling(ctx).merchant_response_hours) + JUST
    with count_roundtrips(ctx.db.engine) as seen:
        res = deadlines_mod.DeadlineWorker(ctx, name="test-worker", batch=10).run_once()
    assert res.fired == 4
    case_reads = [
        q for q in seen.statements if q.lstrip().startswith("SELECT cases.id, cases.number")
    ]
    assert len(case_reads) == 1, seen.report()
    assert {view(ctx, n).case.state for n in numbers} == {State.AWAITING_RETURN}


# --------------------------------------------------------------------------- late actions
def _late_reject(ctx, clock, w):
    number = w.open(type=CaseType.REFUND_ONLY, reason="not_received", signed_ago=None)
    ids = proof(ctx, w.merchant, number, EvidenceKind.CHAT_LOG)
    clock.advance(hours=handling(ctx).merchant_response_hours, seconds=1)
    return (
        number,
        State.REFUNDED,
        "R5.1",
        lambda: svc.reject(
            ctx,
            w.merchant,
            number,
            refusal_code="buyer_agreed_to_cancel",
            evidence_ids=ids,
        ),
    )


def _late_ship(ctx, clock, w):
    number = w.open(type=CaseType.RETURN_REFUND, reason="changed_mind")
    svc.approve_return(ctx, w.merchant, number)
    clock.advance(days=handling(ctx).buyer_ship_return_days, seconds=1)
    return (
        number,
        State.CLOSED,
        "R5.3",
        lambda: svc.ship_return(
            ctx, w.buyer, number, carrier="SF", tracking_number="SF2000000000009"
        ),
    )


def _late_refusal(ctx, clock, w):
    number = _delivered_return(ctx, w, "SF2000000000010")
    ids = proof(ctx, w.merchant, number, EvidenceKind.CARRIER_PROOF)
    clock.advance(hours=handling(ctx).merchant_receipt_hours, seconds=1)
    return (
        number,
        State.REFUNDED,
        "R5.4",
        lambda: svc.refuse_refund(
            ctx,
            w.merchant,
            number,
            refusal_code="returned_goods_damaged",
            evidence_ids=ids,
        ),
    )


@pytest.mark.parametrize("setup", [_late_reject, _late_ship, _late_refusal])
def test_R5_an_action_after_its_deadline_passed_does_not_beat_the_timeout(ctx, clock, setup):
    """The late party's action is refused even though the worker has not fired yet, so the
    outcome does not depend on worker latency."""
    w = make_world(ctx)
    number, timed_out_state, rule, act_late = setup(ctx, clock, w)
    before = snapshot(ctx, number)
    with pytest.raises(IllegalTransition) as exc:
        act_late()
    assert (exc.value.code, exc.value.rule) == ("deadline.passed", rule)
    assert snapshot(ctx, number) == before
    assert run_worker(ctx).fired == 1
    assert view(ctx, number).case.state is timed_out_state
