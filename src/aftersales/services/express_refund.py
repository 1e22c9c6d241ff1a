"""Express refund after shipment 发货后极速退款 (R7).

The shop switches the service on (at once; then locked on for
``express_refund.switch_off_lock_hours``) and off (at once). The switch history is kept,
so an order paid while it was on stays eligible after it is switched off (R7.3).

When the buyer's return tracking number passes validation, the six conditions of R7.1
are checked; when all hold the platform refunds the buyer at once, advancing the money
(ledger: platform advance -> buyer). The advance is recovered from the shop's settlement
when the return is received and refunded (``money.refund_in_case``), or later from the
deposit (``money.recover_advance``). Every check is kept with each condition's outcome
and written to the timeline, so a declined case says which condition failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from aftersales.domain.automation import Check
from aftersales.domain.case import Case
from aftersales.domain.case_types import Action, ActorKind
from aftersales.domain.catalog import Order
from aftersales.domain.errors import IllegalTransition
from aftersales.domain.express_refund import (
    SwitchState,
    eligibility,
    switch_off_allowed_at,
)
from aftersales.domain.i18n import N_
from aftersales.domain.policy import ExpressRefund, Profile, RiskLevel
from aftersales.services import engine, money, risk
from aftersales.services.actors import Actor, require_case_access, require_configurer, visible_shop
from aftersales.services.context import Context
from aftersales.store import accounts as account_store
from aftersales.store import automation as store
from aftersales.store import cases as case_store


@dataclass(frozen=True, slots=True)
class Switch:
    enabled: bool
    at: datetime
    by_account_id: int | None


@dataclass(frozen=True, slots=True)
class ExpressStatus:
    shop_code: str
    enabled: bool
    since: datetime | None  # when the current state began
    locked_until: datetime | None  # R7.3: switching off is refused before this
    history: list[Switch]


@dataclass(frozen=True, slots=True)
class CheckView:
    at: datetime
    eligible: bool
    conditions: list[dict[str, Any]]
    advance_entry_id: int | None


def rules_of(ctx: Context, profile: Profile) -> ExpressRefund:
    """The profile's R7 numbers (a frozen version older than v4 reads the current one)."""
    if profile.express_refund is not None:
        return profile.express_refund
    current = ctx.profiles.current[profile.id].express_refund
    if current is None:
        raise IllegalTransition(
            "express_refund.not_in_profile",
            N_("The policy profile {profile} has no express refund rules."),
            rule="R7",
            profile=profile.id,
        )
    return current


def _status(conn: Connection, shop: Any, rules: ExpressRefund) -> ExpressStatus:
    history = [Switch(r.enabled, r.at, r.by_account_id) for r in store.switches(conn, shop.id)]
    enabled = bool(history) and history[-1].enabled
    since = history[-1].at if history else None
    locked = switch_off_allowed_at(since, rules) if enabled and since is not None else None
    return ExpressStatus(shop.code, enabled, since, locked, history)


def status(ctx: Context, actor: Actor, shop_code: str) -> ExpressStatus:
    with ctx.db.read() as conn:
        shop = visible_shop(conn, actor, shop_code)
        return _status(conn, shop, rules_of(ctx, ctx.profiles.current[shop.profile_id]))


def switch(ctx: Context, actor: Actor, shop_code: str, *, enabled: bool) -> ExpressStatus:
    """R7.3: on takes effect at once and locks the service on for the profile's hours;
    off takes effect at once, except inside that lock. Asking for the current state
    changes nothing (and does not restart the lock)."""
    now = ctx.now()
    with ctx.db.write() as conn:
        shop = visible_shop(conn, actor, shop_code)
        require_configurer(actor)
        rules = rules_of(ctx, ctx.profiles.current[shop.profile_id])
        current = _status(conn, shop, rules)
        if current.enabled == enabled:
            return current
        if not enabled and current.locked_until is not None and now < current.locked_until:
            raise IllegalTransition(
                "express_refund.locked",
                N_("Express refund is locked on since {since}; it can be off from {until}."),
                rule="R7.3",
                since=current.since.isoformat() if current.since else "",
                until=current.locked_until.isoformat(),
            )
        store.insert_switch(conn, shop.id, enabled, now, actor.account_id)
        account_store.audit(
            conn,
            at=now,
            actor=actor.id or "",
            subject=f"shop:{shop.id}",
            action="express_refund_on" if enabled else "express_refund_off",
        )
        return _status(conn, shop, rules)


