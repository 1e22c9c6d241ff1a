"""R16.2 logistics intercepts: the guard that offers or refuses one, and what a move
records about the parcel."""

from __future__ import annotations

from datetime import datetime

from aftersales.domain.case import (
    Case,
    Command,
    Facts,
)
from aftersales.domain.case_types import ActorKind, State
from aftersales.domain.errors import IllegalTransition
from aftersales.domain.i18n import N_
from aftersales.domain.machine.profile_rules import intercept_offered
from aftersales.domain.machine.vocabulary import REFUND_TYPES, A, S
from aftersales.domain.policy import (
    Profile,
)


def intercept_missed(case: Case, facts: Facts, profile: Profile) -> bool:
    """R16.2: refunding a refund request while its order's parcel could still have been
    intercepted, and no intercept was asked for on the case, counts against the merchant."""
    return (
        case.type in REFUND_TYPES
        and intercept_offered(profile)
        and facts.interceptable_parcel is not None
        and not facts.intercept_attempted
    )


def guard_intercept_possible(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    """R16.2: an intercept needs the marketplace to offer them and a parcel of the order
    still travelling to the buyer with no intercept pending on it."""
    if not intercept_offered(profile):
        raise IllegalTransition(
            "intercept.not_offered",
            N_("Logistics intercepts are not offered on this marketplace."),
            rule="R16.2",
        )
    if facts.interceptable_parcel is None:
        raise IllegalTransition(
            "intercept.no_parcel",
            N_("No parcel of this order can be intercepted now."),
            rule="R16.2",
        )


def intercept_changes(
    case: Case, cmd: Command, facts: Facts, profile: Profile, actor: ActorKind, target: State
) -> dict[str, tuple[object, object]]:
    """R16.2 facts a timeline entry records: the parcel an intercept was asked for, or a
    merchant refund that missed a possible intercept."""
    parcel = facts.interceptable_parcel
    if parcel is None:
        return {}
    named = {"carrier": parcel[0], "tracking_number": parcel[1], "rule": "R16.2"}
    if cmd.action is A.REQUEST_INTERCEPT:
        return {"intercept": (None, named)}
    if (
        actor is ActorKind.MERCHANT
        and target is S.REFUNDED
        and intercept_missed(case, facts, profile)
    ):
        return {"intercept_missed": (None, named)}
    return {}
