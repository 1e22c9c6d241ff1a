"""Deadlines as data: which deadline each state holds (R5.1-R5.6, R11.1, R12.2, R16.1), the
timeout that fires it, who must act before it, how long it runs and how a move plans it."""

from __future__ import annotations

from datetime import datetime, timedelta

from aftersales.domain.case import (
    Case,
    Command,
    DeadlinePlan,
)
from aftersales.domain.case_types import Action, ActorKind, DeadlineKind, State
from aftersales.domain.errors import IllegalTransition
from aftersales.domain.i18n import N_
from aftersales.domain.machine.profile_rules import (
    appeal_rules,
    intervention_rules,
    logistics_rules,
)
from aftersales.domain.machine.vocabulary import A, S
from aftersales.domain.policy import (
    Profile,
)

STATE_DEADLINES: dict[State, DeadlineKind] = {
    S.AWAITING_MERCHANT: DeadlineKind.MERCHANT_RESPONSE,
    S.AWAITING_BUYER: DeadlineKind.BUYER_OFFER_RESPONSE,
    S.AWAITING_RETURN: DeadlineKind.RETURN_SHIPMENT,
    S.RETURN_DELIVERED: DeadlineKind.MERCHANT_RECEIPT,
    S.RETURN_RECEIVED: DeadlineKind.MERCHANT_RECEIPT,
    S.REPLACEMENT_SHIPPED: DeadlineKind.REPLACEMENT_CONFIRM,
    S.REJECTED: DeadlineKind.RESUBMIT_WINDOW,
    S.PARCEL_RETURNING: DeadlineKind.PARCEL_RETURN,  # R16.1
    S.AWAITING_EXECUTION: DeadlineKind.RULING_EXECUTION,  # R11.1
    S.RULED: DeadlineKind.APPEAL_WINDOW,  # R12.2
}

DEADLINE_ACTIONS: dict[DeadlineKind, Action] = {
    DeadlineKind.MERCHANT_RESPONSE: A.MERCHANT_TIMEOUT,
    DeadlineKind.BUYER_OFFER_RESPONSE: A.BUYER_OFFER_TIMEOUT,
    DeadlineKind.RETURN_SHIPMENT: A.RETURN_SHIP_TIMEOUT,
    DeadlineKind.MERCHANT_RECEIPT: A.RECEIPT_TIMEOUT,
    DeadlineKind.REPLACEMENT_CONFIRM: A.REPLACEMENT_CONFIRM_TIMEOUT,
    DeadlineKind.RESUBMIT_WINDOW: A.RESUBMIT_TIMEOUT,
    DeadlineKind.PARCEL_RETURN: A.PARCEL_RETURN_TIMEOUT,
    DeadlineKind.RULING_EXECUTION: A.EXECUTION_TIMEOUT,
    DeadlineKind.APPEAL_WINDOW: A.APPEAL_WINDOW_TIMEOUT,
}


# Who must act before each deadline, and the rule that sets it. Once it has passed, that
# party's actions are refused and the timeout decides (the worker fires it).
DEADLINE_PARTY: dict[DeadlineKind, tuple[ActorKind, str]] = {
    DeadlineKind.MERCHANT_RESPONSE: (ActorKind.MERCHANT, "R5.1"),
    DeadlineKind.BUYER_OFFER_RESPONSE: (ActorKind.BUYER, "R5.2"),
    DeadlineKind.RETURN_SHIPMENT: (ActorKind.BUYER, "R5.3"),
    DeadlineKind.MERCHANT_RECEIPT: (ActorKind.MERCHANT, "R5.4"),
    DeadlineKind.RESUBMIT_WINDOW: (ActorKind.BUYER, "R5.6"),
    DeadlineKind.RULING_EXECUTION: (ActorKind.MERCHANT, "R11.1"),
    DeadlineKind.APPEAL_WINDOW: (ActorKind.BUYER, "R12.2"),
}


def guard_deadline(case: Case, cmd: Command, now: datetime, rule: str = "R5") -> None:
    """A timeout fires only once its deadline is due; after it, the late party may not act.
    ``rule`` is the rule of the table row, named when a timeout is not due."""
    kind, due = case.deadline_kind, case.deadline_at
    is_timeout = cmd.action in DEADLINE_ACTIONS.values()
    if is_timeout:
        if kind is None or due is None or DEADLINE_ACTIONS[kind] is not cmd.action or now < due:
            raise IllegalTransition(
                "deadline.not_due",
                N_("No {action} deadline is due on this case."),
                rule=rule,
                action=cmd.action.value,
            )
        return
    if kind is None or due is None or now < due or kind not in DEADLINE_PARTY:
        return
    party, rule = DEADLINE_PARTY[kind]
    if cmd.actor is party:
        raise IllegalTransition(
            "deadline.passed",
            N_("The time to act ran out at {due}; the system decides this step."),
            rule=rule,
            due=due.isoformat(),
        )


def deadline_delay(kind: DeadlineKind, profile: Profile) -> timedelta:
    if kind is DeadlineKind.PARCEL_RETURN:  # R16.1
        return timedelta(hours=logistics_rules(profile).returned_parcel_timeout_hours)
    if kind is DeadlineKind.RULING_EXECUTION:  # R11.1
        return timedelta(hours=intervention_rules(profile).execution_hours)
    if kind is DeadlineKind.APPEAL_WINDOW:  # R12.2
        return timedelta(hours=appeal_rules(profile).buyer_window_hours)
    h = profile.handling
    return {
        DeadlineKind.MERCHANT_RESPONSE: timedelta(hours=h.merchant_response_hours),
        DeadlineKind.BUYER_OFFER_RESPONSE: timedelta(hours=h.buyer_offer_response_hours),
        DeadlineKind.RETURN_SHIPMENT: timedelta(days=h.buyer_ship_return_days),
        DeadlineKind.MERCHANT_RECEIPT: timedelta(hours=h.merchant_receipt_hours),
        DeadlineKind.REPLACEMENT_CONFIRM: timedelta(days=h.replacement_auto_confirm_days),
        DeadlineKind.RESUBMIT_WINDOW: timedelta(hours=h.resubmit_window_hours),
    }[kind]


def plan_deadline(
    before: Case, after: Case, profile: Profile, now: datetime
) -> tuple[DeadlinePlan | None, bool]:
    kind = STATE_DEADLINES.get(after.state)
    if kind is None:
        return None, False
    if (
        before.deadline_kind is kind
        and before.deadline_at is not None
        and before.state is not after.state
    ):
        return DeadlinePlan(kind, before.deadline_at), True  # R5.4: the clock keeps running
    return DeadlinePlan(kind, now + deadline_delay(kind, profile)), False
