"""One move: :func:`apply` finds the row, checks its actor, deadline and guards, runs its
effect and returns the :class:`Outcome`; :func:`available_actions` offers the moves whose
guards pass."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from aftersales.domain.case import (
    Case,
    Command,
    DeadlinePlan,
    Facts,
    Outcome,
    RefundDecision,
)
from aftersales.domain.case_types import Action, ActorKind, CaseType, State
from aftersales.domain.errors import Forbidden, IllegalTransition, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.machine.caps import refund_amount
from aftersales.domain.machine.deadlines import guard_deadline, plan_deadline
from aftersales.domain.machine.parcels import guard_intercept_possible, intercept_changes
from aftersales.domain.machine.table import TRANSITIONS, transition_for
from aftersales.domain.machine.vocabulary import A, Guard, S
from aftersales.domain.policy import (
    Profile,
)

OFFER_GUARDS: frozenset[Guard] = frozenset({guard_intercept_possible})  # R16.2


def available_actions(
    case: Case,
    actor: ActorKind,
    now: datetime | None = None,
    *,
    facts: Facts | None = None,
    profile: Profile | None = None,
) -> list[Action]:
    """Actions the table offers this actor on this case (what the UI shows as buttons).
    With ``now``, the deadline guard applies too: a party whose time ran out gets none.
    With the ``facts`` and ``profile`` a move would load, the row's guards that need no
    input (``OFFER_GUARDS``) apply as well, so a button and the refusal never disagree."""
    offered = []
    for row in TRANSITIONS:
        if row.state is not case.state or case.type not in row.types or row.actor is not actor:
            continue
        cmd = Command(row.action, actor)
        try:
            if now is not None:
                guard_deadline(case, cmd, now)
            if facts is not None and profile is not None and now is not None:
                for guard in row.guards:
                    if guard in OFFER_GUARDS:
                        guard(case, cmd, facts, profile, now)
        except (IllegalTransition, ValidationFailed):
            continue
        offered.append(row.action)
    return offered


def _rule_for_illegal(state: State, action: Action, case_type: CaseType) -> str:
    """The rule that explains why no row exists: the rule of the action elsewhere."""
    for row in TRANSITIONS:
        if row.action is action and case_type in row.types:
            return row.rule
    for row in TRANSITIONS:
        if row.action is action:
            return row.rule
    return "R2"


def _snapshot(case: Case) -> dict[str, object]:
    return {f.name: getattr(case, f.name) for f in dataclasses.fields(case)}


def apply(case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime) -> Outcome:
    """Take one move. Returns the case after it; never mutates the case passed in."""
    row = transition_for(case.state, cmd.action, case.type)
    if row is None:
        rule = _rule_for_illegal(case.state, cmd.action, case.type)
        raise IllegalTransition(
            "transition.illegal",
            N_("A {type} request in state {state} cannot take action {action}."),
            rule=rule,
            type=case.type.value,
            state=case.state.value,
            action=cmd.action.value,
        )
    if cmd.actor is not row.actor:
        raise Forbidden(
            "transition.wrong_actor",
            N_("Only the {expected} may take action {action}."),
            rule=row.rule if row.actor is not ActorKind.MERCHANT else "R1.2",
            expected=row.actor.value,
            action=cmd.action.value,
        )
    guard_deadline(case, cmd, now, row.rule)
    for guard in row.guards:
        guard(case, cmd, facts, profile, now)
    after = dataclasses.replace(case)
    routed = row.effect(after, cmd, facts, profile, now)
    target = routed or row.targets[0]
    assert target in row.targets, f"effect routed {row.action} to {target} outside the table"
    before_snapshot = _snapshot(case)
    after.state = target
    after.updated_at = now
    if target.terminal:
        after.closed_at = now
        after.close_reason = cmd.action.value
    refund = None
    if target is S.REFUNDED:
        if after.agreed is None:
            after.agreed = refund_amount(case, cmd, facts, profile)
        refund = RefundDecision(after.lines, after.agreed, after.reason, row.rule, now)
    deadline, keep = plan_deadline(case, after, profile, now)
    if cmd.action is A.REQUEST_INTERCEPT and case.deadline_kind and case.deadline_at:
        # R16.2: asking for an intercept does not stop the merchant's R5.1 clock.
        deadline, keep = DeadlinePlan(case.deadline_kind, case.deadline_at), True
    after.deadline_kind = deadline.kind if deadline else None
    after.deadline_at = deadline.due_at if deadline else None
    changes = {
        k: (v, getattr(after, k))
        for k, v in before_snapshot.items()
        if getattr(after, k) != v and k not in ("updated_at", "version")
    }
    changes.update(intercept_changes(case, cmd, facts, profile, row.actor, target))
    return Outcome(after, cmd.action, row.rule, case.state, target, changes, refund, deadline, keep)
