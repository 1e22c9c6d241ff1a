"""The named guards of the merchant's and the buyer's moves (R5): amounts, offers, edits,
refusals with their proof, tracking numbers, return freight and the return address."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from aftersales.domain.case import (
    Case,
    Command,
    Facts,
)
from aftersales.domain.catalog import Order
from aftersales.domain.errors import IllegalTransition, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.logistics import validate_tracking
from aftersales.domain.machine.caps import cap_of, exceeds_paid, refund_amount
from aftersales.domain.machine.vocabulary import RETURN_OFFER_TYPES, A, Guard, T
from aftersales.domain.money import Money
from aftersales.domain.policy import (
    Profile,
    RefusalCode,
)
from aftersales.domain.reasons import reason
from aftersales.domain.windows import check_window


# --------------------------------------------------------------------------- guards
def guard_amount_within_paid(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    """R5.2: a refund never exceeds what was paid for the lines (plus refundable freight)."""
    amount = cmd.amount if cmd.amount is not None else (case.agreed or case.requested)
    check_within_paid(case, amount, facts, profile, given=cmd.amount is not None)


def check_within_paid(
    case: Case, amount: Money, facts: Facts, profile: Profile, *, given: bool
) -> None:
    """R5.2 for ``amount``; ``given``: the caller named it (its refusal names the field)."""
    if amount.currency != facts.order.currency:
        raise ValidationFailed(
            "amount.currency",
            N_("The amount must be in {currency}."),
            rule="R5.2",
            field="amount",
            currency=facts.order.currency,
        )
    if amount.amount <= 0 and case.type not in (T.EXCHANGE, T.RESHIP):
        raise ValidationFailed(
            "amount.not_positive", N_("The amount must be positive."), rule="R5.2", field="amount"
        )
    if amount.amount < 0:
        raise ValidationFailed(
            "amount.negative", N_("The amount cannot be negative."), rule="R5.2", field="amount"
        )
    cap = cap_of(case, facts, profile)
    if amount > cap:
        raise exceeds_paid(amount, cap, given=given)


def guard_refund_positive(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    """R5.2: a refund moves a positive amount no larger than what was paid."""
    accepting = cmd.action is A.ACCEPT_OFFER and case.offer is not None  # the offer's amount
    given = cmd.amount is not None and not accepting
    check_refund(case, refund_amount(case, cmd, facts, profile), facts, profile, given=given)


def check_refund(case: Case, amount: Money, facts: Facts, profile: Profile, *, given: bool) -> None:
    if amount.amount <= 0:
        raise ValidationFailed(
            "amount.not_positive", N_("The amount must be positive."), rule="R5.2", field="amount"
        )
    check_within_paid(case, amount, facts, profile, given=given)


def no_return_needed(case: Case, facts: Facts, profile: Profile) -> str | None:
    """R8.1: why the goods need not come back (counterfeit, completely broken, lost,
    custom-made), as the reason code or product flag that says so; None when they must."""
    rules = profile.refund_without_return
    if rules is None:
        return None
    if case.reason in rules.reasons:
        return case.reason
    for line, _ in facts.lines_of(case.lines):
        for flag in rules.product_flags:
            if flag in line.product.flags:
                return flag.value
    return None


def regional_auto_refund(case: Case, order: Order, profile: Profile) -> str | None:
    """R8.2: the regional rule under which this refund-without-return request is approved
    with no merchant action (the order's region, paid on or after the rule's start date in
    the profile's time zone, the amount in the rule's range, both ends included)."""
    rules = profile.refund_without_return
    if rules is None or case.type is not T.REFUND_ONLY or order.region is None:
        return None
    from zoneinfo import ZoneInfo

    paid_on = order.paid_at.astimezone(ZoneInfo(profile.timezone)).date().isoformat()
    for rule in rules.auto_approval:
        if (
            rule.region == order.region
            and paid_on >= rule.from_date
            and rule.min_amount <= case.requested.amount <= rule.max_amount
        ):
            return rule.region
    return None


def guard_regional_auto_refund(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    """R8.2: only a request a regional rule covers is refunded without the merchant."""
    if regional_auto_refund(case, facts.order, profile) is None:
        raise IllegalTransition(
            "refund.no_regional_rule",
            N_("No regional rule approves this request automatically."),
            rule="R8.2",
        )


def guard_offer_valid(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    """R5.2: a counter-offer names a positive amount within what was paid; R8.1: it cannot
    ask for goods back that need not come back."""
    if cmd.return_required and (why := no_return_needed(case, facts, profile)) is not None:
        raise ValidationFailed(
            "offer.return_not_needed",
            N_("No return is needed for this request ({why}): refund without return."),
            rule="R8.1",
            field="return_required",
            why=why,
        )
    if cmd.amount is None:
        raise ValidationFailed(
            "offer.amount_missing",
            N_("A counter-offer needs an amount."),
            rule="R5.2",
            field="amount",
        )
    if cmd.return_required and case.type not in RETURN_OFFER_TYPES:
        raise ValidationFailed(
            "offer.return_not_possible",
            N_("A return cannot be asked for on this kind of request."),
            rule="R5.2",
            field="return_required",
        )
    guard_refund_positive(case, cmd, facts, profile, now)


def guard_edit_limit(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    """R5.6: a request may be edited at most ``max_buyer_edits`` times (tiktok: twice)."""
    limit = profile.handling.max_buyer_edits
    if limit is not None and case.edits >= limit:
        raise IllegalTransition(
            "request.edit_limit",
            N_("This request has already been edited {limit} times."),
            rule="R5.6",
            limit=limit,
        )


def guard_edit_valid(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    """R5.2/R5.6/R4: an edit within the edit limit; the edited request must still hold."""
    guard_edit_limit(case, cmd, facts, profile, now)
    guard_request_still_valid(case, cmd, facts, profile, now)


def guard_request_still_valid(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    """R2/R4/R5.2: with its new reason and amount, the request is still within its window,
    within what was paid (the cap depends on the reason), and goods-only for exchange and
    reship."""
    new_reason = cmd.reason or case.reason
    reason(new_reason)
    check_window(
        facts.order,
        [line for line, _ in facts.lines_of(case.lines)],
        new_reason,
        case.type,
        profile,
        now,
    )
    if case.type in (T.EXCHANGE, T.RESHIP):
        if cmd.amount is not None and cmd.amount.amount != 0:
            raise ValidationFailed(
                "amount.goods_only",
                N_("An exchange or reship moves goods, not money: the amount must be 0."),
                rule="R2",
                field="amount",
            )
        return
    probe = dataclasses.replace(case, reason=new_reason, agreed=None)
    amount = cmd.amount if cmd.amount is not None else case.requested
    check_within_paid(probe, amount, facts, profile, given=cmd.amount is not None)


def guard_resubmit_window(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    """R5.6: after a refusal the buyer may resubmit within the profile's window."""
    assert case.rejected_at is not None
    closes = case.rejected_at + timedelta(hours=profile.handling.resubmit_window_hours)
    if now >= closes:
        raise IllegalTransition(
            "request.resubmit_window_closed",
            N_("The window to submit a new request closed at {closes}."),
            rule="R5.6",
            closes=closes.isoformat(),
        )
    guard_request_still_valid(case, cmd, facts, profile, now)


