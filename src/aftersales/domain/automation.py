"""R6: a shop's automation strategies 售后小助手, decided without I/O.

A strategy has a kind (what it does and when it is asked), conditions that limit it
(reasons, amount, products, time since signing), an on/off switch and a priority. When a
request arrives (or a warehouse reports a passed inspection), the enabled strategies of
the kinds that answer that trigger are tried in priority order; the first whose every
condition holds acts. Every verdict names each condition and whether it held, so the
timeline can say which strategy and which condition made the decision, and a dry run can
say why a strategy would not act.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from aftersales.domain.case import Case
from aftersales.domain.case_types import Action, CaseType, State
from aftersales.domain.catalog import Order
from aftersales.domain.errors import ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.policy import Profile
from aftersales.domain.reasons import REASONS, ReasonGroup, reason
from aftersales.domain.windows import no_reason_days_for, window_end


class StrategyKind(StrEnum):
    AUTO_APPROVE_RETURN = "auto_approve_return"  # R6.1
    SEVEN_DAY_AUTO_APPROVE = "seven_day_auto_approve"  # R6.2
    WAREHOUSE_RECEIPT_AUTO_REFUND = "warehouse_receipt_auto_refund"  # R6.3
    OFF_HOURS_AUTO_APPROVE = "off_hours_auto_approve"  # R6.4


KIND_RULES: dict[StrategyKind, str] = {
    StrategyKind.AUTO_APPROVE_RETURN: "R6.1",
    StrategyKind.SEVEN_DAY_AUTO_APPROVE: "R6.2",
    StrategyKind.WAREHOUSE_RECEIPT_AUTO_REFUND: "R6.3",
    StrategyKind.OFF_HOURS_AUTO_APPROVE: "R6.4",
}

KIND_LABELS: dict[StrategyKind, str] = {
    StrategyKind.AUTO_APPROVE_RETURN: N_("Approve returns automatically"),
    StrategyKind.SEVEN_DAY_AUTO_APPROVE: N_("Approve seven-day no-reason returns"),
    StrategyKind.WAREHOUSE_RECEIPT_AUTO_REFUND: N_("Refund when the warehouse passes the return"),
    StrategyKind.OFF_HOURS_AUTO_APPROVE: N_("Approve returns outside service hours"),
}


class Trigger(StrEnum):
    REQUEST_ARRIVED = "request_arrived"  # opened, edited or resubmitted: awaits the merchant
    WAREHOUSE_PASSED = "warehouse_passed"  # the warehouse/ERP reports a passed inspection


KIND_TRIGGER: dict[StrategyKind, Trigger] = {
    StrategyKind.AUTO_APPROVE_RETURN: Trigger.REQUEST_ARRIVED,
    StrategyKind.SEVEN_DAY_AUTO_APPROVE: Trigger.REQUEST_ARRIVED,
    StrategyKind.OFF_HOURS_AUTO_APPROVE: Trigger.REQUEST_ARRIVED,
    StrategyKind.WAREHOUSE_RECEIPT_AUTO_REFUND: Trigger.WAREHOUSE_PASSED,
}

RETURN_TYPES = frozenset({CaseType.RETURN_REFUND, CaseType.EXCHANGE})
# Where a passed inspection can lead to a refund (receipt is confirmed first if needed).
RECEIPT_STATES = frozenset({State.RETURN_SHIPPED, State.RETURN_DELIVERED, State.RETURN_RECEIVED})


@dataclass(frozen=True, slots=True)
class Conditions:
    """What limits a strategy (R6). Empty or None: no limit of that kind."""

    reasons: tuple[str, ...] = ()  # R6.1: no reasons configured matches every reason
    min_amount: int | None = None  # inclusive, minor units of the case's currency
    max_amount: int | None = None  # inclusive
    skus: tuple[str, ...] = ()  # products: the request's lines are all among these
    max_days_since_signing: int | None = None  # signed at most this many days ago

    def to_json(self) -> dict[str, Any]:
        return {
            "reasons": list(self.reasons),
            "min_amount": self.min_amount,
            "max_amount": self.max_amount,
            "skus": list(self.skus),
            "max_days_since_signing": self.max_days_since_signing,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Conditions:
        return cls(
            reasons=tuple(data.get("reasons") or ()),
            min_amount=data.get("min_amount"),
            max_amount=data.get("max_amount"),
            skus=tuple(data.get("skus") or ()),
            max_days_since_signing=data.get("max_days_since_signing"),
        )

    @property
    def empty(self) -> bool:
        return self == Conditions()


def validate_conditions(kind: StrategyKind, c: Conditions) -> Conditions:
    """Refuse conditions that cannot be met or do not apply, naming the field."""
    if kind is StrategyKind.SEVEN_DAY_AUTO_APPROVE and not c.empty:
        raise ValidationFailed(
            "strategy.no_conditions",
            N_("The seven-day strategy follows the platform's rule and takes no conditions."),
            rule="R6.2",
            field="conditions",
        )
    for code in c.reasons:
        if code not in REASONS:
            reason(code)  # raises naming the unknown code
    for name in ("min_amount", "max_amount", "max_days_since_signing"):
        value = getattr(c, name)
        if value is not None and value < 0:
            raise ValidationFailed(
                "strategy.negative_limit",
                N_("{field} cannot be negative."),
                rule="R6",
                field=f"conditions.{name}",
            )
    if c.min_amount is not None and c.max_amount is not None and c.min_amount > c.max_amount:
        raise ValidationFailed(
            "strategy.amount_range",
            N_("The minimum amount exceeds the maximum."),
            rule="R6",
            field="conditions.min_amount",
        )
    if len(set(c.reasons)) != len(c.reasons) or len(set(c.skus)) != len(c.skus):
        raise ValidationFailed(
            "strategy.duplicates", N_("A list names an entry twice."), rule="R6", field="conditions"
        )
    return c


@dataclass(frozen=True, slots=True)
class ServiceHours:
    """R6.4: when the shop's after-sales team works, in the shop's time zone. ``end`` is
    exclusive; an ``end`` before ``start`` runs past midnight (22:00–06:00)."""

    days: tuple[int, ...]  # ISO weekdays, 1 = Monday
    start: time
    end: time

    def to_json(self) -> dict[str, Any]:
        return {
            "days": list(self.days),
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServiceHours:
        return parse_service_hours(data["days"], data["start"], data["end"])

    def open_at(self, moment: datetime, timezone: str) -> bool:
        local = moment.astimezone(ZoneInfo(timezone))
        t = local.time().replace(tzinfo=None)
        day = local.isoweekday()
        if self.start <= self.end:
            return day in self.days and self.start <= t < self.end
        # Overnight: the evening belongs to its own day, the early morning to the day before.
        if t >= self.start:
            return day in self.days
        if t < self.end:
            return (day - 2) % 7 + 1 in self.days
        return False


def parse_service_hours(days: list[int], start: str, end: str) -> ServiceHours:
    try:
        s, e = time.fromisoformat(start), time.fromisoformat(end)
    except ValueError:
        raise ValidationFailed(
            "service_hours.bad_time",
            N_("Service hours are times like 09:00."),
            rule="R6.4",
            field="service_hours",
        ) from None
    if not days or any(d not in range(1, 8) for d in days) or len(set(days)) != len(days):
        raise ValidationFailed(
            "service_hours.bad_days",
            N_("Service days are ISO weekdays 1 (Monday) to 7, each once."),
            rule="R6.4",
            field="service_hours.days",
        )
    if s == e:
        raise ValidationFailed(
            "service_hours.empty",
            N_("Service hours start and end at different times."),
            rule="R6.4",
            field="service_hours",
        )
    return ServiceHours(tuple(sorted(days)), s, e)


@dataclass(frozen=True, slots=True)
class Strategy:
    id: int
    kind: StrategyKind
    name: str
    enabled: bool
    priority: int  # lower acts first
    conditions: Conditions


@dataclass(frozen=True, slots=True)
class Situation:
    """What the strategies are asked about: the case as it stands and its surroundings."""

    trigger: Trigger
    case: Case
    order: Order
    skus: tuple[str, ...]  # of the request's lines
    now: datetime
    shop_timezone: str
    service_hours: ServiceHours | None


@dataclass(frozen=True, slots=True)
class Check:
    """One condition and whether it held, with the values that decided it."""

    name: str
    held: bool
    rule: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "held": self.held, "rule": self.rule, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Verdict:
    strategy: Strategy
    checks: tuple[Check, ...]
    actions: tuple[Action, ...]  # what it does when it matches (empty: it cannot act here)

    @property
    def matched(self) -> bool:
        return self.strategy.enabled and bool(self.actions) and all(c.held for c in self.checks)


def _scope_checks(kind: StrategyKind, s: Situation) -> tuple[list[Check], tuple[Action, ...]]:
    """Whether the kind can act on this case at all, and with which actions."""
    case = s.case
    rule = KIND_RULES[kind]
    checks = [Check("trigger", s.trigger is KIND_TRIGGER[kind], rule, {"trigger": s.trigger.value})]
    if kind is StrategyKind.WAREHOUSE_RECEIPT_AUTO_REFUND:
        type_ok = case.type is CaseType.RETURN_REFUND
        state_ok = case.state in RECEIPT_STATES
        actions: tuple[Action, ...] = (
            (Action.REFUND,)
            if case.state is State.RETURN_RECEIVED
            else (Action.CONFIRM_RECEIPT, Action.REFUND)
        )
    else:
        type_ok = case.type in RETURN_TYPES
        state_ok = case.state is State.AWAITING_MERCHANT
        actions = (Action.APPROVE_RETURN,)
    checks.append(Check("case_type", type_ok, rule, {"type": case.type.value}))
    checks.append(Check("state", state_ok, rule, {"state": case.state.value}))
    ok = all(c.held for c in checks)
    return checks, actions if ok else ()


def _days_since(moment: datetime, now: datetime) -> float:
    return (now - moment).total_seconds() / 86400


def _condition_checks(strategy: Strategy, s: Situation, profile: Profile) -> list[Check]:
    c, case, rule = strategy.conditions, s.case, KIND_RULES[strategy.kind]
    checks = []
    if c.reasons:
        checks.append(Check("reason", case.reason in c.reasons, rule, {"reason": case.reason}))
    amount = case.requested.amount
    if c.min_amount is not None or c.max_amount is not None:
        held = (c.min_amount is None or amount >= c.min_amount) and (
            c.max_amount is None or amount <= c.max_amount
        )
        checks.append(
            Check(
                "amount",
                held,
                rule,
                {"amount": amount, "min": c.min_amount, "max": c.max_amount},
            )
        )
    if c.skus:
        outside = sorted(set(s.skus) - set(c.skus))
        checks.append(Check("products", not outside, rule, {"outside": outside}))
    if c.max_days_since_signing is not None:
        signed = s.order.signed_at
        elapsed = None if signed is None else _days_since(signed, s.now)
        days = None if elapsed is None else round(elapsed, 2)
        checks.append(
            Check(
                "time_since_signing",
                elapsed is not None and elapsed <= c.max_days_since_signing,
                rule,
                {"days": days, "max": c.max_days_since_signing},
            )
        )
    if strategy.kind is StrategyKind.SEVEN_DAY_AUTO_APPROVE:
        checks.extend(_seven_day_checks(s, profile))
    if strategy.kind is StrategyKind.OFF_HOURS_AUTO_APPROVE:
        hours = s.service_hours
        open_now = hours is not None and hours.open_at(s.now, s.shop_timezone)
        local = s.now.astimezone(ZoneInfo(s.shop_timezone))
        checks.append(
            Check(
                "outside_service_hours",
                hours is not None and not open_now,
                "R6.4",
                {
                    "at": local.strftime("%Y-%m-%d %H:%M"),
                    "timezone": s.shop_timezone,
                    "service_hours": hours.to_json() if hours else None,
                },
            )
        )
    return checks


def _seven_day_checks(s: Situation, profile: Profile) -> list[Check]:
    """R6.2 = R4.1: signed, reason in the no-reason group, inside every line's window."""
    case, order = s.case, s.order
    group = reason(case.reason).group
    checks = [Check("no_reason", group is ReasonGroup.NO_REASON, "R4.1", {"group": group.value})]
    closes = None
    if order.signed_at is not None:
        days = []
        for cl in case.lines:
            line = order.line(cl.order_line_id)
            days.append(no_reason_days_for(line, profile) if line is not None else None)
        if days and all(d is not None for d in days):
            closes = window_end(order.signed_at, min(d for d in days if d is not None), profile)
    checks.append(
        Check(
            "within_no_reason_window",
            closes is not None and s.now < closes,
            "R4.1",
            {"closes_at": closes.isoformat() if closes else None},
        )
    )
    return checks


def verdict(strategy: Strategy, s: Situation, profile: Profile) -> Verdict:
    checks, actions = _scope_checks(strategy.kind, s)
    if actions:
        checks += _condition_checks(strategy, s, profile)
    checks.append(Check("enabled", strategy.enabled, KIND_RULES[strategy.kind]))
    return Verdict(strategy, tuple(checks), actions)


def decide(
    strategies: list[Strategy], s: Situation, profile: Profile
) -> tuple[Verdict | None, tuple[Verdict, ...]]:
    """Try the strategies in priority order (then oldest first). Returns the verdict that
    acts (None: none matches) and every verdict, for the dry run."""
    ordered = sorted(strategies, key=lambda st: (st.priority, st.id))
    verdicts = tuple(verdict(st, s, profile) for st in ordered)
    acting = next((v for v in verdicts if v.matched), None)
    return acting, verdicts
