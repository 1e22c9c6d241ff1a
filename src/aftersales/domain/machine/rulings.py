"""R9-R12 in the table: the remedies a ruling may give on each request type (R10.4), the
money it gives, and the guards and effects of ruling, executing and overturning."""

from __future__ import annotations

from datetime import datetime

from aftersales.domain.case import (
    Case,
    Command,
    Facts,
)
from aftersales.domain.case_types import CaseType, State
from aftersales.domain.errors import IllegalTransition, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.machine.caps import cap_of
from aftersales.domain.machine.guards import (
    check_refund,
    guard_return_address,
    guard_tracking_valid,
)
from aftersales.domain.machine.profile_rules import buyer_may_appeal
from aftersales.domain.machine.vocabulary import ALL_TYPES, S, T
from aftersales.domain.money import Money
from aftersales.domain.policy import (
    Profile,
    Remedy,
)

# can come back; an exchange or a reship sends goods.
REMEDY_TYPES: dict[Remedy, frozenset[CaseType]] = {
    Remedy.FULL_REFUND: ALL_TYPES,
    Remedy.PARTIAL_REFUND: ALL_TYPES - {T.EXCHANGE, T.RESHIP},
    Remedy.REFUND_WITHOUT_RETURN: ALL_TYPES - {T.REFUND_UNSHIPPED},
    Remedy.RETURN_THEN_REFUND: frozenset({T.REFUND_ONLY, T.RETURN_REFUND}),
    Remedy.EXCHANGE: frozenset({T.EXCHANGE}),
    Remedy.RESHIP: frozenset({T.RESHIP}),
    Remedy.REJECT: ALL_TYPES,
}
REFUND_REMEDIES = frozenset(
    {Remedy.FULL_REFUND, Remedy.PARTIAL_REFUND, Remedy.REFUND_WITHOUT_RETURN}
)


def ruled_amount(case: Case, cmd: Command, facts: Facts, profile: Profile) -> Money | None:
    """R10.4: the money a ruling gives: a full refund is what the buyer asked for (what
    was paid, for goods-only requests); a partial refund names its amount; goods remedies
    and a rejection move no money now (None)."""
    remedy = cmd.remedy
    if remedy is Remedy.PARTIAL_REFUND:
        return cmd.amount
    if remedy in (Remedy.FULL_REFUND, Remedy.REFUND_WITHOUT_RETURN, Remedy.RETURN_THEN_REFUND):
        if cmd.amount is not None:
            return cmd.amount
        if case.type in (T.EXCHANGE, T.RESHIP) or case.requested.amount == 0:
            return cap_of(case, facts, profile)
        return case.requested
    return None


def guard_ruling_valid(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    """R10.4/R10.5: a ruling names a remedy that fits the request, with a written reason;
    its money stays within what was paid (R5.2) and a partial refund is less than asked."""
    if cmd.remedy is None:
        raise ValidationFailed(
            "ruling.remedy_missing", N_("A ruling names a remedy."), rule="R10.4", field="remedy"
        )
    if case.type not in REMEDY_TYPES[cmd.remedy]:
        raise ValidationFailed(
            "ruling.remedy_not_for_type",
            N_("Remedy {remedy} does not fit a {type} request."),
            rule="R10.4",
            field="remedy",
            remedy=cmd.remedy.value,
            type=case.type.value,
        )
    if cmd.remedy is Remedy.RETURN_THEN_REFUND or cmd.remedy is Remedy.EXCHANGE:
        guard_return_address(case, cmd, facts, profile, now)
    amount = ruled_amount(case, cmd, facts, profile)
    if cmd.remedy is Remedy.PARTIAL_REFUND and amount is None:
        raise ValidationFailed(
            "ruling.amount_missing",
            N_("A partial refund names its amount."),
            rule="R10.4",
            field="amount",
        )
    if amount is not None:
        check_refund(case, amount, facts, profile, given=cmd.amount is not None)
        full = case.requested if case.requested.amount > 0 else cap_of(case, facts, profile)
        whole = (Remedy.FULL_REFUND, Remedy.REFUND_WITHOUT_RETURN)
        if cmd.remedy in whole and amount != full:
            raise ValidationFailed(
                "ruling.full_is_full",
                N_("A full refund is the {full} asked for; a smaller one is a partial refund."),
                rule="R10.4",
                field="amount",
                full=full.format(),
            )
        if cmd.remedy is Remedy.PARTIAL_REFUND and amount >= full:
            raise ValidationFailed(
                "ruling.partial_not_less",
                N_("A partial refund must be less than the {full} asked for."),
                rule="R10.4",
                field="amount",
                full=full.format(),
            )
    elif cmd.amount is not None and cmd.amount.amount != 0:
        raise ValidationFailed(
            "ruling.amount_not_allowed",
            N_("Remedy {remedy} moves no money: leave the amount out."),
            rule="R10.4",
            field="amount",
            remedy=cmd.remedy.value,
        )


def effect_rule(case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime) -> State:
    """R10.4/R11.1: a win for the buyer goes to the merchant to execute (money or goods),
    or back through the return; a loss closes the case, or opens the buyer's appeal window
    where buyers appeal (R12.2)."""
    assert cmd.remedy is not None
    case.offer = None
    case.agreed = ruled_amount(case, cmd, facts, profile)
    if cmd.remedy is Remedy.REJECT:
        return S.RULED if buyer_may_appeal(profile) else S.CLOSED
    if cmd.remedy in (Remedy.RETURN_THEN_REFUND, Remedy.EXCHANGE):
        case.return_address = cmd.return_address or facts.shop_return_address
        return S.AWAITING_RETURN
    return S.AWAITING_EXECUTION


def guard_execution_refund(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    """R11.1: the merchant executes the ruling as ruled: the ruled amount, or goods."""
    if case.agreed is None or case.agreed.amount == 0:
        raise IllegalTransition(
            "ruling.goods_remedy",
            N_("The ruling sends goods: ship the replacement."),
            rule="R11.1",
        )
    if cmd.amount is not None and cmd.amount != case.agreed:
        raise ValidationFailed(
            "ruling.amount_differs",
            N_("The ruling refunds {amount}."),
            rule="R11.1",
            field="amount",
            amount=case.agreed.format(),
        )


def guard_execution_goods(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    """R11.1: a ruling that refunds money is not executed by sending goods."""
    if case.agreed is not None and case.agreed.amount > 0:
        raise IllegalTransition(
            "ruling.money_remedy",
            N_("The ruling refunds {amount}: refund it."),
            rule="R11.1",
            amount=case.agreed.format(),
        )
    guard_tracking_valid(case, cmd, facts, profile, now)


def guard_overturn_reason(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    """R12.1: only a merchant's upheld appeal overturns a ruling (the service checks it;
    the note records which)."""
    if not cmd.note:
        raise ValidationFailed(
            "ruling.overturn_reason",
            N_("Overturning a ruling needs a written reason."),
            rule="R12.1",
            field="note",
        )