PROOF_FIELD = "evidence_ids"


def proof_rule(code: RefusalCode | None) -> str:
    """The rule a refusal's proof is judged by: R4.4 for the seal-sensitive ground (the
    merchant may refuse only with proof the goods were unsealed), R5.5 otherwise."""
    return "R4.4" if code is not None and code.rule == "R4.4" else "R5.5"


def _guard_refusal(stage: str) -> Guard:
    def guard(case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime) -> None:
        rule = "R5.5"
        if not cmd.refusal_code:
            raise ValidationFailed(
                "refusal.code_missing",
                N_("A refusal needs a reason code."),
                rule=rule,
                field="refusal_code",
            )
        code = profile.refusal_code(cmd.refusal_code)
        if code is None or stage not in code.stages:
            raise ValidationFailed(
                "refusal.code_unknown",
                N_("{code} is not a refusal reason at this stage."),
                rule=rule,
                field="refusal_code",
                code=cmd.refusal_code,
            )
        if not code.allowed:
            raise ValidationFailed(
                "refusal.ground_not_allowed",
                N_("{code} is not a ground for refusing this request."),
                rule=code.rule,
                field="refusal_code",
                code=code.code,
            )
        group = reason(case.reason).group
        if code.reason_groups and group not in code.reason_groups:
            raise ValidationFailed(
                "refusal.code_not_for_reason",
                N_("{code} cannot refuse a request with this reason."),
                rule=code.rule,
                field="refusal_code",
                code=code.code,
            )
        if code.requires_product_flag is not None:
            flagged = any(
                code.requires_product_flag in line.product.flags
                for line, _ in facts.lines_of(case.lines)
            )
            if not flagged:
                raise ValidationFailed(
                    "refusal.product_flag_missing",
                    N_("{code} applies only to {flag} goods."),
                    rule=code.rule,
                    field="refusal_code",
                    code=code.code,
                    flag=code.requires_product_flag.value,
                )
        # The kinds of the shop's evidence items the refusal names (the service resolved
        # the ids: each is an item the shop added to this case).
        kinds = ", ".join(k.value for k in code.evidence_kinds)
        wrong = [kind for kind in cmd.evidence if kind not in code.evidence_kinds]
        if code.evidence_kinds and wrong:
            raise ValidationFailed(
                "refusal.evidence_wrong_kind",
                N_("{code} rests on evidence of kind: {kinds}; not on {wrong}."),
                rule=proof_rule(code),
                field=PROOF_FIELD,
                code=code.code,
                kinds=kinds,
                wrong=", ".join(dict.fromkeys(k.value for k in wrong)),
            )
        if code.evidence_required and len(cmd.evidence) < code.min_evidence:
            raise IllegalTransition(
                "refusal.evidence_missing",
                N_("{code} needs evidence of kind: {kinds}."),
                rule=proof_rule(code),
                field=PROOF_FIELD,
                code=code.code,
                kinds=kinds,
            )

    guard.__name__ = f"guard_refusal_{stage}"
    guard.__doc__ = (
        f"R5.5: refusal at stage {stage!r} names a valid code and rests on the shop's "
        "evidence items of the kinds the code requires."
    )
    return guard


