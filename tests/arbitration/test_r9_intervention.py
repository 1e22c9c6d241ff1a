"""R9: platform intervention (平台介入), through the services on SQLite and PostgreSQL.

Who may ask and when (R9.1), when the platform does not take a case (R9.2), the
deadlines, templates and notices of an open intervention (R9.3), and withdrawal after a
settlement (R9.4). Every number is read from the profile's ``[intervention]`` table."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from aftersales.domain.case_types import CaseType, State
from aftersales.domain.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from aftersales.domain.policy import EvidenceKind, Party
from aftersales.domain.reasons import reason
from aftersales.services import cases as svc
from aftersales.services import interventions as iv
from aftersales.services import orders
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.services.judgment import recommendation_for
from aftersales.store.db import Database
from tests.arbitration.support import (
    AGENT,
    AUDITOR,
    actions,
    case_of,
    entry,
    escalated,
    events,
    liable_count,
    order_number,
    profile,
    rejected,
    rounds,
    rules,
    rulings,
    state,
    timeline,
    upload,
)
from tests.conftest import FakeClock, make_context
from tests.evidence.proof import proof
from tests.factories import World, make_world

_tracking = iter(range(30_000_000, 99_999_999))


def _sf() -> str:
    return f"SF30{next(_tracking):010d}"


def _countered(w: World) -> str:
    number = w.open(type=CaseType.REFUND_ONLY, reason="defect")
    svc.counter_offer(w.ctx, w.merchant, number, amount=5_000, note="half back")
    assert state(w.ctx, number) is State.AWAITING_BUYER
    return number


def _returned(w: World, *, received: bool) -> str:
    """A return the carrier delivered to the merchant (and, ``received``, the merchant
    confirmed)."""
    number = w.open(type=CaseType.RETURN_REFUND, reason="defect")
    svc.approve_return(w.ctx, w.merchant, number)
    svc.ship_return(w.ctx, w.buyer, number, carrier="SF", tracking_number=_sf())
    if received:
        svc.confirm_receipt(w.ctx, w.merchant, number)
        assert state(w.ctx, number) is State.RETURN_RECEIVED
    else:
        svc.return_delivered(w.ctx, Actor.carrier("sf-api"), number)
        assert state(w.ctx, number) is State.RETURN_DELIVERED
    return number


def _refused(err: pytest.ExceptionInfo[IllegalTransition], reason_code: str) -> None:
    assert err.value.rule == "R9.2"
    assert err.value.code == f"intervention.{reason_code}"
    assert reason_code in err.value.params["reasons"].split(", ")


# --------------------------------------------------------------------------- R9.1
def test_R9_1_buyer_escalates_after_rejection(ctx: Context) -> None:
    w = make_world(ctx)
    number = rejected(w)

    view = iv.escalate(ctx, w.buyer, number, statement="The kettle leaks.")

    assert state(ctx, number) is State.IN_INTERVENTION
    assert (view.case_state, view.round, view.opened_by, view.status) == (
        "in_intervention",
        1,
        "buyer",
        "open",
    )
    assert view.statement == "The kettle leaks."
    last = timeline(ctx, number)[-1]
    assert (last.action, last.rule, last.from_state, last.to_state) == (
        "escalate",
        "R9.1",
        "rejected",
        "in_intervention",
    )
    # The refusal's resubmit deadline no longer runs: the platform has the case.
    assert case_of(ctx, number).deadline_kind is None


def test_R9_1_buyer_escalates_after_counter_offer(ctx: Context) -> None:
    w = make_world(ctx)
    number = _countered(w)

    view = iv.escalate(ctx, w.buyer, number, statement="Half is not enough.")

    assert view.opened_by == "buyer"
    assert state(ctx, number) is State.IN_INTERVENTION
    assert entry(ctx, number, "escalate").from_state == "awaiting_buyer"


def test_R9_1_merchant_escalates_after_counter_offer(ctx: Context) -> None:
    w = make_world(ctx)
    number = _countered(w)

    view = iv.escalate(ctx, w.merchant, number, statement="The buyer will not answer.")

    assert view.opened_by == "merchant"
    last = timeline(ctx, number)[-1]
    assert (last.action, last.rule, last.actor_kind) == ("merchant_escalate", "R9.1", "merchant")


@pytest.mark.parametrize("received", [False, True], ids=["return_delivered", "return_received"])
def test_R9_1_merchant_escalates_after_return_received(ctx: Context, received: bool) -> None:
    w = make_world(ctx)
    number = _returned(w, received=received)
    before = state(ctx, number)

    view = iv.escalate(ctx, w.merchant, number, statement="The returned kettle is dented.")

    assert view.opened_by == "merchant" and view.case_state == "in_intervention"
    assert entry(ctx, number, "merchant_escalate").from_state == before.value


def test_R9_1_buyer_cannot_escalate_while_awaiting_merchant(ctx: Context) -> None:
    w = make_world(ctx)
    number = w.open(type=CaseType.REFUND_ONLY, reason="defect")
    before = actions(ctx, number)

    with pytest.raises(IllegalTransition) as err:
        iv.escalate(ctx, w.buyer, number, statement="Hurry up.")

    assert err.value.code == "transition.illegal"
    assert state(ctx, number) is State.AWAITING_MERCHANT
    assert actions(ctx, number) == before
    assert rounds(ctx, number) == []  # the round's row rolled back with the move
    with pytest.raises(NotFound):
        iv.get_intervention(ctx, w.buyer, number)


def test_R9_1_merchant_cannot_escalate_its_own_rejection(ctx: Context) -> None:
    w = make_world(ctx)
    number = rejected(w)
    with pytest.raises(IllegalTransition):
        iv.escalate(ctx, w.merchant, number, statement="Confirm my refusal.")
    assert state(ctx, number) is State.REJECTED and rounds(ctx, number) == []


def test_R9_1_only_the_parties_escalate(ctx: Context) -> None:
    w = make_world(ctx)
    number = rejected(w)
    with pytest.raises(Forbidden):
        iv.escalate(ctx, AGENT, number, statement="I take it.")
    with pytest.raises(ValidationFailed):
        iv.escalate(ctx, w.buyer, number, statement="   ")
    assert state(ctx, number) is State.REJECTED


# --------------------------------------------------------------------------- R9.2
@pytest.mark.parametrize("kind", ["off_platform", "invalid_transaction", "not_actual_consumer"])
def test_R9_2_refused_when_the_order_is_flagged(ctx: Context, kind: str) -> None:
    w = make_world(ctx)
    number = rejected(w)
    other = rejected(w)  # another order of the same buyer: not flagged
    iv.flag(
        ctx,
        AGENT,
        kind=kind,
        note="checked with risk control",
        order_number=order_number(ctx, number),
    )

    with pytest.raises(IllegalTransition) as err:
        iv.escalate(ctx, w.buyer, number, statement="Please help.")

    _refused(err, kind)
    assert state(ctx, number) is State.REJECTED and rounds(ctx, number) == []
    assert iv.escalate(ctx, w.buyer, other, statement="Please help.").status == "open"


def test_R9_2_refused_out_of_window(ctx: Context, clock: FakeClock) -> None:
    # douyin: the rejected state's own resubmit window is not shorter than the escalation
    # window, so the R9.2 limit is what refuses.
    hours = rules(ctx).escalate_within_hours
    assert profile(ctx).handling.resubmit_window_hours >= hours
    w = make_world(ctx)
    on_time, late = rejected(w), rejected(w)
    started = entry(ctx, late, "reject").at
    clock.now = started + timedelta(hours=hours, seconds=-1)

    assert iv.escalate(ctx, w.buyer, on_time, statement="Still broken.").status == "open"

    clock.now = started + timedelta(hours=hours)
    with pytest.raises(IllegalTransition) as err:
        iv.escalate(ctx, w.buyer, late, statement="Still broken.")
    _refused(err, "out_of_window")
    assert state(ctx, late) is State.REJECTED


def test_R9_2_an_order_that_shipped_after_the_request_is_not_out_of_window(
    ctx: Context, clock: FakeClock
) -> None:
    """A refund before shipment the merchant refused because the parcel had already left:
    the order's later shipment says nothing about the request's window (R4)."""
    w = make_world(ctx)
    number = w.open(type=CaseType.REFUND_UNSHIPPED, reason="no_longer_needed", shipped=False)
    svc.reject(
        ctx,
        w.merchant,
        number,
        refusal_code="already_shipped_intercept_failed",
        evidence_ids=proof(ctx, w.merchant, number, EvidenceKind.CARRIER_PROOF),
    )
    clock.advance(hours=1)
    orders.record_fulfilment(ctx, Actor.system(), order_number(ctx, number), shipped_at=clock.now)

    view = iv.escalate(ctx, w.buyer, number, statement="I cancelled before it shipped.")

    assert view.status == "open" and state(ctx, number) is State.IN_INTERVENTION


def test_R9_2_tiktok_buyer_whose_resubmit_window_ran_out_cannot_escalate(
    ctx: Context, clock: FakeClock
) -> None:
    """tiktok's resubmit window is shorter than the escalation window: the buyer's own
    deadline still applies (docs/arbitration.md, R9.1)."""
    resubmit = profile(ctx, "tiktok").handling.resubmit_window_hours
    assert resubmit < rules(ctx, "tiktok").escalate_within_hours
    w = make_world(ctx, profile_id="tiktok")
    number = rejected(w)
    clock.advance(hours=resubmit)
    with pytest.raises(IllegalTransition) as err:
        iv.escalate(ctx, w.buyer, number, statement="Too late?")
    assert err.value.code == "deadline.passed" and err.value.rule == "R5.6"


def test_R9_2_refused_once_settled(ctx: Context) -> None:
    w = make_world(ctx)
    number, _ = escalated(w)
    iv.withdraw(ctx, w.buyer, number, settlement="The shop sent a voucher.")

    with pytest.raises(IllegalTransition) as err:
        iv.escalate(ctx, w.buyer, number, statement="Changed my mind again.")

    _refused(err, "settled")
    assert "resolved" in err.value.params["reasons"]  # the withdrawal also closed it
    assert len(rounds(ctx, number)) == 1


def test_R9_2_refused_once_resolved(ctx: Context) -> None:
    w = make_world(ctx)
    number = w.open(type=CaseType.REFUND_ONLY, reason="defect")
    svc.approve_refund(ctx, w.merchant, number)
    assert state(ctx, number) is State.REFUNDED
    with pytest.raises(IllegalTransition) as err:
        iv.escalate(ctx, w.buyer, number, statement="More please.")
    _refused(err, "resolved")


def test_R9_2_legal_proceedings_close_an_open_intervention(ctx: Context) -> None:
    w = make_world(ctx)
    number, _ = escalated(w)

    iv.flag(ctx, AGENT, kind="legal_proceedings", note="Court case 2026-01", case_number=number)

    case = case_of(ctx, number)
    assert (case.state, case.close_reason) == (State.CLOSED, "legal_proceedings")
    last = timeline(ctx, number)[-1]
    assert (last.action, last.rule, last.actor_kind) == ("legal_proceedings", "R9.2", "platform")
    view = iv.get_intervention(ctx, AUDITOR, number)
    assert view.status == "legal_closed" and view.closed_at is not None
    assert view.rulings == ()
    with pytest.raises(IllegalTransition) as err:
        iv.escalate(ctx, w.buyer, number, statement="Again.")
    assert err.value.rule == "R9.2"
    assert "legal_proceedings" in err.value.params["reasons"]


def test_R9_2_legal_proceedings_block_a_new_intervention(ctx: Context) -> None:
    w = make_world(ctx)
    number = rejected(w)
    iv.flag(ctx, AGENT, kind="legal_proceedings", note="Buyer sued", case_number=number)
    assert state(ctx, number) is State.REJECTED  # nothing open to end

    with pytest.raises(IllegalTransition) as err:
        iv.escalate(ctx, w.buyer, number, statement="Help.")

    _refused(err, "legal_proceedings")


def test_R9_2_flags_are_recorded_by_agents_only_and_with_a_known_kind(ctx: Context) -> None:
    w = make_world(ctx)
    number = rejected(w)
    order = order_number(ctx, number)
    with pytest.raises(Forbidden):
        iv.flag(ctx, w.merchant, kind="off_platform", note="x", order_number=order)
    with pytest.raises(ValidationFailed):
        iv.flag(ctx, AGENT, kind="out_of_window", note="x", order_number=order)
    with pytest.raises(ValidationFailed):  # legal proceedings are recorded on a case
        iv.flag(ctx, AGENT, kind="legal_proceedings", note="x", order_number=order)
    assert iv.escalate(ctx, w.buyer, number, statement="Help.").status == "open"


# --------------------------------------------------------------------------- R9.3
def test_R9_3_deadlines_count_from_opening(ctx: Context) -> None:
    r = rules(ctx)
    w = make_world(ctx)
    _, view = escalated(w)
    opened = view.opened_at
    assert opened == ctx.now()
    assert view.merchant_response_due == opened + timedelta(hours=r.merchant_response_hours)
    assert view.evidence_due == opened + timedelta(hours=r.evidence_hours)
    assert view.ruling_due == view.evidence_due + timedelta(hours=r.ruling_hours)
    assert view.urgent is False and view.merchant_responded_in_time is None


def test_R9_3_urgent_gives_the_merchant_at_most_urgent_response_hours(
    ctx: Context, clock: FakeClock
) -> None:
    r = rules(ctx)
    w = make_world(ctx)
    number, view = escalated(w)
    clock.advance(hours=1)

    marked = iv.mark_urgent(ctx, AGENT, number)

    assert marked.urgent is True
    assert marked.merchant_response_due == clock.now + timedelta(hours=r.urgent_response_hours)
    assert marked.evidence_due == view.evidence_due  # only the merchant's clock changes
    last = timeline(ctx, number)[-1]
    assert (last.action, last.rule, last.actor_kind) == ("intervention_urgent", "R9.3", "platform")
    assert iv.mark_urgent(ctx, AGENT, number) == marked  # marking twice changes nothing
    with pytest.raises(Forbidden):
        iv.mark_urgent(ctx, w.buyer, number)


def test_R9_3_urgent_never_gives_the_merchant_more_time(ctx: Context, clock: FakeClock) -> None:
    r = rules(ctx)
    w = make_world(ctx)
    number, view = escalated(w)
    # Marked so late that urgent_response_hours from now would end after the normal due.
    clock.now = view.merchant_response_due - timedelta(hours=r.urgent_response_hours / 2)

    marked = iv.mark_urgent(ctx, AGENT, number)

    assert marked.urgent and marked.merchant_response_due == view.merchant_response_due


def test_R9_3_merchant_response_in_time(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    number, view = escalated(w)
    clock.now = view.merchant_response_due

    answered = iv.respond(ctx, w.merchant, number, response="QC passed, see record.")

    assert answered.merchant_responded_in_time is True
    assert answered.merchant_response == "QC passed, see record."
    last = timeline(ctx, number)[-1]
    assert (last.action, last.rule) == ("intervention_response", "R9.3")
    assert last.changes["in_time"]["after"] is True
    rec = recommendation_for(ctx, AGENT, number).result
    assert rec.facts.merchant_responded is True
    with pytest.raises(Conflict):  # once per round
        iv.respond(ctx, w.merchant, number, response="Again.")


def test_R9_3_late_merchant_response_is_recorded_but_counts_as_silence(
    ctx: Context, clock: FakeClock
) -> None:
    w = make_world(ctx)
    number, view = escalated(w)
    clock.now = view.merchant_response_due + timedelta(seconds=1)
    assert iv.get_intervention(ctx, w.buyer, number).merchant_responded_in_time is False

    answered = iv.respond(ctx, w.merchant, number, response="Sorry, we were closed.")

    assert answered.merchant_responded_at == clock.now
    assert answered.merchant_responded_in_time is False
    assert entry(ctx, number, "intervention_response").changes["in_time"]["after"] is False
    # The engine is told the merchant did not respond: it holds the merchant liable.
    clock.now = view.evidence_due
    rec = recommendation_for(ctx, AGENT, number).result
    assert rec.facts.merchant_responded is False
    assert rec.recommendation.decision.liability.value == "merchant"
    ruled = iv.rule(ctx, AGENT, number, iv.RulingInput(reasons="The shop did not answer."))
    assert ruled.rulings[0].recommendation["facts"]["merchant_responded"] is False  # type: ignore[index]


def test_R9_3_merchant_who_asked_for_the_platform_has_responded(
    ctx: Context, clock: FakeClock
) -> None:
    """The merchant's own request states its position: it is not silent (R9.3)."""
    w = make_world(ctx)
    number = _returned(w, received=True)
    view = iv.escalate(ctx, w.merchant, number, statement="The returned kettle is dented.")
    assert view.merchant_responded_at == view.opened_at
    assert view.merchant_responded_in_time is True
    clock.now = view.evidence_due
    assert recommendation_for(ctx, AGENT, number).result.facts.merchant_responded is True


