"""The case state machine: ONE transition table for all five request types (R2, R5).

Each row is ``(state, action, types) -> targets`` with the actor allowed to take it, the
rule that defines the move, named guards that may refuse it, and an effect that updates
the case. An illegal move raises :class:`IllegalTransition` naming the rule. The table is
rendered into ``docs/architecture.md`` (a test keeps the two identical) and is asked by
interfaces which actions to offer, so the UI and the model never disagree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aftersales.domain.case import (
    Case,
    CaseLine,
    Command,
    CounterOffer,
    DeadlinePlan,
    Facts,
    Outcome,
    RefundDecision,
    Shipment,
)
from aftersales.domain.case_types import Action, ActorKind, CaseType, DeadlineKind, State
from aftersales.domain.catalog import Order
from aftersales.domain.errors import DomainError, Forbidden, IllegalTransition, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.logistics import validate_tracking
from aftersales.domain.money import Money
from aftersales.domain.policy import (
    AppealRules,
    InterventionRules,
    LogisticsRules,
    Profile,
    RefusalCode,
    Remedy,
)
from aftersales.domain.reasons import reason
from aftersales.domain.windows import check_window

S = State
A = Action
T = CaseType
ALL_TYPES = frozenset(CaseType)
REFUND_TYPES = frozenset({T.REFUND_UNSHIPPED, T.REFUND_ONLY})
RETURN_TYPES = frozenset({T.RETURN_REFUND, T.EXCHANGE})
# R5.2: a counter-offer may ask for the goods back only where the buyer holds them for a
# return: not before shipment, and not on a reship (the buyer is missing goods).
RETURN_OFFER_TYPES = RETURN_TYPES | {T.REFUND_ONLY}

Guard = Callable[[Case, Command, Facts, Profile, datetime], None]
Effect = Callable[[Case, Command, Facts, Profile, datetime], "State | None"]


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


def _cap(case: Case, facts: Facts, profile: Profile) -> Money:
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
    cap = _cap(case, facts, profile)
    if amount > cap:
        raise exceeds_paid(amount, cap, given=given)


def guard_refund_positive(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    """R5.2: a refund moves a positive amount no larger than what was paid."""
    accepting = cmd.action is A.ACCEPT_OFFER and case.offer is not None  # the offer's amount
    given = cmd.amount is not None and not accepting
    _check_refund(case, _refund_amount(case, cmd, facts, profile), facts, profile, given=given)


def _check_refund(
    case: Case, amount: Money, facts: Facts, profile: Profile, *, given: bool
) -> None:
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
    if not (cmd.return_address or facts.shop_return_address):
        raise ValidationFailed(
            "return.address_missing",
            N_("The shop has no return address."),
            rule="R5.1",
            field="return_address",
        )


# --------------------------------------------------------------------------- R16 parcels
def logistics_rules(profile: Profile) -> LogisticsRules:
    """R16: the profile's [logistics] table (services give a frozen version older than the
    table the current version's, as they do for [messages])."""
    if profile.logistics is None:
        raise RuntimeError(f"profile {profile.id} v{profile.version} has no [logistics] table")
    return profile.logistics


def intercept_offered(profile: Profile) -> bool:
    """R16.2: whether the marketplace offers logistics intercepts at all."""
    return profile.logistics is not None and profile.logistics.intercept_enabled


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


def _r16_2_changes(
    case: Case, cmd: Command, facts: Facts, profile: Profile, row: Transition, target: State
) -> dict[str, tuple[object, object]]:
    """R16.2 facts a timeline entry records: the parcel an intercept was asked for, or a
    merchant refund that missed a possible intercept."""
    parcel = facts.interceptable_parcel
    if parcel is None:
        return {}
    named = {"carrier": parcel[0], "tracking_number": parcel[1], "rule": "R16.2"}
    if cmd.action is A.REQUEST_INTERCEPT:
        return {"intercept": (None, named)}
    if row.actor is MERCHANT and target is S.REFUNDED and intercept_missed(case, facts, profile):
        return {"intercept_missed": (None, named)}
    return {}


