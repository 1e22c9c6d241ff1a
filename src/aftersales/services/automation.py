"""Automation: a shop's strategies 售后小助手 (R6), the platform's regional auto-refund
(R8.2) and the hook that runs them (and the express refund check, R7) after a move.

Strategies are configured by the shop's main account or a sub-account granted
``configure_strategies`` (R1.2). They act inside the transaction of the move that started
them, as the merchant, and each automatic decision's timeline entry names the strategy
and every condition that matched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from aftersales.domain import machine
from aftersales.domain.automation import (
    KIND_RULES,
    Conditions,
    ServiceHours,
    Situation,
    Strategy,
    StrategyKind,
    Trigger,
    Verdict,
    decide,
    validate_conditions,
)
from aftersales.domain.case import Case, Command
from aftersales.domain.case_types import Action, ActorKind, State
from aftersales.domain.catalog import Order
from aftersales.domain.errors import Conflict, DomainError, NotFound, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.policy import Profile
from aftersales.services import engine, express_refund
from aftersales.services.actors import Actor, require_case_access, require_configurer, visible_shop
from aftersales.services.context import Context
from aftersales.store import accounts as account_store
from aftersales.store import automation as store
from aftersales.store import cases as case_store
from aftersales.store import catalog as catalog_store

ARRIVALS = frozenset({Action.OPEN, Action.EDIT_REQUEST, Action.RESUBMIT})
NAME_MAX = 120
NO_CONDITIONS = Conditions()


# --------------------------------------------------------------------------- views
@dataclass(frozen=True, slots=True)
class StrategyView:
    id: int
    kind: StrategyKind
    name: str
    enabled: bool
    priority: int
    conditions: Conditions
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


@dataclass(frozen=True, slots=True)
class AutomationSettings:
    shop_code: str
    timezone: str
    service_hours: ServiceHours | None
    strategies: list[StrategyView]


@dataclass(frozen=True, slots=True)
class Preview:
    """The dry run: what would act on the case now, and why each strategy would or not."""

    case_number: str
    trigger: Trigger
    regional_rule: str | None  # R8.2: the platform refunds before any strategy
    acting: Verdict | None
    verdicts: tuple[Verdict, ...]


def _strategy(row: Any) -> Strategy:
    return Strategy(
        row.id,
        StrategyKind(row.kind),
        row.name,
        row.enabled,
        row.priority,
        Conditions.from_json(row.conditions),
    )


def _view(row: Any) -> StrategyView:
    return StrategyView(
        row.id,
        StrategyKind(row.kind),
        row.name,
        row.enabled,
        row.priority,
        Conditions.from_json(row.conditions),
        row.version,
        row.created_at,
        row.updated_at,
        row.archived_at,
    )


def _hours(shop_row: Any) -> ServiceHours | None:
    return ServiceHours.from_json(shop_row.service_hours) if shop_row.service_hours else None


def _audit(
    conn: Connection, actor: Actor, shop_id: int, action: str, now: datetime, **kw: Any
) -> None:
    account_store.audit(
        conn, at=now, actor=actor.id or "", subject=f"shop:{shop_id}", action=action, **kw
    )


# --------------------------------------------------------------------------- configuration
def settings(ctx: Context, actor: Actor, shop_code: str) -> AutomationSettings:
    """The shop's strategies in priority order, and its service hours. Any account of the
    shop and the platform may read them."""
    with ctx.db.read() as conn:
        shop = visible_shop(conn, actor, shop_code)
        return AutomationSettings(
            shop.code,
            shop.timezone,
            _hours(shop),
            [_view(r) for r in store.strategy_rows(conn, shop.id)],
        )


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise ValidationFailed(
            "strategy.name_invalid", N_("A strategy name is 1 to 120 characters."), field="name"
        )
    return name


def _check_conditions(
    conn: Connection, shop_id: int, kind: StrategyKind, conditions: Conditions
) -> Conditions:
    validate_conditions(kind, conditions)
    for sku in conditions.skus:
        if catalog_store.product_id_by_sku(conn, shop_id, sku) is None:
            raise ValidationFailed(
                "strategy.unknown_sku",
                N_("The shop has no product {sku}."),
                rule="R6",
                field="conditions.skus",
                sku=sku,
            )
    return conditions


def create_strategy(
    ctx: Context,
    actor: Actor,
    shop_code: str,
    *,
    kind: StrategyKind,
    name: str,
    enabled: bool = True,
    priority: int = 100,
    conditions: Conditions = NO_CONDITIONS,
) -> StrategyView:
    """R6: add a strategy (audited)."""
    now = ctx.now()
    with ctx.db.write() as conn:
        shop = visible_shop(conn, actor, shop_code)
        require_configurer(actor)
        _check_conditions(conn, shop.id, kind, conditions)
        sid = store.insert_strategy(
            conn,
            shop_id=shop.id,
            kind=kind.value,
            name=_clean_name(name),
            enabled=enabled,
            priority=priority,
            conditions=conditions.to_json(),
            now=now,
        )
        _audit(
            conn,
            actor,
            shop.id,
            "strategy_created",
            now,
            strategy_id=sid,
            kind=kind.value,
            enabled=enabled,
            priority=priority,
            conditions=conditions.to_json(),
        )
        return _view(store.strategy_row(conn, shop.id, sid))


def _row(conn: Connection, shop_id: int, strategy_id: int) -> Any:
    row = store.strategy_row(conn, shop_id, strategy_id)
    if row is None:
        raise NotFound("strategy.not_found", N_("Strategy {id} not found."), id=strategy_id)
    return row


def update_strategy(
    ctx: Context,
    actor: Actor,
    shop_code: str,
    strategy_id: int,
    *,
    name: str | None = None,
    enabled: bool | None = None,
    priority: int | None = None,
    conditions: Conditions | None = None,
    expected_version: int | None = None,
) -> StrategyView:
    """R6: switch a strategy on or off, reorder it or change its conditions (audited,
    optimistic: a stale ``expected_version`` changes nothing)."""
    now = ctx.now()
    with ctx.db.write() as conn:
        shop = visible_shop(conn, actor, shop_code)
        require_configurer(actor)
        row = _row(conn, shop.id, strategy_id)
        if row.archived_at is not None:
            raise Conflict("strategy.archived", N_("Strategy {id} is archived."), id=strategy_id)
        version = expected_version if expected_version is not None else row.version
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = _clean_name(name)
        if enabled is not None:
            changes["enabled"] = enabled
        if priority is not None:
            changes["priority"] = priority
        if conditions is not None:
            changes["conditions"] = _check_conditions(
                conn, shop.id, StrategyKind(row.kind), conditions
            ).to_json()
        changes = {k: v for k, v in changes.items() if getattr(row, k) != v}
        if changes:
            if not store.update_strategy(conn, row.id, version, now, **changes):
                raise Conflict(
                    "strategy.conflict",
                    N_("Strategy {id} changed since you read it; reload and try again."),
                    id=strategy_id,
                )
            _audit(
                conn,
                actor,
                shop.id,
                "strategy_changed",
                now,
                strategy_id=row.id,
                before={k: getattr(row, k) for k in changes},
                after=changes,
            )
        return _view(store.strategy_row(conn, shop.id, row.id))


def archive_strategy(ctx: Context, actor: Actor, shop_code: str, strategy_id: int) -> StrategyView:
    """Remove a strategy from use; it stays on record (timelines name it)."""
    now = ctx.now()
    with ctx.db.write() as conn:
        shop = visible_shop(conn, actor, shop_code)
        require_configurer(actor)
        row = _row(conn, shop.id, strategy_id)
        if row.archived_at is None:
            store.update_strategy(conn, row.id, row.version, now, archived_at=now, enabled=False)
            _audit(conn, actor, shop.id, "strategy_archived", now, strategy_id=row.id)
        return _view(store.strategy_row(conn, shop.id, row.id))


def set_service_hours(
    ctx: Context, actor: Actor, shop_code: str, hours: ServiceHours | dict[str, Any] | None
) -> AutomationSettings:
    """R6.4: the shop's service hours in its time zone (None: no service hours, so the
    off-hours strategy never acts). ``hours`` may be the JSON form (days, start, end),
    checked once the caller may change them."""
    now = ctx.now()
    with ctx.db.write() as conn:
        shop = visible_shop(conn, actor, shop_code)
        require_configurer(actor)
        if isinstance(hours, dict):
            hours = ServiceHours.from_json(hours)
        value = hours.to_json() if hours else None
        if shop.service_hours != value:
            catalog_store.update_shop(conn, shop.id, service_hours=value)
            _audit(
                conn,
                actor,
                shop.id,
                "service_hours_changed",
                now,
                before=shop.service_hours,
                after=value,
            )
    return settings(ctx, actor, shop_code)


# --------------------------------------------------------------------------- running
def _situation(
    conn: Connection, case: Case, trigger: Trigger, now: datetime, order: Order
) -> Situation:
    shop = catalog_store.shop_row(conn, case.shop_id)
    skus = []
    for cl in case.lines:
        line = order.line(cl.order_line_id)
        if line is not None:
            skus.append(line.product.sku)
    return Situation(trigger, case, order, tuple(skus), now, shop.timezone, _hours(shop))


def _strategies(conn: Connection, shop_id: int) -> list[Strategy]:
    return [_strategy(r) for r in store.strategy_rows(conn, shop_id)]


def _regional_rule(case: Case, order: Order, profile: Profile) -> str | None:
    if case.state is not State.AWAITING_MERCHANT:
        return None
    return machine.regional_auto_refund(case, order, profile)


def _order(conn: Connection, case: Case) -> Order:
    order = catalog_store.load_order(conn, case.order_id)
    assert order is not None
    return order


def _run(ctx: Context, conn: Connection, case: Case, acting: Verdict, now: datetime) -> Case:
    st = acting.strategy
    actor = Actor(ActorKind.MERCHANT, f"strategy:{st.id}", shop_id=case.shop_id, strategy=st.name)
    detail = {
        "strategy_id": st.id,
        "kind": st.kind.value,
        "name": st.name,
        "priority": st.priority,
        "rule": KIND_RULES[st.kind],
        "matched": [c.to_json() for c in acting.checks],
    }
    try:
        with conn.begin_nested():
            for action in acting.actions:
                case = engine.move(
                    ctx,
                    conn,
                    actor,
                    case,
                    Command(action, ActorKind.MERCHANT),
                    None,
                    now,
                    extra_changes={"automation": detail},
                )
    except DomainError:
        # The machine refused the move (e.g. no return address): the request stays with
        # the shop's team, as if no strategy had matched. The dry run shows the reason.
        reloaded = case_store.load_case_by_id(conn, case.id or 0)
        assert reloaded is not None
        return reloaded
    return case


@engine.on_after_move
def after_move(
    ctx: Context, conn: Connection, case: Case, action: Action, now: datetime, order: Order
) -> Case:
    """What a move starts, inside its transaction: a request that arrives for the merchant
    meets the regional rule (R8.2) and then the shop's strategies (R6.1, R6.2, R6.4); a
    validated return tracking number meets the express refund check (R7.1). ``order`` is
    the case's order as the move loaded (and locked) it."""
    if action in ARRIVALS and case.state is State.AWAITING_MERCHANT:
        profile = ctx.profiles.for_case(conn, case.profile_id, case.profile_version)
        region = _regional_rule(case, order, profile)
        if region is not None:
            system = Actor(ActorKind.SYSTEM, "platform:regional-rule")
            return engine.move(
                ctx,
                conn,
                system,
                case,
                Command(Action.REGIONAL_AUTO_REFUND, ActorKind.SYSTEM),
                None,
                now,
                extra_changes={"regional_rule": {"region": region, "rule": "R8.2"}},
            )
        return run_strategies(ctx, conn, case, Trigger.REQUEST_ARRIVED, now, order)
    if action is Action.SHIP_RETURN:
        express_refund.check_in(ctx, conn, case, now, order)
    return case


