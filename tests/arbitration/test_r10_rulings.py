"""R10.4/R10.5: the agent's ruling on an intervention, through the services on SQLite and
PostgreSQL: not before the evidence deadline (R9.3), recorded with the recommendation it
was made on, overridden only with a written reason, and made once."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from aftersales.domain.case_types import CaseType, State
from aftersales.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    IllegalTransition,
    ValidationFailed,
)
from aftersales.domain.policy import FreightPayer, Liability, Remedy
from aftersales.services import interventions as iv
from aftersales.services.context import Context
from aftersales.services.judgment import recommendation_for
from aftersales.store.db import Database
from tests.arbitration.support import (
    AGENT,
    AUDITOR,
    OTHER_AGENT,
    REASONS,
    case_of,
    escalated,
    events,
    rulings,
    state,
    timeline,
    to_evidence_due,
)
from tests.conftest import FakeClock, make_context
from tests.factories import make_world


def _unchanged(ctx: Context, number: str) -> tuple[Any, ...]:
    view = iv.get_intervention(ctx, AUDITOR, number)
    return (
        state(ctx, number),
        case_of(ctx, number).version,
        view.status,
        view.version,
        len(timeline(ctx, number)),
        len(rulings(ctx, number)),
    )


# --------------------------------------------------------------------------- R9.3
def test_R10_4_ruling_before_the_evidence_deadline_is_refused(
    ctx: Context, clock: FakeClock
) -> None:
    w = make_world(ctx)
    number, view = escalated(w)
    clock.now = view.evidence_due - timedelta(seconds=1)
    before = _unchanged(ctx, number)

    with pytest.raises(IllegalTransition) as err:
        iv.rule(ctx, AGENT, number, iv.RulingInput(reasons=REASONS))

    assert (err.value.code, err.value.rule) == ("ruling.evidence_open", "R9.3")
    assert _unchanged(ctx, number) == before
    clock.advance(seconds=1)
    assert iv.rule(ctx, AGENT, number, iv.RulingInput(reasons=REASONS)).status == "ruled"


def test_R10_4_only_platform_agents_rule(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    number, view = escalated(w)
    to_evidence_due(clock, view)
    for actor in (w.buyer, w.merchant):
        with pytest.raises(Forbidden):
            iv.rule(ctx, actor, number, iv.RulingInput(reasons=REASONS))
        with pytest.raises(Forbidden):
            recommendation_for(ctx, actor, number)
    with pytest.raises(ValidationFailed):  # the reasons are shown to both parties
        iv.rule(ctx, AGENT, number, iv.RulingInput(reasons="  "))
    assert state(ctx, number) is State.IN_INTERVENTION


# --------------------------------------------------------------------------- R10.4
def test_R10_4_accepted_ruling_records_the_recommendation(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    number, view = escalated(w)  # the merchant stays silent: the buyer wins (R9.3)
    to_evidence_due(clock, view)
    shown = recommendation_for(ctx, AGENT, number).result

    ruled = iv.rule(ctx, AGENT, number, iv.RulingInput(reasons="The shop did not answer."))

    (row,) = rulings(ctx, number)
    decision = shown.recommendation.decision
    assert row.recommendation == shown.to_json()
    assert (row.liability, row.remedy, row.freight_payer, row.return_risk) == (
        decision.liability.value,
        decision.remedy.value,
        decision.freight_payer.value,
        decision.return_risk.value,
    )
    assert (row.agent, row.ruled_at) == (AGENT.id, clock.now)
    assert row.reasons == "The shop did not answer."
    assert row.overridden is False and row.override_reason is None
    assert row.recommendation["factors"], "a ruling lists what decided it (R10.5)"
    assert row.amount == case_of(ctx, number).agreed.amount
    assert ruled.status == "ruled" and ruled.closed_at == clock.now
    assert ruled.case_state == "awaiting_execution"
    last = timeline(ctx, number)[-1]
    assert (last.action, last.rule, last.actor_kind, last.note) == (
        "rule",
        "R10.4",
        "platform",
        "The shop did not answer.",
    )
    assert last.changes["ruling"]["after"]["liability"] == decision.liability.value
    assert events(ctx, number)[-1]["type"] == "case.rule"
    # The parties see the ruling and its reasons, not the agent nor the engine's workings.
    seen = iv.get_intervention(ctx, w.buyer, number).rulings[0]
    assert (seen.agent, seen.recommendation, seen.reasons) == ("", None, row.reasons)


def test_R10_4_buyer_loss_closes_the_case_on_douyin(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    number, view = escalated(w)
    iv.respond(ctx, w.merchant, number, response="QC passed.")
    to_evidence_due(clock, view)

    ruled = iv.rule(ctx, AGENT, number, iv.RulingInput(reasons="No evidence of a defect."))

    assert ruled.rulings[0].remedy == "reject" and ruled.rulings[0].liability == "buyer"
    assert ruled.rulings[0].amount is None
    case = case_of(ctx, number)
    assert (case.state, case.close_reason) == (State.CLOSED, "rule")


# --------------------------------------------------------------------------- R10.5
def test_R10_5_override_without_a_reason_is_refused(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    number, view = escalated(w)
    to_evidence_due(clock, view)
    before = _unchanged(ctx, number)

    with pytest.raises(ValidationFailed) as err:
        iv.rule(
            ctx,
            AGENT,
            number,
            iv.RulingInput(
                reasons=REASONS, accept=False, remedy=Remedy.REJECT, override_reason=" "
            ),
        )

    assert err.value.rule == "R10.5"
    assert _unchanged(ctx, number) == before


def test_R10_5_override_with_a_reason_is_recorded(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    number, view = escalated(w)
    iv.respond(ctx, w.merchant, number, response="QC passed.")
    to_evidence_due(clock, view)
    shown = recommendation_for(ctx, AGENT, number).result
    assert shown.recommendation.decision.remedy is Remedy.REJECT  # the engine: buyer loses

    ruled = iv.rule(
        ctx,
        AGENT,
        number,
        iv.RulingInput(
            reasons="Minor defect visible in the shop's own QC photo.",
            accept=False,
            liability=Liability.SHARED,
            remedy=Remedy.PARTIAL_REFUND,
            freight_payer=FreightPayer.MERCHANT,
            return_risk=Liability.SHARED,
            amount=4_000,
            override_reason="The QC photo shows the scratch the buyer describes.",
        ),
    )

    (row,) = rulings(ctx, number)
    assert row.overridden is True
    assert row.override_reason == "The QC photo shows the scratch the buyer describes."
    assert (row.liability, row.remedy, row.freight_payer, row.amount) == (
        "shared",
        "partial_refund",
        "merchant",
        4_000,
    )
    assert row.recommendation["decision"]["remedy"] == "reject"  # what the engine said
    assert ruled.case_state == "awaiting_execution"
    assert case_of(ctx, number).agreed.amount == 4_000
    changes = timeline(ctx, number)[-1].changes["ruling"]["after"]
    assert changes["overridden"] is True and changes["override_reason"] == row.override_reason


def test_R10_5_accepting_does_not_change_the_ruled_amount(ctx: Context, clock: FakeClock) -> None:
    """Accepting is the recommendation as it stands: a different amount is an override and
    needs a written reason."""
    w = make_world(ctx)
    number, view = escalated(w)  # the engine: a full refund of what was asked
    to_evidence_due(clock, view)
    assert recommendation_for(ctx, AGENT, number).result.recommendation.decision.remedy is (
        Remedy.FULL_REFUND
    )
    before = _unchanged(ctx, number)

    with pytest.raises(ValidationFailed) as err:
        iv.rule(ctx, AGENT, number, iv.RulingInput(reasons=REASONS, amount=1))

    assert err.value.rule == "R10.5"
    assert _unchanged(ctx, number) == before
    ruled = iv.rule(
        ctx,
        AGENT,
        number,
        iv.RulingInput(
            reasons=REASONS,
            accept=False,
            remedy=Remedy.PARTIAL_REFUND,
            amount=6_000,
            override_reason="Agreed part in chat.",
        ),
    )
    (row,) = rulings(ctx, number)
    assert row.overridden is True and row.amount == 6_000
    assert ruled.case_state == "awaiting_execution"


def test_R10_4_ruling_remedy_must_fit_the_request(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    number, view = escalated(w)  # a refund-only request
    to_evidence_due(clock, view)
    before = _unchanged(ctx, number)
    with pytest.raises(ValidationFailed) as err:
        iv.rule(
            ctx,
            AGENT,
            number,
            iv.RulingInput(
                reasons=REASONS, accept=False, remedy=Remedy.RESHIP, override_reason="reship"
            ),
        )
    assert err.value.code == "ruling.remedy_not_for_type"
    assert _unchanged(ctx, number) == before


def test_R10_4_return_then_refund_sends_the_case_through_the_return(
    ctx: Context, clock: FakeClock
) -> None:
    w = make_world(ctx)
    number, view = escalated(w, type=CaseType.RETURN_REFUND)
    to_evidence_due(clock, view)
    ruled = iv.rule(ctx, AGENT, number, iv.RulingInput(reasons=REASONS))
    assert ruled.rulings[0].remedy == "return_then_refund"
    case = case_of(ctx, number)
    assert case.state is State.AWAITING_RETURN and case.return_address


# --------------------------------------------------------------------------- once
def test_R10_4_a_second_ruling_on_the_same_round_is_a_conflict(
    ctx: Context, clock: FakeClock
) -> None:
    w = make_world(ctx)
    number, view = escalated(w)
    to_evidence_due(clock, view)
    first = iv.rule(ctx, AGENT, number, iv.RulingInput(reasons=REASONS))
    before = _unchanged(ctx, number)

    with pytest.raises(Conflict) as err:
        iv.rule(ctx, OTHER_AGENT, number, iv.RulingInput(reasons="Me too."))

    assert err.value.code == "ruling.already_made"
    assert _unchanged(ctx, number) == before
    assert [r.agent for r in rulings(ctx, number)] == [AGENT.id]
    assert first.rulings[0].id == rulings(ctx, number)[0].id


def test_R10_4_stale_case_version_is_a_conflict(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    number, view = escalated(w)
    to_evidence_due(clock, view)
    stale = view.case_version - 1
    with pytest.raises(Conflict):
        iv.rule(ctx, AGENT, number, iv.RulingInput(reasons=REASONS), expected_version=stale)
    assert rulings(ctx, number) == []


@pytest.mark.timeout(120)
def test_R10_4_two_agents_ruling_at_once_make_one_ruling(pg_db: Database, clock: FakeClock) -> None:
    setup = make_context(pg_db, clock)
    w = make_world(setup)
    numbers = []
    for _ in range(5):
        number, view = escalated(w)
        numbers.append(number)
    clock.now = view.evidence_due
    agents = [AGENT, OTHER_AGENT]
    for number in numbers:
        barrier = threading.Barrier(len(agents))
        results: dict[str, object] = {}

        def run(
            agent: Any,
            number: str = number,
            barrier: threading.Barrier = barrier,
            results: dict[str, object] = results,
        ) -> None:
            ctx = make_context(pg_db, clock)
            barrier.wait(timeout=30)
            try:
                results[agent.id] = iv.rule(ctx, agent, number, iv.RulingInput(reasons=REASONS))
            except DomainError as exc:
                results[agent.id] = exc

        threads = [threading.Thread(target=run, args=(a,)) for a in agents]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
            assert not t.is_alive()
        won = [r for r in results.values() if isinstance(r, iv.InterventionView)]
        lost = [r for r in results.values() if not isinstance(r, iv.InterventionView)]
        assert len(won) == 1 and len(lost) == 1, results
        assert isinstance(lost[0], Conflict), lost[0]
        (row,) = rulings(setup, number)
        assert row.agent == won[0].rulings[0].agent and row.agent in {AGENT.id, OTHER_AGENT.id}
        assert [e.action for e in timeline(setup, number)].count("rule") == 1
        assert state(setup, number) is State.AWAITING_EXECUTION