# --------------------------------------------------------------------------- effects
def _refund_amount(case: Case, cmd: Command, facts: Facts, profile: Profile) -> Money:
    if cmd.action is A.ACCEPT_OFFER and case.offer is not None:
        return case.offer.amount  # R5.2: the buyer accepts the offered amount
    if cmd.amount is not None:
        return cmd.amount
    if case.agreed is not None:
        return case.agreed
    if case.type in (T.EXCHANGE, T.RESHIP) or case.requested.amount == 0:
        return _cap(case, facts, profile)  # a refund instead of goods: what was paid
    return case.requested


def effect_refund(case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime) -> None:
    case.agreed = _refund_amount(case, cmd, facts, profile)


def effect_approve_return(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    case.return_address = cmd.return_address or facts.shop_return_address


def effect_counter_offer(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    assert cmd.amount is not None
    case.offer = CounterOffer(cmd.amount, cmd.return_required, cmd.note)


def effect_accept_offer(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> State:
    assert case.offer is not None
    case.agreed = case.offer.amount
    if case.offer.return_required:
        case.return_address = facts.shop_return_address or case.return_address
        return S.AWAITING_RETURN
    return S.REFUNDED


def effect_edit(case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime) -> None:
    case.edits += 1
    _apply_request_changes(case, cmd)


def _apply_request_changes(case: Case, cmd: Command) -> None:
    if cmd.reason:
        case.reason = cmd.reason  # R3.3: first_reason stays frozen
    if cmd.amount is not None:
        case.requested = cmd.amount
    if cmd.description is not None:
        case.description = cmd.description
    case.offer = None


def effect_resubmit(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    """R5.6: a new request for the same lines: not an edit, and it starts its own edit count
    (R5.6 limits the edits of one request)."""
    _apply_request_changes(case, cmd)
    case.edits = 0
    case.refusal_code = None
    case.refusal_note = None
    case.rejected_at = None


def effect_reject(case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime) -> None:
    case.refusal_code = cmd.refusal_code
    case.refusal_note = cmd.note or None
    case.rejected_at = now
    case.offer = None


def effect_ship_return(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    assert cmd.carrier and cmd.tracking_number
    carrier, number = validate_tracking(cmd.carrier, cmd.tracking_number)
    case.return_shipment = Shipment(carrier, number, now, cmd.freight or 0)


def effect_ship_replacement(
    case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime
) -> None:
    assert cmd.carrier and cmd.tracking_number
    carrier, number = validate_tracking(cmd.carrier, cmd.tracking_number)
    case.replacement_shipment = Shipment(carrier, number, now)


def effect_none(case: Case, cmd: Command, facts: Facts, profile: Profile, now: datetime) -> None:
    return None


# --------------------------------------------------------------------------- R9-R12
def intervention_rules(profile: Profile) -> InterventionRules:
    """R9/R11: the profile's [intervention] table (services give a frozen version older
    than the table the current version's)."""
    if profile.intervention is None:
        raise RuntimeError(f"profile {profile.id} v{profile.version} has no [intervention] table")
    return profile.intervention


def appeal_rules(profile: Profile) -> AppealRules:
    """R12: the profile's [appeals] table (as :func:`intervention_rules`)."""
    if profile.appeals is None:
        raise RuntimeError(f"profile {profile.id} v{profile.version} has no [appeals] table")
    return profile.appeals


def buyer_may_appeal(profile: Profile) -> bool:
    """R12.2: whether buyers appeal rulings against them on this marketplace."""
    rules = profile.appeals
    return rules is not None and rules.buyer_max_appeals > 0 and rules.buyer_window_hours > 0


# Which remedies a ruling may give on which request types (R10.4): goods the buyer holds
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
            return _cap(case, facts, profile)
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
        _check_refund(case, amount, facts, profile, given=cmd.amount is not None)
        full = case.requested if case.requested.amount > 0 else _cap(case, facts, profile)
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


# --------------------------------------------------------------------------- the table
@dataclass(frozen=True, slots=True)
class Transition:
    state: State
    action: Action
    types: frozenset[CaseType]
    targets: tuple[State, ...]  # more than one: the effect routes (e.g. accept_offer)
    actor: ActorKind
    rule: str
    guards: tuple[Guard, ...] = ()
    effect: Effect = effect_none


def _t(
    state: State,
    action: Action,
    types: Iterable[CaseType],
    targets: State | tuple[State, ...],
    actor: ActorKind,
    rule: str,
    guards: tuple[Guard, ...] = (),
    effect: Effect = effect_none,
) -> Transition:
    tgt = targets if isinstance(targets, tuple) else (targets,)
    return Transition(state, action, frozenset(types), tgt, actor, rule, guards, effect)


BUYER, MERCHANT, CARRIER, SYSTEM, PLATFORM = (
    ActorKind.BUYER,
    ActorKind.MERCHANT,
    ActorKind.CARRIER,
    ActorKind.SYSTEM,
    ActorKind.PLATFORM,
)
_REFUND_OK = (guard_refund_positive,)

# fmt: off
TRANSITIONS: tuple[Transition, ...] = (
    # --- a new request waits for the merchant (R5.1); the buyer may edit (R5.2) ---------
    _t(S.AWAITING_MERCHANT, A.APPROVE_REFUND, REFUND_TYPES | {T.RETURN_REFUND}, S.REFUNDED,
       MERCHANT, "R5.2", _REFUND_OK, effect_refund),
    _t(S.AWAITING_MERCHANT, A.APPROVE_RETURN, RETURN_TYPES, S.AWAITING_RETURN,
       MERCHANT, "R5.1", (guard_return_address,), effect_approve_return),
    _t(S.AWAITING_MERCHANT, A.APPROVE_RESHIP, {T.RESHIP}, S.AWAITING_RESHIP,
       MERCHANT, "R2.5"),
    _t(S.AWAITING_MERCHANT, A.COUNTER_OFFER, ALL_TYPES, S.AWAITING_BUYER,
       MERCHANT, "R5.2", (guard_offer_valid,), effect_counter_offer),
    _t(S.AWAITING_MERCHANT, A.REJECT, ALL_TYPES, S.REJECTED,
       MERCHANT, "R5.5", (guard_refusal_review,), effect_reject),
    _t(S.AWAITING_MERCHANT, A.EDIT_REQUEST, ALL_TYPES, S.AWAITING_MERCHANT,
       BUYER, "R5.2", (guard_edit_valid,), effect_edit),
    _t(S.AWAITING_MERCHANT, A.CANCEL, ALL_TYPES, S.CLOSED,
       BUYER, "R2"),
    _t(S.AWAITING_MERCHANT, A.MERCHANT_TIMEOUT, REFUND_TYPES, S.REFUNDED,
       SYSTEM, "R5.1", _REFUND_OK, effect_refund),
    _t(S.AWAITING_MERCHANT, A.MERCHANT_TIMEOUT, RETURN_TYPES, S.AWAITING_RETURN,
       SYSTEM, "R5.1", (guard_return_address,), effect_approve_return),
    _t(S.AWAITING_MERCHANT, A.MERCHANT_TIMEOUT, {T.RESHIP}, S.AWAITING_RESHIP,
       SYSTEM, "R5.1"),
    _t(S.AWAITING_MERCHANT, A.REGIONAL_AUTO_REFUND, {T.REFUND_ONLY}, S.REFUNDED,
       SYSTEM, "R8.2", (guard_regional_auto_refund, guard_refund_positive), effect_refund),
    # --- counter-offer: the buyer accepts, edits and resubmits, or lets it lapse (R5.2) --
    _t(S.AWAITING_BUYER, A.ACCEPT_OFFER, ALL_TYPES, (S.REFUNDED, S.AWAITING_RETURN),
       BUYER, "R5.2", _REFUND_OK, effect_accept_offer),
    _t(S.AWAITING_BUYER, A.EDIT_REQUEST, ALL_TYPES, S.AWAITING_MERCHANT,
       BUYER, "R5.2", (guard_edit_valid,), effect_edit),
    _t(S.AWAITING_BUYER, A.CANCEL, ALL_TYPES, S.CLOSED,
       BUYER, "R2"),
    _t(S.AWAITING_BUYER, A.BUYER_OFFER_TIMEOUT, ALL_TYPES, S.CLOSED,
       SYSTEM, "R5.2"),
    # --- the buyer ships the return (R5.3) ---------------------------------------------
    _t(S.AWAITING_RETURN, A.SHIP_RETURN, ALL_TYPES, S.RETURN_SHIPPED,
       BUYER, "R5.3", (guard_tracking_valid, guard_return_freight), effect_ship_return),
    _t(S.AWAITING_RETURN, A.APPROVE_REFUND, {T.REFUND_ONLY, T.RETURN_REFUND}, S.REFUNDED,
       MERCHANT, "R8.1", _REFUND_OK, effect_refund),
    _t(S.AWAITING_RETURN, A.CANCEL, ALL_TYPES, S.CLOSED,
       BUYER, "R2"),
    _t(S.AWAITING_RETURN, A.RETURN_SHIP_TIMEOUT, ALL_TYPES, S.CLOSED,
       SYSTEM, "R5.3"),
    # --- the return travels, arrives and is received (R5.4, R5.5) ----------------------
    _t(S.RETURN_SHIPPED, A.RETURN_DELIVERED, ALL_TYPES, S.RETURN_DELIVERED,
       CARRIER, "R5.4"),
    _t(S.RETURN_SHIPPED, A.CONFIRM_RECEIPT, ALL_TYPES, S.RETURN_RECEIVED,
       MERCHANT, "R5.4"),
    _t(S.RETURN_SHIPPED, A.REFUND, ALL_TYPES, S.REFUNDED,
       MERCHANT, "R5.4", _REFUND_OK, effect_refund),
    _t(S.RETURN_DELIVERED, A.CONFIRM_RECEIPT, ALL_TYPES, S.RETURN_RECEIVED,
       MERCHANT, "R5.4"),
    _t(S.RETURN_DELIVERED, A.REFUND, ALL_TYPES, S.REFUNDED,
       MERCHANT, "R5.4", _REFUND_OK, effect_refund),
    _t(S.RETURN_DELIVERED, A.REFUSE_REFUND, ALL_TYPES, S.REJECTED,
       MERCHANT, "R5.5", (guard_refusal_after_receipt,), effect_reject),
    _t(S.RETURN_DELIVERED, A.RECEIPT_TIMEOUT, ALL_TYPES, S.REFUNDED,
       SYSTEM, "R5.4", _REFUND_OK, effect_refund),
    _t(S.RETURN_RECEIVED, A.REFUND, ALL_TYPES, S.REFUNDED,
       MERCHANT, "R5.4", _REFUND_OK, effect_refund),
    _t(S.RETURN_RECEIVED, A.REFUSE_REFUND, ALL_TYPES, S.REJECTED,
       MERCHANT, "R5.5", (guard_refusal_after_receipt,), effect_reject),
    _t(S.RETURN_RECEIVED, A.SHIP_REPLACEMENT, {T.EXCHANGE}, S.REPLACEMENT_SHIPPED,
       MERCHANT, "R2.4", (guard_tracking_valid,), effect_ship_replacement),
    _t(S.RETURN_RECEIVED, A.RECEIPT_TIMEOUT, ALL_TYPES, S.REFUNDED,
       SYSTEM, "R5.4", _REFUND_OK, effect_refund),
    # --- exchange and reship: the merchant sends goods (R2.4, R2.5) --------------------
    _t(S.AWAITING_RESHIP, A.SHIP_REPLACEMENT, {T.RESHIP}, S.REPLACEMENT_SHIPPED,
       MERCHANT, "R2.5", (guard_tracking_valid,), effect_ship_replacement),
    _t(S.AWAITING_RESHIP, A.REFUND, {T.RESHIP}, S.REFUNDED,
       MERCHANT, "R2.5", _REFUND_OK, effect_refund),
    _t(S.AWAITING_RESHIP, A.CANCEL, {T.RESHIP}, S.CLOSED,
       BUYER, "R2"),
    _t(S.REPLACEMENT_SHIPPED, A.CONFIRM_REPLACEMENT, {T.EXCHANGE, T.RESHIP}, S.COMPLETED,
       BUYER, "R2.4"),
    _t(S.REPLACEMENT_SHIPPED, A.REPLACEMENT_CONFIRM_TIMEOUT, {T.EXCHANGE, T.RESHIP}, S.COMPLETED,
       SYSTEM, "R2.4"),
    # --- after a refusal: a new request for the same lines, or it lapses (R5.6) --------
    _t(S.REJECTED, A.RESUBMIT, ALL_TYPES, S.AWAITING_MERCHANT,
       BUYER, "R5.6", (guard_resubmit_window,), effect_resubmit),
    _t(S.REJECTED, A.CANCEL, ALL_TYPES, S.CLOSED,
       BUYER, "R2"),
    _t(S.REJECTED, A.RESUBMIT_TIMEOUT, ALL_TYPES, S.CLOSED,
       SYSTEM, "R5.6"),
    # --- R16 parcels that come back ------------------------------------------------------
    # The order's outbound parcel failed delivery or was refused (R16.1) or intercepted
    # (R16.2): the refund request waits for it to reach the merchant, or for the timeout.
    _t(S.AWAITING_MERCHANT, A.PARCEL_UNDELIVERABLE, REFUND_TYPES, S.PARCEL_RETURNING,
       CARRIER, "R16.1"),
    _t(S.AWAITING_MERCHANT, A.PARCEL_INTERCEPTED, REFUND_TYPES, S.PARCEL_RETURNING,
       CARRIER, "R16.2"),
    _t(S.AWAITING_MERCHANT, A.REQUEST_INTERCEPT, REFUND_TYPES, S.AWAITING_MERCHANT,
       MERCHANT, "R16.2", (guard_intercept_possible,)),
    _t(S.PARCEL_RETURNING, A.PARCEL_RETURNED, REFUND_TYPES, S.REFUNDED,
       CARRIER, "R16.1", _REFUND_OK, effect_refund),
    _t(S.PARCEL_RETURNING, A.REFUND, REFUND_TYPES, S.REFUNDED,
       MERCHANT, "R16.1", _REFUND_OK, effect_refund),
    _t(S.PARCEL_RETURNING, A.PARCEL_RETURN_TIMEOUT, REFUND_TYPES, S.REFUNDED,
       SYSTEM, "R16.1", _REFUND_OK, effect_refund),
    # --- R9 platform intervention: asked for after a refusal or a counter-offer ----------
    _t(S.REJECTED, A.ESCALATE, ALL_TYPES, S.IN_INTERVENTION,
       BUYER, "R9.1"),
    _t(S.AWAITING_BUYER, A.ESCALATE, ALL_TYPES, S.IN_INTERVENTION,
       BUYER, "R9.1"),
    _t(S.AWAITING_BUYER, A.MERCHANT_ESCALATE, ALL_TYPES, S.IN_INTERVENTION,
       MERCHANT, "R9.1"),
    _t(S.RETURN_DELIVERED, A.MERCHANT_ESCALATE, ALL_TYPES, S.IN_INTERVENTION,
       MERCHANT, "R9.1"),
    _t(S.RETURN_RECEIVED, A.MERCHANT_ESCALATE, ALL_TYPES, S.IN_INTERVENTION,
       MERCHANT, "R9.1"),
    _t(S.IN_INTERVENTION, A.WITHDRAW_INTERVENTION, ALL_TYPES, S.CLOSED,
       BUYER, "R9.4"),
    _t(S.IN_INTERVENTION, A.LEGAL_PROCEEDINGS, ALL_TYPES, S.CLOSED,
       PLATFORM, "R9.2"),
    # --- R10.4 the ruling, R11 its execution ---------------------------------------------
    _t(S.IN_INTERVENTION, A.RULE, ALL_TYPES,
       (S.AWAITING_EXECUTION, S.AWAITING_RETURN, S.RULED, S.CLOSED),
       PLATFORM, "R10.4", (guard_ruling_valid,), effect_rule),
    _t(S.AWAITING_EXECUTION, A.REFUND, ALL_TYPES, S.REFUNDED,
       MERCHANT, "R11.1", (guard_execution_refund, guard_refund_positive), effect_refund),
    _t(S.AWAITING_EXECUTION, A.SHIP_REPLACEMENT, {T.RESHIP}, S.REPLACEMENT_SHIPPED,
       MERCHANT, "R11.1", (guard_execution_goods,), effect_ship_replacement),
    _t(S.AWAITING_EXECUTION, A.EXECUTION_TIMEOUT, ALL_TYPES, S.REFUNDED,
       SYSTEM, "R11.2", _REFUND_OK, effect_refund),
    _t(S.AWAITING_EXECUTION, A.RULING_OVERTURNED, ALL_TYPES, S.CLOSED,
       PLATFORM, "R12.1", (guard_overturn_reason,)),
    # --- R12.2 the buyer's appeal against a ruling for the merchant ----------------------
    _t(S.RULED, A.APPEAL, ALL_TYPES, S.IN_INTERVENTION,
       BUYER, "R12.2"),
    _t(S.RULED, A.APPEAL_WINDOW_TIMEOUT, ALL_TYPES, S.CLOSED,
       SYSTEM, "R12.2"),
)
# fmt: on

_INDEX: dict[tuple[State, Action, CaseType], Transition] = {}
for _row in TRANSITIONS:
    for _type in _row.types:
        _key = (_row.state, _row.action, _type)
        if _key in _INDEX:  # pragma: no cover - a table bug, caught at import
            raise RuntimeError(f"duplicate transition {_key}")
        _INDEX[_key] = _row

# Which deadline each state holds, and which rule sets it (R5.1, R5.2, R5.3, R5.4, R5.6).
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


def transition_for(state: State, action: Action, case_type: CaseType) -> Transition | None:
    return _INDEX.get((state, action, case_type))


def reachable_states(case_type: CaseType) -> frozenset[State]:
    """Every state a request of this type can reach from opening (accept_offer reaches
    awaiting_return only where a counter-offer may ask for a return; a ruling only where a
    remedy that sends goods back fits the type, R10.4)."""
    return_remedy_types = REMEDY_TYPES[Remedy.RETURN_THEN_REFUND] | REMEDY_TYPES[Remedy.EXCHANGE]
    seen = {S.AWAITING_MERCHANT}
    todo = [S.AWAITING_MERCHANT]
    while todo:
        state = todo.pop()
        for row in TRANSITIONS:
            if row.state is not state or case_type not in row.types:
                continue
            for target in row.targets:
                if (
                    row.action is A.ACCEPT_OFFER
                    and target is S.AWAITING_RETURN
                    and case_type not in RETURN_OFFER_TYPES
                ):
                    continue
                if (
                    row.action is A.RULE
                    and target is S.AWAITING_RETURN
                    and case_type not in return_remedy_types
                ):
                    continue
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
    return frozenset(seen)


# Guards that need no input from the person acting, only the facts: when the service
# passes the facts, the same guard that refuses the move also hides its button.
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
            after.agreed = _refund_amount(case, cmd, facts, profile)
        refund = RefundDecision(after.lines, after.agreed, after.reason, row.rule, now)
    deadline, keep = _plan_deadline(case, after, profile, now)
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
    changes.update(_r16_2_changes(case, cmd, facts, profile, row, target))
    return Outcome(after, cmd.action, row.rule, case.state, target, changes, refund, deadline, keep)


def _plan_deadline(
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


# --------------------------------------------------------------------------- opening
@dataclass(frozen=True, slots=True)
class OpenRequest:
    """R2: a request names order lines, quantities, type, reason, amount and description."""

    type: CaseType
    lines: tuple[CaseLine, ...]
    reason: str
    requested: Money
    description: str = ""


def open_case(
    req: OpenRequest,
    facts: Facts,
    claimed: dict[int, int],
    profile: Profile,
    now: datetime,
    number: str,
    shop_id: int,
    buyer_id: int,
) -> Outcome:
    """Validate and open a request (R2, R3, R4, R5.2). ``claimed``: units per order line
    already on other live cases."""
    order = facts.order
    if not req.lines:
        raise ValidationFailed(
            "request.no_lines",
            N_("A request names at least one order line."),
            rule="R2",
            field="lines",
        )
    seen: set[int] = set()
    for cl in req.lines:
        line = order.line(cl.order_line_id)
        if line is None:
            raise ValidationFailed(
                "request.unknown_line",
                N_("Order line {line} is not on order {order}."),
                rule="R2",
                field="lines",
                line=cl.order_line_id,
                order=order.number,
            )
        if cl.order_line_id in seen:
            raise ValidationFailed(
                "request.duplicate_line",
                N_("Order line {line} is named twice."),
                rule="R2",
                field="lines",
                line=cl.order_line_id,
            )
        seen.add(cl.order_line_id)
        free = line.quantity - claimed.get(line.id, 0)
        if cl.quantity <= 0 or cl.quantity > free:
            raise ValidationFailed(
                "request.bad_quantity",
                N_("Quantity {quantity} for order line {line}: {free} units can be requested."),
                rule="R2",
                field="lines",
                quantity=cl.quantity,
                line=cl.order_line_id,
                free=free,
            )
    rsn = reason(req.reason)
    window = check_window(
        order, [ln for ln, _ in facts.lines_of(req.lines)], req.reason, req.type, profile, now
    )
    if req.requested.currency != order.currency:
        raise ValidationFailed(
            "amount.currency",
            N_("The amount must be in {currency}."),
            rule="R5.2",
            field="amount",
            currency=order.currency,
        )
    if req.type in (T.EXCHANGE, T.RESHIP):
        if req.requested.amount != 0:
            raise ValidationFailed(
                "amount.goods_only",
                N_("An exchange or reship moves goods, not money: the amount must be 0."),
                rule="R2",
                field="amount",
            )
    else:
        cap = max_refundable(
            order, req.lines, req.type, req.reason, profile, facts.already_refunded
        )
        if req.requested.amount <= 0:
            raise ValidationFailed(
                "amount.not_positive",
                N_("The amount must be positive."),
                rule="R5.2",
                field="amount",
            )
        if req.requested > cap:
            raise exceeds_paid(req.requested, cap, given=True)
    kind = DeadlineKind.MERCHANT_RESPONSE
    due = now + deadline_delay(kind, profile)
    case = Case(
        id=None,
        number=number,
        shop_id=shop_id,
        buyer_id=buyer_id,
        order_id=order.id,
        type=req.type,
        state=S.AWAITING_MERCHANT,
        lines=req.lines,
        first_reason=rsn.code,
        reason=rsn.code,
        description=req.description,
        requested=req.requested,
        profile_id=profile.id,
        profile_version=profile.version,
        created_at=now,
        updated_at=now,
        deadline_kind=kind,
        deadline_at=due,
    )
    # The open event names the rule that allowed the request (R4.1 no-reason, R4.2 ...).
    return Outcome(
        case, A.OPEN, window.rule, None, S.AWAITING_MERCHANT, {}, None, DeadlinePlan(kind, due)
    )
