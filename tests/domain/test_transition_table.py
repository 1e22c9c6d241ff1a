"""R2/R5: the ONE transition table, checked exhaustively.

Every (type, state, action) triple is tried: a legal move (a row exists) lands in one of the
row's targets when its guards are satisfied; an illegal move raises ``IllegalTransition``
naming a rule; a legal move taken by the wrong party is ``Forbidden``.
"""

from __future__ import annotations

import dataclasses
import itertools
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from aftersales.domain import machine
from aftersales.domain.case import Case, Command, CounterOffer, Facts
from aftersales.domain.case_types import (
    TERMINAL_STATES,
    Action,
    ActorKind,
    CaseType,
    DeadlineKind,
    State,
)
from aftersales.domain.errors import Forbidden, IllegalTransition
from aftersales.domain.policy import Remedy
from tests.domain.conftest import TEST_REGION

if TYPE_CHECKING:
    from tests.domain.conftest import Builder

TRIPLES = [
    (t, s, a)
    for t, s, a in itertools.product(CaseType, State, Action)
    if a is not Action.OPEN  # the initial arrow, not a row of the table
]
LEGAL = [x for x in TRIPLES if machine.transition_for(x[1], x[2], x[0]) is not None]
ILLEGAL = [x for x in TRIPLES if machine.transition_for(x[1], x[2], x[0]) is None]


def _id(triple: tuple[CaseType, State, Action]) -> str:
    t, s, a = triple
    return f"{t.value}-{s.value}-{a.value}"


# A ruling routes on its remedy (R10.4, R11.1, R12.2): money or goods for the buyer wait for
# the merchant to execute them, goods that come back first go through the return, and a
# rejection opens the buyer's appeal window where buyers appeal, else closes the case.
RULING_ROUTES: dict[State, tuple[Remedy, ...]] = {
    State.AWAITING_EXECUTION: (Remedy.FULL_REFUND, Remedy.RESHIP),
    State.AWAITING_RETURN: (Remedy.RETURN_THEN_REFUND, Remedy.EXCHANGE),
    State.RULED: (Remedy.REJECT,),
    State.CLOSED: (Remedy.REJECT,),
}


def ruling_remedy(case_type: CaseType, target: State) -> Remedy | None:
    """The first remedy that fits the request type (REMEDY_TYPES) and routes to ``target``."""
    return next((r for r in RULING_ROUTES[target] if case_type in machine.REMEDY_TYPES[r]), None)


# accept_offer routes on the offer (R5.2): without return -> refunded, with -> awaiting_return;
# rule routes on the remedy (above). ``route`` picks the branch.
LEGAL_MOVES = []
for _t, _s, _a in LEGAL:
    if _a is Action.ACCEPT_OFFER:
        LEGAL_MOVES.append(pytest.param(_t, _s, _a, False, id=_id((_t, _s, _a)) + "-no_return"))
        if _t is not CaseType.REFUND_UNSHIPPED:  # nothing shipped: no offer can ask a return
            LEGAL_MOVES.append(
                pytest.param(_t, _s, _a, True, id=_id((_t, _s, _a)) + "-return_required")
            )
    elif _a is Action.RULE:
        _row = machine.transition_for(_s, _a, _t)
        assert _row is not None and set(_row.targets) == set(RULING_ROUTES)
        for _target in _row.targets:
            if ruling_remedy(_t, _target) is not None:  # e.g. nothing comes back unshipped
                LEGAL_MOVES.append(
                    pytest.param(_t, _s, _a, _target, id=_id((_t, _s, _a)) + f"-{_target.value}")
                )
    else:
        LEGAL_MOVES.append(pytest.param(_t, _s, _a, None, id=_id((_t, _s, _a))))

# The party that usually takes an action (used to show an illegal move is refused by the
# table, not by the actor check).
USUAL_ACTOR = {row.action: row.actor for row in machine.TRANSITIONS}
TIMEOUTS = frozenset(machine.DEADLINE_ACTIONS.values())


