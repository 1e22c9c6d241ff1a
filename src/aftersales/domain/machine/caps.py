"""R5.2 money caps: what can still be refunded on a case, and the refusals that name it."""

from __future__ import annotations

from aftersales.domain.case import (
    Case,
    CaseLine,
    Command,
    Facts,
)
from aftersales.domain.case_types import CaseType
from aftersales.domain.catalog import Order
from aftersales.domain.errors import DomainError, IllegalTransition, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.machine.vocabulary import A, T
from aftersales.domain.money import Money
from aftersales.domain.policy import (
    Profile,
)
from aftersales.domain.reasons import reason


# --------------------------------------------------------------------------- money
def max_refundable(
    order: Order,
    lines: tuple[CaseLine, ...],
    case_type: CaseType,
    reason_code: str,
    profile: Profile,
    already_refunded: Money,
) -> Money:
    """R5.2: what was paid for the lines, plus freight where refundable, less refunds made."""
    total = Money.zero(order.currency)
    whole_order = True
    for ol in order.lines:
        qty = next((cl.quantity for cl in lines if cl.order_line_id == ol.id), 0)
        if qty:
            total = total + ol.paid_for(qty)
        if qty < ol.quantity:
            whole_order = False
    group = reason(reason_code).group
    freight_ok = (
        profile.handling.freight_refundable
        and whole_order
        and (case_type is T.REFUND_UNSHIPPED or profile.is_merchant_side(group))
    )
    if freight_ok:
        total = total + order.freight
    remaining = order.total_paid - already_refunded
    return total if total <= remaining else remaining


def cap_of(case: Case, facts: Facts, profile: Profile) -> Money:
    return max_refundable(
        facts.order, case.lines, case.type, case.reason, profile, facts.already_refunded
    )


def exceeds_paid(amount: Money, cap: Money, *, given: bool) -> DomainError:
    """R5.2 refusing an amount above what can still be refunded: 422 naming ``amount``
    when the caller gave it (an input value), else 409 (what the case already holds no
    longer fits, e.g. an edit's new reason lowered the cap)."""
    params = {"amount": amount.format(), "cap": cap.format(), "rule": "R5.2"}
    message = N_("{amount} exceeds the {cap} paid for these lines.")
    if given:
        return ValidationFailed("amount.exceeds_paid", message, field="amount", **params)
    return IllegalTransition("amount.exceeds_paid", message, **params)


def refund_amount(case: Case, cmd: Command, facts: Facts, profile: Profile) -> Money:
    if cmd.action is A.ACCEPT_OFFER and case.offer is not None:
        return case.offer.amount  # R5.2: the buyer accepts the offered amount
    if cmd.amount is not None:
        return cmd.amount
    if case.agreed is not None:
        return case.agreed
    if case.type in (T.EXCHANGE, T.RESHIP) or case.requested.amount == 0:
        return cap_of(case, facts, profile)  # a refund instead of goods: what was paid
    return case.requested
