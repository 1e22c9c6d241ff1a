"""R6: automation strategies 售后小助手, through the services on SQLite and PostgreSQL.

Every test reads its numbers (windows) from the profile; amounts are minor units.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from aftersales.domain.accounts import Permission
from aftersales.domain.automation import Conditions, StrategyKind, Trigger, parse_service_hours
from aftersales.domain.case_types import CaseType, State
from aftersales.domain.errors import Conflict, Forbidden, ValidationFailed
from aftersales.services import automation
from aftersales.services import cases as svc
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.store import cases as case_store
from aftersales.store import catalog as catalog_store
from tests.conftest import FakeClock
from tests.factories import World, make_world

K = StrategyKind


def code_of(w: World) -> str:
    with w.ctx.db.read() as conn:
        return catalog_store.shop_code(conn, w.shop_id)


def strategy(w: World, kind: StrategyKind, **kw: object) -> int:
    conditions = kw.pop("conditions", Conditions())
    return automation.create_strategy(
        w.ctx,
        w.merchant,
        code_of(w),
        kind=kind,
        name=kw.pop("name", kind.value),  # type: ignore[arg-type]
        conditions=conditions,  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    ).id


def timeline(ctx: Context, number: str) -> list[dict[str, object]]:
    with ctx.db.read() as conn:
        case = case_store.load_case(conn, number)
        assert case is not None and case.id is not None
        return [dataclasses.asdict(r) for r in case_store.events(conn, case.id)]


def state(ctx: Context, number: str) -> State:
    return svc.get_case(ctx, Actor.system(), number).case.state


# --------------------------------------------------------------------------- R6.1
def test_R6_1_auto_approve_return_approves_a_matching_return_at_once(ctx: Context) -> None:
    w = make_world(ctx)
    sid = strategy(
        w,
        K.AUTO_APPROVE_RETURN,
        name="Approve shirts",
        conditions=Conditions(reasons=("changed_mind",), min_amount=5_000, max_amount=20_000),
    )
    number = w.open(reason="changed_mind", amount=10_000)

    assert state(ctx, number) is State.AWAITING_RETURN
    entries = timeline(ctx, number)
    assert [e["action"] for e in entries] == ["open", "approve_return"]
    decided = entries[-1]
    assert decided["strategy"] == "Approve shirts"
    assert decided["actor_kind"] == "merchant"
    auto = decided["changes"]["automation"]["after"]  # type: ignore[index]
    assert auto["strategy_id"] == sid and auto["rule"] == "R6.1"
    matched = {c["name"]: c for c in auto["matched"]}
    assert matched["reason"]["held"] and matched["reason"]["detail"]["reason"] == "changed_mind"
    assert matched["amount"]["detail"] == {"amount": 10_000, "min": 5_000, "max": 20_000}


def test_R6_1_with_no_reasons_configured_every_reason_matches(ctx: Context) -> None:
    w = make_world(ctx)
    strategy(w, K.AUTO_APPROVE_RETURN)
    assert state(ctx, w.open(reason="defect")) is State.AWAITING_RETURN
    assert state(ctx, w.open(reason="ordered_by_mistake")) is State.AWAITING_RETURN


def test_R6_1_a_reason_outside_the_list_waits_for_the_merchant(ctx: Context) -> None:
    w = make_world(ctx)
    strategy(w, K.AUTO_APPROVE_RETURN, conditions=Conditions(reasons=("changed_mind",)))
    number = w.open(reason="defect")
    assert state(ctx, number) is State.AWAITING_MERCHANT
    assert [e["action"] for e in timeline(ctx, number)] == ["open"]


def test_R6_amount_range_includes_both_ends(ctx: Context) -> None:
    w = make_world(ctx)
    strategy(w, K.AUTO_APPROVE_RETURN, conditions=Conditions(min_amount=2_000, max_amount=9_999))
    assert state(ctx, w.open(amount=9_999)) is State.AWAITING_RETURN
    assert state(ctx, w.open(amount=2_000)) is State.AWAITING_RETURN
    assert state(ctx, w.open(amount=10_000)) is State.AWAITING_MERCHANT
    assert state(ctx, w.open(amount=1_999)) is State.AWAITING_MERCHANT


def test_R6_products_limit_the_strategy_to_listed_skus(ctx: Context) -> None:
    w = make_world(ctx)
    strategy(w, K.AUTO_APPROVE_RETURN, conditions=Conditions(skus=("PLAIN",)))
    assert state(ctx, w.open(product="plain")) is State.AWAITING_RETURN
    assert state(ctx, w.open(product="seal_sensitive")) is State.AWAITING_MERCHANT
    with pytest.raises(ValidationFailed) as exc:
        strategy(w, K.AUTO_APPROVE_RETURN, conditions=Conditions(skus=("NOPE",)))
    assert exc.value.params["field"] == "conditions.skus"


def test_R6_time_since_signing_limits_the_strategy(ctx: Context) -> None:
    w = make_world(ctx)
    strategy(w, K.AUTO_APPROVE_RETURN, conditions=Conditions(max_days_since_signing=3))
    assert state(ctx, w.open(signed_ago=timedelta(days=3))) is State.AWAITING_RETURN
    assert state(ctx, w.open(signed_ago=timedelta(days=3, minutes=1))) is State.AWAITING_MERCHANT


def test_R6_a_switched_off_strategy_does_not_act(ctx: Context) -> None:
    w = make_world(ctx)
    sid = strategy(w, K.AUTO_APPROVE_RETURN)
    automation.update_strategy(ctx, w.merchant, code_of(w), sid, enabled=False)
    assert state(ctx, w.open()) is State.AWAITING_MERCHANT
    automation.update_strategy(ctx, w.merchant, code_of(w), sid, enabled=True)
    assert state(ctx, w.open()) is State.AWAITING_RETURN


def test_R6_strategies_act_in_priority_order(ctx: Context) -> None:
    w = make_world(ctx)
    strategy(w, K.AUTO_APPROVE_RETURN, name="second", priority=20)
    strategy(w, K.AUTO_APPROVE_RETURN, name="first", priority=10)
    number = w.open()
    assert timeline(ctx, number)[-1]["strategy"] == "first"


def test_R6_refund_requests_are_not_approved_by_return_strategies(ctx: Context) -> None:
    w = make_world(ctx)
    strategy(w, K.AUTO_APPROVE_RETURN)
    number = w.open(type=CaseType.REFUND_ONLY, reason="not_received")
    assert state(ctx, number) is State.AWAITING_MERCHANT


def test_R6_an_edited_request_meets_the_strategies_again(ctx: Context) -> None:
    w = make_world(ctx)
    strategy(w, K.AUTO_APPROVE_RETURN, conditions=Conditions(max_amount=5_000))
    number = w.open(amount=10_000)
    assert state(ctx, number) is State.AWAITING_MERCHANT
    svc.edit_request(ctx, w.buyer, number, amount=5_000)
    assert state(ctx, number) is State.AWAITING_RETURN


# --------------------------------------------------------------------------- R6.2
def test_R6_2_seven_day_strategy_approves_inside_the_no_reason_window(ctx: Context) -> None:
    w = make_world(ctx)
    strategy(w, K.SEVEN_DAY_AUTO_APPROVE)
    days = ctx.profiles.current["douyin"].windows.no_reason_days
    assert state(ctx, w.open(signed_ago=timedelta(days=days - 1))) is State.AWAITING_RETURN
    # A merchant-side reason is not the seven-day rule.
    assert state(ctx, w.open(reason="defect")) is State.AWAITING_MERCHANT


def test_R6_2_seven_day_strategy_follows_the_window_to_its_last_moment(
    ctx: Context, clock: FakeClock
) -> None:
    w = make_world(ctx)
    strategy(w, K.SEVEN_DAY_AUTO_APPROVE)
    profile = ctx.profiles.current["douyin"]
    number = w.order(signed_ago=timedelta(days=1))
    # Move to the last minute of the window (R4.1 counting, profile time zone).
    from aftersales.domain.windows import window_end

    with ctx.db.read() as conn:
        order = catalog_store.load_order(conn, catalog_store.order_id_by_number(conn, number) or 0)
    assert order is not None and order.signed_at is not None
    closes = window_end(order.signed_at, profile.windows.no_reason_days, profile)
    clock.now = closes - timedelta(minutes=1)
    assert state(ctx, w.open(order=number)) is State.AWAITING_RETURN


def test_R6_2_seven_day_strategy_takes_no_conditions(ctx: Context) -> None:
    w = make_world(ctx)
    with pytest.raises(ValidationFailed) as exc:
        strategy(w, K.SEVEN_DAY_AUTO_APPROVE, conditions=Conditions(max_amount=100))
    assert exc.value.rule == "R6.2"


def test_R6_2_seven_day_strategy_skips_goods_excluded_from_no_reason(ctx: Context) -> None:
    w = make_world(ctx)
    strategy(w, K.SEVEN_DAY_AUTO_APPROVE)
    # Custom-made goods have no no-reason right (R4.3): a quality return still opens.
    number = w.open(product="custom_made", reason="defect")
    assert state(ctx, number) is State.AWAITING_MERCHANT


# --------------------------------------------------------------------------- R6.4
def _office_hours(w: World) -> None:
    hours = parse_service_hours([1, 2, 3, 4, 5, 6, 7], "09:00", "18:00")
    automation.set_service_hours(w.ctx, w.merchant, code_of(w), hours)


def test_R6_4_off_hours_request_at_2359_shop_time_is_approved_and_at_0900_is_not(
    ctx: Context, clock: FakeClock
) -> None:
    w = make_world(ctx)  # shops run on Asia/Shanghai (UTC+8)
    _office_hours(w)
    strategy(w, K.OFF_HOURS_AUTO_APPROVE)
    order_late = w.order()
    order_morning = w.order()
    clock.now = datetime(2026, 11, 20, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
    late = w.open(order=order_late)
    clock.now = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    morning = w.open(order=order_morning)

    assert state(ctx, late) is State.AWAITING_RETURN
    decided = timeline(ctx, late)[-1]
    check = {c["name"]: c for c in decided["changes"]["automation"]["after"]["matched"]}  # type: ignore[index]
    assert check["outside_service_hours"]["detail"]["at"] == "2026-11-20 23:59"
    assert state(ctx, morning) is State.AWAITING_MERCHANT


def test_R6_4_service_hours_are_read_in_the_shops_time_zone(ctx: Context, clock: FakeClock) -> None:
    w = make_world(ctx)
    _office_hours(w)
    strategy(w, K.OFF_HOURS_AUTO_APPROVE)
    # 02:00 UTC is 10:00 in Shanghai: inside the hours.
    clock.now = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    assert state(ctx, w.open()) is State.AWAITING_MERCHANT


def test_R6_4_without_service_hours_the_off_hours_strategy_never_acts(
    ctx: Context, clock: FakeClock
) -> None:
    w = make_world(ctx)
    strategy(w, K.OFF_HOURS_AUTO_APPROVE)
    clock.now = datetime(2026, 11, 20, 15, 59, tzinfo=UTC)
    assert state(ctx, w.open()) is State.AWAITING_MERCHANT


def test_R6_4_service_hours_must_be_well_formed() -> None:
    with pytest.raises(ValidationFailed):
        parse_service_hours([0, 1], "09:00", "18:00")
    with pytest.raises(ValidationFailed):
        parse_service_hours([1], "9am", "18:00")
    with pytest.raises(ValidationFailed):
        parse_service_hours([1], "09:00", "09:00")
    overnight = parse_service_hours([5], "22:00", "06:00")  # Friday night shift
    fri_late = datetime(2026, 11, 20, 23, 0)
    sat_early = datetime(2026, 11, 21, 5, 0)
    sat_late = datetime(2026, 11, 21, 23, 0)
    tz = "UTC"
    assert overnight.open_at(fri_late.replace(tzinfo=UTC), tz)
    assert overnight.open_at(sat_early.replace(tzinfo=UTC), tz)
    assert not overnight.open_at(sat_late.replace(tzinfo=UTC), tz)


# --------------------------------------------------------------------------- R1.2
def test_R1_2_a_sub_account_without_the_permission_cannot_change_a_strategy(
    ctx: Context,
) -> None:
    w = make_world(ctx)
    sid = strategy(w, K.AUTO_APPROVE_RETURN)
    sub = Actor(
        w.merchant.kind,
        "shop-sub",
        shop_id=w.shop_id,
        main=False,
        permissions=frozenset({Permission.HANDLE_AFTERSALES}),
    )
    with pytest.raises(Forbidden) as exc:
        automation.update_strategy(ctx, sub, code_of(w), sid, enabled=False)
    assert exc.value.rule == "R1.2"
    with pytest.raises(Forbidden):
        automation.create_strategy(ctx, sub, code_of(w), kind=K.AUTO_APPROVE_RETURN, name="x")
    granted = Actor(
        w.merchant.kind,
        "shop-sub2",
        shop_id=w.shop_id,
        main=False,
        permissions=frozenset({Permission.CONFIGURE_STRATEGIES}),
    )
    view = automation.update_strategy(ctx, granted, code_of(w), sid, enabled=False)
    assert view.enabled is False and view.version == 2


def test_R6_another_shop_cannot_see_the_strategies(ctx: Context) -> None:
    w = make_world(ctx)
    strategy(w, K.AUTO_APPROVE_RETURN)
    other = Actor.merchant(w.other_shop_id)
    from aftersales.domain.errors import NotFound

    with pytest.raises(NotFound):
        automation.settings(ctx, other, code_of(w))


def test_R6_a_stale_version_changes_nothing(ctx: Context) -> None:
    w = make_world(ctx)
    sid = strategy(w, K.AUTO_APPROVE_RETURN)
    automation.update_strategy(ctx, w.merchant, code_of(w), sid, priority=5)
    with pytest.raises(Conflict):
        automation.update_strategy(ctx, w.merchant, code_of(w), sid, priority=7, expected_version=1)
    assert automation.settings(ctx, w.merchant, code_of(w)).strategies[0].priority == 5


def test_R6_an_archived_strategy_stays_on_record_and_stops_acting(ctx: Context) -> None:
    w = make_world(ctx)
    sid = strategy(w, K.AUTO_APPROVE_RETURN)
    acted = w.open()
    automation.archive_strategy(ctx, w.merchant, code_of(w), sid)
    assert automation.settings(ctx, w.merchant, code_of(w)).strategies == []
    assert state(ctx, w.open()) is State.AWAITING_MERCHANT
    assert timeline(ctx, acted)[-1]["strategy"] == K.AUTO_APPROVE_RETURN.value


# --------------------------------------------------------------------------- dry run
def test_R6_dry_run_names_the_strategy_that_would_act_and_why_the_others_would_not(
    ctx: Context,
) -> None:
    w = make_world(ctx)
    number = w.open(reason="defect", amount=10_000)  # no strategy yet: waits
    strategy(
        w, K.AUTO_APPROVE_RETURN, name="small", priority=1, conditions=Conditions(max_amount=5_000)
    )
    strategy(
        w,
        K.AUTO_APPROVE_RETURN,
        name="quality",
        priority=2,
        conditions=Conditions(reasons=("defect",)),
    )
    strategy(w, K.SEVEN_DAY_AUTO_APPROVE, name="seven", priority=3)

    preview = automation.preview(ctx, w.merchant, number)

    assert preview.trigger is Trigger.REQUEST_ARRIVED
    assert preview.acting is not None and preview.acting.strategy.name == "quality"
    by_name = {v.strategy.name: v for v in preview.verdicts}
    failed = [c.name for c in by_name["small"].checks if not c.held]
    assert failed == ["amount"]
    assert [c.name for c in by_name["seven"].checks if not c.held] == ["no_reason"]
    assert state(ctx, number) is State.AWAITING_MERCHANT  # nothing changed
    assert [e["action"] for e in timeline(ctx, number)] == ["open"]