def test_R9_3_only_the_merchant_responds(ctx: Context) -> None:
    w = make_world(ctx)
    number, _ = escalated(w)
    for actor in (w.buyer, AGENT):
        with pytest.raises(Forbidden):
            iv.respond(ctx, actor, number, response="me")
    with pytest.raises(IllegalTransition):  # no open round on another case
        iv.respond(ctx, w.merchant, rejected(w), response="me")


def test_R9_3_evidence_after_the_evidence_deadline_is_set_aside(
    ctx: Context, clock: FakeClock
) -> None:
    w = make_world(ctx)
    number, view = escalated(w)
    clock.now = view.evidence_due
    on_time = upload(ctx, w.buyer, number)  # at the deadline: still in time
    clock.advance(seconds=1)
    late = upload(ctx, w.buyer, number, "chat_log")

    rec = recommendation_for(ctx, AGENT, number).result

    in_time = {e.id: e.in_time for e in rec.evidence}
    assert (in_time.pop(f"E{on_time}"), in_time.pop(f"E{late}")) == (True, False)
    assert all(in_time.values())  # the shop's proof of its refusal, before the escalation


def test_R9_3_each_side_sees_its_own_evidence_template(ctx: Context) -> None:
    w = make_world(ctx)
    number, _ = escalated(w)  # reason "defect": the quality template
    judgment = profile(ctx).judgment
    assert judgment is not None
    template = judgment.template_for(reason("defect").group)
    assert template is not None and template.merchant_slots

    def slots(actor: object) -> dict[Party, list[tuple[EvidenceKind, ...]]]:
        view = iv.get_intervention(ctx, actor, number)  # type: ignore[arg-type]
        for t in view.templates:
            assert t.deadline == view.evidence_due
        return {t.party: [s.kinds for s in t.slots] for t in view.templates}

    assert slots(w.buyer) == {Party.BUYER: list(template.slots)}
    assert slots(w.merchant) == {Party.MERCHANT: list(template.merchant_slots)}
    assert slots(AGENT) == {
        Party.BUYER: list(template.slots),
        Party.MERCHANT: list(template.merchant_slots),
    }


