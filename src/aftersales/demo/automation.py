"""The demo's automation (R6 strategies, R7 express refund, R8.2 regional auto-refund):
what each does to the requests it meets, and a command to see it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aftersales.demo.common import Clock, Hint, open_request, sf_tracking
from aftersales.domain.automation import Conditions, StrategyKind, parse_service_hours
from aftersales.domain.case_types import CaseType
from aftersales.domain.i18n import N_
from aftersales.services import automation, express_refund, warehouse
from aftersales.services import cases as svc
from aftersales.services.actors import Actor
from aftersales.services.context import Context


def automation_demo(
    ctx: Context,
    clock: Clock,
    real_now: datetime,
    codes: list[str],
    shop_ids: list[tuple[int, str]],
    buyer_ids: list[int],
    new_order: Callable[..., str],
) -> list[Hint]:
    """Shop 1 runs every strategy kind (R6) and express refund (R7); shop 3 (tiktok) gets
    a regional request refunded with no merchant action (R8.2). Returns what to look at."""

    shop, code = shop_ids[0], codes[0]
    main = Actor.merchant(shop[0], "店长 owner")
    clock.now = real_now - timedelta(days=2)
    automation.set_service_hours(
        ctx, main, code, parse_service_hours([1, 2, 3, 4, 5, 6, 7], "09:00", "21:00")
    )
    K = StrategyKind
    for kind, name, priority, conditions in (
        (K.SEVEN_DAY_AUTO_APPROVE, "七天无理由自动同意 7-day returns", 10, Conditions()),
        (
            K.AUTO_APPROVE_RETURN,
            "质量问题小额自动退货 small quality returns",
            20,
            Conditions(reasons=("defect", "function_failure"), max_amount=20_000),
        ),
        (K.OFF_HOURS_AUTO_APPROVE, "非工作时间自动同意 off-hours returns", 30, Conditions()),
        (
            K.WAREHOUSE_RECEIPT_AUTO_REFUND,
            "仓库验货通过自动退款 refund on receipt",
            40,
            Conditions(),
        ),
    ):
        automation.create_strategy(
            ctx, main, code, kind=kind, name=name, priority=priority, conditions=conditions
        )
    express_refund.switch(ctx, main, code, enabled=True)
    notes = [Hint(f"automation list {code}")]

    def open_return(reason: str, at: datetime, buyer: int) -> str:
        clock.now = at
        order = new_order(shop, buyer, "signed", at)
        case = open_request(ctx, buyer, order, CaseType.RETURN_REFUND, reason, 12_000)
        return case

    # 1. Seven-day return: approved by the strategy, express refund at the tracking number,
    #    refunded by the warehouse strategy when the inspection passes (advance recovered).
    number = open_return("changed_mind", real_now - timedelta(hours=30), buyer_ids[0])
    clock.now += timedelta(hours=3)
    svc.ship_return(ctx, Actor.buyer(buyer_ids[0]), number, **sf_tracking())  # type: ignore[arg-type]
    clock.now += timedelta(days=1)
    warehouse.report(
        ctx,
        main,
        warehouse.Receipt(
            number,
            f"WMS-{number}",
            warehouse.Result.PASS,
            clock.now - timedelta(hours=1),
            clock.now,
            "外包装完好，吊牌齐全 sealed, tags on",
            ("https://wms.example.com/photos/1.jpg",),
        ),
    )
    notes.append(Hint(f"case show {number}", N_("R6.2 + R7 express refund + R6.3")))
    # 2. A small quality return, approved by the conditioned strategy.
    number = open_return("defect", real_now - timedelta(hours=20), buyer_ids[1])
    notes.append(Hint(f"case show {number}", N_("R6.1 small quality return approved")))
    # 3. Arrives at 23:30 shop time, outside the service hours.
    tz = ZoneInfo("Asia/Shanghai")
    late = (real_now - timedelta(days=1)).astimezone(tz).replace(hour=23, minute=30)
    number = open_return("not_as_described", late.astimezone(real_now.tzinfo), buyer_ids[2])
    notes.append(Hint(f"case show {number}", N_("R6.4 off-hours approval")))
    # 4. tiktok: a Southeast-Asia cross-border refund in the regional range (R8.2).
    tiktok = ctx.profiles.current["tiktok"].refund_without_return
    if tiktok is not None and tiktok.auto_approval and len(shop_ids) > 2:
        rule = tiktok.auto_approval[0]
        clock.now = real_now - timedelta(hours=5)
        order = new_order(
            shop_ids[2],
            buyer_ids[3],
            "shipped",
            clock.now,
            region=rule.region,
            unit_price=rule.max_amount // 2,
        )
        number = open_request(
            ctx, buyer_ids[3], order, CaseType.REFUND_ONLY, "not_received", rule.max_amount
        )
        notes.append(Hint(f"case show {number}", N_("R8.2 regional auto-refund")))
    return notes