guard_refusal_review = _guard_refusal("review")
guard_refusal_after_receipt = _guard_refusal("after_receipt")


def guard_tracking_valid(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    """R5.3: carrier format valid and the number not used on another case."""
    if not cmd.carrier or not cmd.tracking_number:
        raise ValidationFailed(
            "tracking.missing",
            N_("Carrier and tracking number are required."),
            rule="R5.3",
            field="tracking_number",
        )
    validate_tracking(cmd.carrier, cmd.tracking_number)
    if facts.tracking_in_use:
        raise IllegalTransition(
            "tracking.reused",
            N_("Tracking number {number} is already used on another case."),
            rule="R5.3",
            field="tracking_number",
            number=cmd.tracking_number,
        )


def guard_return_freight(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    """R16.3: the return freight a buyer claims lies within the profile's cap."""
    if cmd.freight is not None and not 0 <= cmd.freight <= profile.money.max_return_freight:
        raise ValidationFailed(
            "freight.out_of_range",
            N_("Return freight must be between 0.01 and {cap}."),
            rule="R16.3",
            field="freight",
            cap=Money(profile.money.max_return_freight, facts.order.currency).format(),
        )


def guard_return_address(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    """R5.1: approving a return sends a return address to the buyer."""
    check_return_address(cmd.return_address or facts.shop_return_address or "")


def check_return_address(address: str) -> str:
    """R5.1: an approved return sends this address to the buyer, so it cannot be blank
    (a shop's address when it is set, the one an approval names). Returns it trimmed."""
    if not address.strip():
        raise ValidationFailed(
            "return.address_missing",
            N_("The shop has no return address."),
            rule="R5.1",
            field="return_address",
        )
    return address.strip()