def test_R9_3_both_parties_are_notified(ctx: Context) -> None:
    w = make_world(ctx)
    number, view = escalated(w)

    last = timeline(ctx, number)[-1]
    assert last.action == "escalate" and last.note == "The kettle leaks."
    announced = last.changes["intervention"]["after"]
    assert announced == {
        "id": view.id,
        "round": 1,
        "merchant_response_due": view.merchant_response_due.isoformat(),
        "evidence_due": view.evidence_due.isoformat(),
    }
    event = events(ctx, number)[-1]
    assert event["type"] == "case.escalate"
    assert event["data"]["state"] == "in_intervention"
    assert event["data"]["rule"] == "R9.1"
    assert event["data"]["timeline_seq"] == last.seq
    # Both sides read the same intervention; the agent who rules is not shown to them.
    for party in (w.buyer, w.merchant):
        seen = iv.get_intervention(ctx, party, number)
        assert seen.id == view.id and seen.excluded_agent is None
    with pytest.raises(NotFound):  # another shop does not see it
        iv.get_intervention(ctx, Actor.merchant(w.other_shop_id), number)


# --------------------------------------------------------------------------- R9.4
def test_R9_4_withdrawal_closes_the_case_without_effect_on_the_shop(ctx: Context) -> None:
    w = make_world(ctx)
    since = ctx.now()
    number, _ = escalated(w)

    view = iv.withdraw(ctx, w.buyer, number, settlement="The shop sent a replacement.")

    case = case_of(ctx, number)
    assert (case.state, case.close_reason) == (State.CLOSED, "withdraw_intervention")
    assert view.status == "withdrawn" and view.closed_at == ctx.now()
    last = timeline(ctx, number)[-1]
    assert (last.action, last.rule, last.to_state) == ("withdraw_intervention", "R9.4", "closed")
    assert last.changes["intervention"]["after"]["settlement"] == "The shop sent a replacement."
    assert events(ctx, number)[-1]["type"] == "case.withdraw_intervention"
    assert rulings(ctx, number) == []
    assert liable_count(ctx, w.shop_id, since, ctx.now() + timedelta(days=1)) == 0


