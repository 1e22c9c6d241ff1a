"""Opening a request (R2, R3, R4, R5.2): the lines, quantities, reason, window and amount
checked, the new case and its first deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aftersales.domain.case import (
    Case,
    CaseLine,
    DeadlinePlan,
    Facts,
    Outcome,
)
from aftersales.domain.case_types import CaseType, DeadlineKind
from aftersales.domain.errors import ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.machine.caps import exceeds_paid, max_refundable
from aftersales.domain.machine.deadlines import deadline_delay
from aftersales.domain.machine.vocabulary import A, S, T
from aftersales.domain.money import Money
from aftersales.domain.policy import (
    Profile,
)
from aftersales.domain.reasons import reason
from aftersales.domain.windows import check_window


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