def run_strategies(
    ctx: Context,
    conn: Connection,
    case: Case,
    trigger: Trigger,
    now: datetime,
    order: Order | None = None,
) -> Case:
    strategies = _strategies(conn, case.shop_id)
    if not strategies:  # most shops: nothing more to read
        return case
    profile = ctx.profiles.for_case(conn, case.profile_id, case.profile_version)
    situation = _situation(conn, case, trigger, now, order or _order(conn, case))
    acting, _ = decide(strategies, situation, profile)
    if acting is None:
        return case
    return _run(ctx, conn, case, acting, now)


def preview(
    ctx: Context, actor: Actor, case_number: str, trigger: Trigger | None = None
) -> Preview:
    """The dry run: which strategy would act on this case now and why, changing nothing.
    Without a trigger: a passed warehouse inspection once the return is on its way back,
    else the request arriving."""
    now = ctx.now()
    with ctx.db.read() as conn:
        case = require_case_access(
            actor, case_store.load_case(conn, case_number), case_number, write=False
        )
        if trigger is None:
            trigger = (
                Trigger.WAREHOUSE_PASSED
                if case.state
                in (State.RETURN_SHIPPED, State.RETURN_DELIVERED, State.RETURN_RECEIVED)
                else Trigger.REQUEST_ARRIVED
            )
        profile = ctx.profiles.for_case(conn, case.profile_id, case.profile_version)
        order = _order(conn, case)
        situation = _situation(conn, case, trigger, now, order)
        acting, verdicts = decide(_strategies(conn, case.shop_id), situation, profile)
        arriving = trigger is Trigger.REQUEST_ARRIVED
        region = _regional_rule(case, order, profile) if arriving else None
        return Preview(case.number, trigger, region, None if region else acting, verdicts)
