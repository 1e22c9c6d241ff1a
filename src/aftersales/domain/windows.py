"""R2/R4: whether a request may be opened now, for these lines, with this reason.

Calendar days are counted in the profile's time zone. R4.1 counts the no-reason window
from the day after signing when the profile says so (the statutory reading of 七日).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from aftersales.domain.case_types import CaseType
from aftersales.domain.catalog import Order, OrderLine, OrderStage
from aftersales.domain.errors import IllegalTransition, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.policy import ProductFlag, Profile
from aftersales.domain.reasons import ReasonGroup, reason


@dataclass(frozen=True, slots=True)
class WindowCheck:
    """Why the request may be opened, and until when (None: the clock has not started)."""

    rule: str
    closes_at: datetime | None


def window_end(signed_at: datetime, days: int, profile: Profile) -> datetime:
    """End (exclusive) of a ``days``-day window starting at signing, per R4.1 counting."""
    if not profile.windows.count_from_next_day:
        return signed_at + timedelta(days=days)
    tz = ZoneInfo(profile.timezone)
    local_day = signed_at.astimezone(tz).date()
    end_day = local_day + timedelta(days=days + 1)
    return datetime.combine(end_day, time.min, tzinfo=tz)


def no_reason_days_for(line: OrderLine, profile: Profile) -> int | None:
    """R4.3: the no-reason window of one line in days, or None when the line is excluded."""
    flags = line.product.flags
    if any(flag in flags for flag in profile.windows.no_reason_excluded_flags):
        return None
    if ProductFlag.DIGITAL in flags and line.downloaded:
        return None
    days = profile.windows.no_reason_days
    declared = line.product.declared_no_reason_days
    if ProductFlag.SECOND_HAND in flags and declared is not None:
        days = max(min(days, declared), profile.windows.second_hand_min_no_reason_days)
    return days


def _check_stage(order: Order, case_type: CaseType) -> None:
    stage = order.stage
    if case_type is CaseType.REFUND_UNSHIPPED and stage is not OrderStage.PAID:
        raise IllegalTransition(
            "request.order_already_shipped",
            N_("A refund before shipment needs an order that has not shipped."),
            rule="R2.1",
        )
    if case_type is CaseType.REFUND_ONLY and stage is OrderStage.PAID:
        raise IllegalTransition(
            "request.order_not_shipped",
            N_("The order has not shipped: ask for a refund before shipment instead."),
            rule="R2.2",
        )
    needs_goods = {
        CaseType.RETURN_REFUND: "R2.3",
        CaseType.EXCHANGE: "R2.4",
        CaseType.RESHIP: "R2.5",
    }
    if case_type in needs_goods and stage is not OrderStage.SIGNED:
        raise IllegalTransition(
            "request.not_signed",
            N_("The buyer has not signed for the goods yet."),
            rule=needs_goods[case_type],
        )


def check_window(
    order: Order,
    lines: Sequence[OrderLine],
    reason_code: str,
    case_type: CaseType,
    profile: Profile,
    now: datetime,
) -> WindowCheck:
    """Refuse (naming the rule) a request outside its window; else say which rule allows it."""
    _check_stage(order, case_type)
    r = reason(reason_code)
    if case_type is CaseType.RESHIP and r.group is not ReasonGroup.FULFILMENT:
        raise ValidationFailed(
            "request.reship_needs_fulfilment_reason",
            N_("A reship is for a missing or wrong item or part."),
            rule="R2.5",
            field="reason",
        )
    if order.signed_at is None:
        # Nothing signed yet: no window has started (refunds before/while in transit).
        return WindowCheck(rule="R2", closes_at=None)
    signed = order.signed_at
    if r.group is ReasonGroup.NO_REASON:
        ends: list[datetime] = []
        for line in lines:
            days = no_reason_days_for(line, profile)
            if days is None:
                raise ValidationFailed(
                    "window.no_reason_excluded",
                    N_("{product} is excluded from no-reason returns."),
                    rule="R4.3",
                    field="reason",
                    product=line.product.title,
                )
            ends.append(window_end(signed, days, profile))
        closes = min(ends) if ends else window_end(signed, profile.windows.no_reason_days, profile)
        if now >= closes:
            raise IllegalTransition(
                "window.no_reason_expired",
                N_("The no-reason window closed at {closes}."),
                rule="R4.1",
                closes=closes.isoformat(),
            )
        return WindowCheck(rule="R4.1", closes_at=closes)
    guarantee = window_end(signed, profile.windows.guarantee_days, profile)
    if now < guarantee:
        return WindowCheck(rule="R4.2", closes_at=guarantee)
    if r.group in profile.windows.statutory_groups:
        cap = window_end(signed, profile.windows.legal_cap_days, profile)
        if now < cap:
            return WindowCheck(rule="R4.2", closes_at=cap)
        closes = cap
    else:
        closes = guarantee
    raise IllegalTransition(
        "window.guarantee_expired",
        N_("The after-sales window closed at {closes}."),
        rule="R4.2",
        closes=closes.isoformat(),
    )