def _switch_state(conn: Connection, shop_id: int, paid_at: datetime, now: datetime) -> SwitchState:
    now_row = store.switch_at(conn, shop_id, now)
    paid_row = store.switch_at(conn, shop_id, paid_at)
    return SwitchState(
        on_now=bool(now_row and now_row.enabled),
        on_at_payment=bool(paid_row and paid_row.enabled),
    )


def _risk_level(
    ctx: Context, conn: Connection, profile: Profile, case: Case, now: datetime
) -> RiskLevel:
    if profile.risk is None:  # a frozen version older than v4: today's risk rules
        profile = ctx.profiles.current[profile.id]
    return risk.assess_in(conn, profile, case.buyer_id, now, order_id=case.order_id).level


def evaluate(
    ctx: Context, conn: Connection, case: Case, order: Order, now: datetime
) -> tuple[Check, ...]:
    """R7.1: the six conditions for this case as it stands."""
    profile = ctx.profiles.for_case(conn, case.profile_id, case.profile_version)
    rules = rules_of(ctx, profile)
    switch_state = _switch_state(conn, case.shop_id, order.paid_at, now)
    level = _risk_level(ctx, conn, profile, case, now)
    return eligibility(case, order, rules, switch_state, level)


def check_in(ctx: Context, conn: Connection, case: Case, now: datetime, order: Order) -> bool:
    """At the moment the return tracking number passed validation (R7.1): refund at once
    when every condition holds. A shop that never switched the service on gets no check
    (nothing to explain); otherwise the check is recorded and written to the timeline."""
    assert case.id is not None
    if store.switch_at(conn, case.shop_id, now) is None:  # never switched on
        return False
    checks = evaluate(ctx, conn, case, order, now)
    eligible = all(c.held for c in checks)
    entry_id = None
    system = Actor(ActorKind.SYSTEM, "platform:express-refund")
    if eligible:
        amount = (case.agreed or case.requested).amount
        entry_id = money.advance_in(conn, case, order, amount, now)
    conditions = [c.to_json() for c in checks]
    store.insert_check(conn, case.id, now, eligible, conditions, entry_id)
    if eligible:
        engine.note(
            conn,
            case,
            system,
            Action.EXPRESS_REFUND,
            "R7.1",
            {
                "advance": {
                    "amount": (case.agreed or case.requested).amount,
                    "currency": case.requested.currency,
                    "entry_id": entry_id,
                },
                "conditions": conditions,
            },
            now,
        )
    else:
        failed = [c["name"] for c in conditions if not c["held"]]
        engine.note(
            conn,
            case,
            system,
            Action.EXPRESS_REFUND_DECLINED,
            "R7.1",
            {"failed": failed, "conditions": conditions},
            now,
        )
    return eligible


def latest_check(ctx: Context, actor: Actor, case_number: str) -> CheckView | None:
    """The case's last express refund check (None: none was made)."""
    with ctx.db.read() as conn:
        case = require_case_access(
            actor, case_store.load_case(conn, case_number), case_number, write=False
        )
        return latest_check_in(conn, case)


def latest_check_in(conn: Connection, case: Case) -> CheckView | None:
    row = store.latest_check(conn, case.id or 0)
    if row is None:
        return None
    return CheckView(row.at, row.eligible, list(row.conditions), row.entry_id)