def test_R9_4_only_the_buyer_withdraws_an_open_intervention(ctx: Context) -> None:
    w = make_world(ctx)
    number, _ = escalated(w)
    for actor in (w.merchant, AGENT):
        with pytest.raises(Forbidden):
            iv.withdraw(ctx, actor, number, settlement="settled")
    with pytest.raises(ValidationFailed):
        iv.withdraw(ctx, w.buyer, number, settlement=" ")
    assert state(ctx, number) is State.IN_INTERVENTION
    with pytest.raises(IllegalTransition):  # nothing open on a rejected case
        iv.withdraw(ctx, w.buyer, rejected(w), settlement="settled")


@pytest.mark.timeout(120)
def test_R9_1_buyer_and_merchant_escalating_at_once_open_one_intervention(
    pg_db: Database, clock: FakeClock
) -> None:
    setup = make_context(pg_db, clock)
    w = make_world(setup)
    for _ in range(5):
        number = _countered(w)
        parties = [w.buyer, w.merchant]
        barrier = threading.Barrier(len(parties))
        results: dict[str, object] = {}

        def run(
            actor: Actor,
            number: str = number,
            barrier: threading.Barrier = barrier,
            results: dict[str, object] = results,
        ) -> None:
            ctx = make_context(pg_db, clock)
            barrier.wait(timeout=30)
            try:
                results[str(actor.id)] = iv.escalate(ctx, actor, number, statement="Help.")
            except Exception as exc:  # what the loser gets is the point
                results[str(actor.id)] = exc

        threads = [threading.Thread(target=run, args=(p,)) for p in parties]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
            assert not t.is_alive()
        won = [r for r in results.values() if isinstance(r, iv.InterventionView)]
        lost = [r for r in results.values() if not isinstance(r, iv.InterventionView)]
        assert len(won) == 1 and len(lost) == 1, results
        assert isinstance(lost[0], (Conflict, IllegalTransition)), repr(lost[0])
        assert len(rounds(setup, number)) == 1
        opened = [e for e in timeline(setup, number) if e.action.endswith("escalate")]
        assert len(opened) == 1