def moment(b: Builder, case: Case, action: Action) -> datetime:
    """When to take ``action``: a timeout once the case's deadline is due, any other move
    at ``now``, while the deadline is still running (R5)."""
    return b.due(case) if action in TIMEOUTS else b.now


def legal_move(
    b: Builder,
    case_type: CaseType,
    state: State,
    action: Action,
    route: bool | State | None,
) -> tuple[Case, Command, Facts]:
    """A case in ``state`` plus a command satisfying every guard of the row. ``route``: for
    accept_offer whether the offer asks for a return; for rule the target the remedy routes
    to (None: the ruling waits for execution)."""
    row = machine.transition_for(state, action, case_type)
    assert row is not None
    case = b.case(case_type, state)
    facts = b.facts(b.order_for(case_type))
    if action is Action.REGIONAL_AUTO_REFUND:  # R8.2: an order of the covered region
        facts = dataclasses.replace(
            facts, order=dataclasses.replace(facts.order, region=TEST_REGION)
        )
    if action is Action.REQUEST_INTERCEPT:  # R16.2: a parcel still travelling to the buyer
        facts = dataclasses.replace(facts, interceptable_parcel=b.sf_tracking)
    kw: dict[str, object] = {}
    if action is Action.REJECT:
        code = b.refusal_code_for("review", case.reason, facts.order, case.lines)
        kw = {"refusal_code": code.code, "evidence": b.evidence_for(code), "note": "已协商"}
    elif action is Action.REFUSE_REFUND:
        code = b.refusal_code_for("after_receipt", case.reason, facts.order, case.lines)
        kw = {"refusal_code": code.code, "evidence": b.evidence_for(code), "note": "退回破损"}
    elif action in (Action.SHIP_RETURN, Action.SHIP_REPLACEMENT):
        kw = {"carrier": b.sf_tracking[0], "tracking_number": b.sf_tracking[1]}
    elif action is Action.COUNTER_OFFER:
        cap = b.cap(case, facts)
        kw = {"amount": b.money(max(cap.amount // 2, 1)), "note": "部分退款"}
    elif action in (Action.EDIT_REQUEST, Action.RESUBMIT):
        kw = {"description": "补充了照片和说明"}
    elif action is Action.ACCEPT_OFFER:
        assert isinstance(route, bool)
        amount = max(b.cap(case, facts).amount // 2, 1)
        case = dataclasses.replace(case, offer=CounterOffer(b.money(amount), route, "部分退款"))
    elif action is Action.RULE:  # R10.4: a remedy that fits the type, with its reasons
        target = State.AWAITING_EXECUTION if route is None else route
        assert isinstance(target, State)
        kw = {"remedy": ruling_remedy(case_type, target), "note": "证据支持该结论"}
    elif action is Action.RULING_OVERTURNED:  # R12.1: the upheld appeal, in writing
        kw = {"note": "商家申诉成立：新证据显示已按约发货"}
    if state is State.AWAITING_EXECUTION:  # R11.1: executed as ruled, money or goods
        if action is Action.REFUND and case.agreed is None:
            case = dataclasses.replace(case, agreed=b.cap(case, facts))
        elif action is Action.SHIP_REPLACEMENT:
            case = dataclasses.replace(case, agreed=None)
    return case, Command(action, row.actor, **kw), facts  # type: ignore[arg-type]


@pytest.mark.parametrize(("case_type", "state", "action", "route"), LEGAL_MOVES)
def test_R5_1_every_legal_move_lands_where_the_table_says(
    build: Builder,
    build_douyin_appeals: Builder,
    case_type: CaseType,
    state: State,
    action: Action,
    route: bool | State | None,
) -> None:
    row = machine.transition_for(state, action, case_type)
    assert row is not None
    if route is State.CLOSED:  # R12.2: where buyers do not appeal, a rejection closes
        build = build_douyin_appeals
    case, cmd, facts = legal_move(build, case_type, state, action, route)
    before = dataclasses.replace(case)
    at = moment(build, case, action)

    out = machine.apply(case, cmd, facts, build.profile, at)

    assert out.to_state in row.targets
    assert out.case.state is out.to_state
    assert out.from_state is state
    assert out.rule == row.rule and out.rule.startswith("R")
    if action is Action.ACCEPT_OFFER:
        expected = State.AWAITING_RETURN if route else State.REFUNDED
        assert out.to_state is expected
        assert case.offer is not None
        assert out.case.agreed == case.offer.amount
    elif action is Action.RULE:
        assert out.to_state is route
        assert out.case.agreed == machine.ruled_amount(case, cmd, facts, build.profile)
    else:
        assert len(row.targets) == 1
    # The deadline after the move is the one of the state it landed in.
    expected_kind = machine.STATE_DEADLINES.get(out.to_state)
    assert out.case.deadline_kind is expected_kind
    assert (out.deadline is None) is (expected_kind is None)
    # Terminal states close the case; only refunded carries a refund decision (R5.2 cap).
    if out.to_state in TERMINAL_STATES:
        assert out.case.closed_at == at
        assert out.case.close_reason == action.value
    if out.to_state is State.REFUNDED:
        assert out.refund is not None
        assert 0 < out.refund.amount.amount <= build.cap(case, facts).amount
    else:
        assert out.refund is None
    # apply never mutates the case it was given
    assert case == before


@pytest.mark.parametrize(("case_type", "state", "action"), ILLEGAL, ids=[_id(x) for x in ILLEGAL])
def test_R5_illegal_moves_raise_naming_a_rule(
    build: Builder, case_type: CaseType, state: State, action: Action
) -> None:
    case = build.case(case_type, state)
    facts = build.facts(build.order_for(case_type))
    cmd = Command(action, USUAL_ACTOR.get(action, ActorKind.BUYER))

    with pytest.raises(IllegalTransition) as err:
        machine.apply(case, cmd, facts, build.profile, build.now)

    assert err.value.code == "transition.illegal"
    assert isinstance(err.value.rule, str) and err.value.rule.startswith("R")
    assert len(err.value.rule) > 1


@pytest.mark.parametrize(("case_type", "state", "action"), LEGAL, ids=[_id(x) for x in LEGAL])
def test_R1_2_wrong_actor_is_forbidden(
    build: Builder, case_type: CaseType, state: State, action: Action
) -> None:
    row = machine.transition_for(state, action, case_type)
    assert row is not None
    case, cmd, facts = legal_move(
        build, case_type, state, action, False if action is Action.ACCEPT_OFFER else None
    )
    for actor in ActorKind:
        if actor is row.actor:
            continue
        with pytest.raises(Forbidden) as err:
            machine.apply(
                case,
                dataclasses.replace(cmd, actor=actor),
                facts,
                build.profile,
                moment(build, case, action),
            )
        assert err.value.rule is not None and err.value.rule.startswith("R")


def test_R5_terminal_states_have_no_moves() -> None:
    assert not [row for row in machine.TRANSITIONS if row.state in TERMINAL_STATES]


def test_R5_every_non_terminal_target_has_a_way_out() -> None:
    """No dead ends: wherever a move lands a case of a type, that type can move on."""
    dead = [
        (t.value, row.state.value, row.action.value, target.value)
        for row in machine.TRANSITIONS
        for t in row.types
        for target in row.targets
        if target not in TERMINAL_STATES
        and not any(r.state is target and t in r.types for r in machine.TRANSITIONS)
    ]
    assert dead == []


def test_R5_each_deadline_fires_a_system_move_from_its_state() -> None:
    """Every state that holds a deadline has the system move the deadline fires (R5.1-R5.6),
    for every type that can be in that state."""
    reachable = {
        (target, t) for row in machine.TRANSITIONS for t in row.types for target in row.targets
    } | {(State.AWAITING_MERCHANT, t) for t in CaseType}
    missing = []
    for state, kind in machine.STATE_DEADLINES.items():
        action = machine.DEADLINE_ACTIONS[kind]
        for t in CaseType:
            if (state, t) not in reachable:
                continue
            row = machine.transition_for(state, action, t)
            if row is None or row.actor is not ActorKind.SYSTEM:
                missing.append((t.value, state.value, action.value))
    assert missing == []


def test_R5_table_offers_each_party_only_its_own_buttons(build: Builder) -> None:
    case = build.case(CaseType.RETURN_REFUND, State.AWAITING_MERCHANT)
    merchant = set(machine.available_actions(case, ActorKind.MERCHANT))
    buyer = set(machine.available_actions(case, ActorKind.BUYER))
    assert Action.APPROVE_RETURN in merchant and Action.REJECT in merchant
    assert Action.CANCEL in buyer and Action.EDIT_REQUEST in buyer
    assert not merchant & buyer


def test_R5_3_return_shipment_deadline_is_read_from_the_profile(build: Builder) -> None:
    """A move into a state with a fresh deadline plans it ``now + profile delay``."""
    case, cmd, facts = legal_move(
        build, CaseType.RETURN_REFUND, State.AWAITING_MERCHANT, Action.APPROVE_RETURN, None
    )
    out = machine.apply(case, cmd, facts, build.profile, build.now)
    assert out.deadline is not None
    assert out.deadline.due_at == build.now + timedelta(
        days=build.profile.handling.buyer_ship_return_days
    )


# Who must act before each deadline (R5.1-R5.6, R11.1, R12.2). Once it has passed that
# party's moves are refused and the timeout decides; the other party may still act. Nobody
# is late for the replacement confirmation: the buyer may still confirm after the
# auto-confirm time.
LATE_PARTY: dict[DeadlineKind, tuple[ActorKind, str]] = {
    DeadlineKind.MERCHANT_RESPONSE: (ActorKind.MERCHANT, "R5.1"),
    DeadlineKind.BUYER_OFFER_RESPONSE: (ActorKind.BUYER, "R5.2"),
    DeadlineKind.RETURN_SHIPMENT: (ActorKind.BUYER, "R5.3"),
    DeadlineKind.MERCHANT_RECEIPT: (ActorKind.MERCHANT, "R5.4"),
    DeadlineKind.RESUBMIT_WINDOW: (ActorKind.BUYER, "R5.6"),
    DeadlineKind.RULING_EXECUTION: (ActorKind.MERCHANT, "R11.1"),
    DeadlineKind.APPEAL_WINDOW: (ActorKind.BUYER, "R12.2"),
}
MOVES_UNDER_A_DEADLINE = [
    pytest.param(t, s, a, id=_id((t, s, a)))
    for t, s, a in LEGAL
    if s in machine.STATE_DEADLINES and a not in TIMEOUTS
]


@pytest.mark.parametrize(("case_type", "state", "action"), MOVES_UNDER_A_DEADLINE)
def test_R5_once_a_deadline_is_due_only_the_other_party_may_still_move(
    build: Builder, case_type: CaseType, state: State, action: Action
) -> None:
    row = machine.transition_for(state, action, case_type)
    assert row is not None
    case, cmd, facts = legal_move(
        build, case_type, state, action, False if action is Action.ACCEPT_OFFER else None
    )
    kind = machine.STATE_DEADLINES[state]
    assert case.deadline_kind is kind
    due = build.due(case)

    # One second before the deadline every party's move is still in time.
    try:
        in_time = machine.apply(case, cmd, facts, build.profile, due - timedelta(seconds=1))
    except IllegalTransition as exc:
        # A resubmission is checked like a new request: douyin's week to resubmit outlasts
        # the seven-day no-reason window, which then refuses it on its own account (R4.1).
        assert (action, exc.rule) == (Action.RESUBMIT, "R4.1")
    else:
        assert in_time.to_state in row.targets

    late = LATE_PARTY.get(kind)
    if late is not None and row.actor is late[0]:
        with pytest.raises(IllegalTransition) as err:
            machine.apply(case, cmd, facts, build.profile, due)
        assert err.value.code == "deadline.passed"
        assert err.value.rule == late[1]
    else:
        out = machine.apply(case, cmd, facts, build.profile, due)
        assert out.to_state in row.targets
