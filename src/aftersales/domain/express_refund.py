"""R7: express refund after shipment 发货后极速退款, decided without I/O.

At the moment the buyer's return tracking number passes validation, the platform refunds
at once (advancing the money for the merchant) when all six conditions of R7.1 hold.
Each condition is reported with the values that decided it, so a declined case says
which condition failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from aftersales.domain.automation import Check
from aftersales.domain.case import Case
from aftersales.domain.case_types import CaseType, State
from aftersales.domain.catalog import Order
from aftersales.domain.i18n import N_
from aftersales.domain.policy import ExpressRefund, RiskLevel
from aftersales.domain.reasons import reason

CONDITIONS: tuple[str, ...] = (
    "service_on",
    "request_type",
    "seven_day_no_reason",
    "return_tracking_validated",
    "buyer_risk",
    "paid_amount_below_limit",
)

CONDITION_LABELS: dict[str, str] = {
    "service_on": N_("The shop offers express refund (or did when the order was paid)"),
    "request_type": N_("The request is a return and refund"),
    "seven_day_no_reason": N_("The reason is seven-day no-reason"),
    "return_tracking_validated": N_(
        "The merchant approved and the return tracking number passed validation"
    ),
    "buyer_risk": N_("The buyer passes the risk check"),
    "paid_amount_below_limit": N_("The amount paid is below the limit"),
}


@dataclass(frozen=True, slots=True)
class SwitchState:
    """R7.3: the shop's switch now and when the order was paid."""

    on_now: bool
    on_at_payment: bool


def eligibility(
    case: Case,
    order: Order,
    rules: ExpressRefund,
    switch: SwitchState,
    risk_level: RiskLevel,
) -> tuple[Check, ...]:
    """R7.1: every condition, in the rulebook's order, and whether it held."""
    group = reason(case.reason).group
    shipment = case.return_shipment
    paid = order.total_paid
    return (
        Check(
            "service_on",
            switch.on_now or switch.on_at_payment,
            "R7.3",
            {"on_now": switch.on_now, "on_at_payment": switch.on_at_payment},
        ),
        Check(
            "request_type",
            case.type is CaseType.RETURN_REFUND,
            "R7.1",
            {"type": case.type.value},
        ),
        Check(
            "seven_day_no_reason",
            group in rules.reason_groups,
            "R7.1",
            {"reason": case.reason, "group": group.value},
        ),
        Check(
            "return_tracking_validated",
            case.state is State.RETURN_SHIPPED and shipment is not None,
            "R7.1",
            {
                "carrier": shipment.carrier if shipment else None,
                "tracking_number": shipment.tracking_number if shipment else None,
            },
        ),
        Check(
            "buyer_risk",
            risk_level.rank <= rules.max_risk_level.rank,
            "R7.1",
            {"level": risk_level.value, "max": rules.max_risk_level.value},
        ),
        Check(
            "paid_amount_below_limit",
            paid.amount < rules.max_paid_amount,
            "R7.1",
            {"paid": paid.amount, "limit": rules.max_paid_amount, "currency": paid.currency},
        ),
    )


def switch_off_allowed_at(last_on: datetime, rules: ExpressRefund) -> datetime:
    """R7.3: switched on at ``last_on``, it may be switched off from this moment."""
    return last_on + timedelta(hours=rules.switch_off_lock_hours)
