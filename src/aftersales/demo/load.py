"""Loading the demo: shops, products, buyers and orders pushed as the marketplace's order
system pushes them, then every story replayed on a clock that ends just before now."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import cast

from aftersales.demo.arbitration import arbitration_demo
from aftersales.demo.automation import automation_demo
from aftersales.demo.common import Clock, DemoSummary, proof_ids, sf_tracking, shop_codes_of
from aftersales.demo.logins import demo_accounts
from aftersales.demo.stories import stories
from aftersales.domain.case_types import CaseType, DeadlineKind
from aftersales.domain.machine import deadline_delay
from aftersales.domain.policy import (
    EvidenceKind,
    ProductFlag,
    Profile,
)
from aftersales.jobs.deadlines import DeadlineWorker
from aftersales.services import cases as svc
from aftersales.services import money, orders, shops
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.services.demo import DEMO_BUYER_REF as _DEMO_BUYER_REF
from aftersales.services.demo import (
    demo_logins,
    has_shops,
)


def load_demo(ctx: Context, *, if_empty: bool = False) -> DemoSummary:
    summary = DemoSummary()
    if if_empty and has_shops(ctx):
        summary.skipped = "demo" if demo_logins(ctx).shops else "other"
        return summary
    real_now = ctx.now()
    clock = Clock(real_now - timedelta(days=30))
    dctx = Context(ctx.db, ctx.profiles, ctx.settings, clock)
    stamp = real_now.strftime("%m%d%H%M%S")
    shop_specs = [
        ("douyin", "Asia/Shanghai", "CNY", "潮流服饰旗舰店 Trend Apparel"),
        ("douyin", "Asia/Shanghai", "CNY", "鲜享生活馆 Fresh Living"),
        ("tiktok", "Asia/Singapore", "USD", "Gadget Hub SG"),
    ]
    platform = Actor.platform("平台小二 agent-7")
    # The marketplace's order system (R1): the same authorized services an integration calls
    # over the API, as the system itself, so demo orders are pushed orders (events and all).
    order_system = Actor.system("demo-order-system")
    shop_ids: list[tuple[int, str]] = []
    shop_codes: dict[int, str] = {}
    products: dict[str, orders.ProductIn] = {
        "plain": orders.ProductIn("TEE-01", "纯棉T恤 Cotton tee"),
        **{
            flag.value: orders.ProductIn(
                f"{flag.value.upper()}-01",
                f"{flag.value.replace('_', ' ')} item",
                (flag,),
                3 if flag is ProductFlag.SECOND_HAND else None,
            )
            for flag in ProductFlag
        },
    }
    for i, (profile, tz, cur, name) in enumerate(shop_specs, 1):
        code = shop_codes_of(stamp, shop_specs)[i - 1]
        sid = shops.create_shop(
            dctx,
            order_system,
            code=code,
            name=name,
            timezone=tz,
            profile_id=profile,
            return_address=f"退货仓 {i} 号, 杭州市余杭区 Returns Dock {i}",
        ).id
        shop_ids.append((sid, cur))
        shop_codes[sid] = code
        # Each shop keeps a deposit 保证金 (R14.1 deductions come from it).
        money.top_up_deposit(dctx, platform, sid, 200_000, cur, f"demo:{stamp}:deposit:{sid}")
        for spec in products.values():
            orders.record_product(dctx, order_system, code, spec)
        summary.shops += 1
        summary.products += len(products)
    buyer_names = [
        ("张伟", "13800000001"),
        ("李娜", "13800000002"),
        ("王芳", "13800000003"),
        ("Tan Wei Ming", "6591234567"),
        ("刘洋", "13800000005"),
        ("陈静", "13800000006"),
    ]
    buyers: dict[int, orders.BuyerIn] = {}
    for k, (n, p) in enumerate(buyer_names):
        buyer_in = orders.BuyerIn(
            f"{_DEMO_BUYER_REF}{stamp}-buyer{k + 1}",
            n,
            p,
            registered_at=real_now - timedelta(days=300 + 10 * k),
        )
        buyers[orders.record_buyer(dctx, order_system, buyer_in)] = buyer_in
    buyer_ids = list(buyers)
    summary.buyers = len(buyer_ids)
    order_seq = itertools.count(1)
    worker = DeadlineWorker(dctx, "deadline-worker")

    def new_order(
        shop: tuple[int, str],
        buyer: int,
        stage: str,
        start: datetime,
        product: str = "plain",
        insured: bool = False,
        region: str | None = None,
        unit_price: int = 6_000,
    ) -> str:
        number = f"DO{stamp}{next(order_seq):04d}"
        paid = start - timedelta(days=3)
        item = products[product]
        orders.push_order(
            dctx,
            order_system,
            number=number,
            shop_code=shop_codes[shop[0]],
            buyer=buyers[buyer],
            currency=shop[1],
            freight=1_000,
            paid_at=paid,
            ship_by=paid + timedelta(days=2),
            shipped_at=paid + timedelta(days=1) if stage != "paid" else None,
            signed_at=paid + timedelta(days=2, hours=3) if stage == "signed" else None,
            shipping_insurance=insured,
            region=region,
            lines=[
                orders.LineIn(
                    item.sku,
                    item.title,
                    2,
                    unit_price,
                    2 * unit_price,
                    item.flags,
                    item.declared_no_reason_days,
                )
            ],
        )
        summary.orders += 1
        return number

    # Orders with no case at all, in every stage (and items of every category flag).
    for k, item in enumerate(["plain", *[f.value for f in ProductFlag]]):
        clock.now = real_now - timedelta(days=2, hours=k)
        new_order(
            shop_ids[k % 2],
            buyer_ids[k % len(buyer_ids)],
            ("paid", "shipped", "signed")[k % 3],
            clock.now,
            item,
        )

    for k, story in enumerate(stories()):
        ctype, reason, stage, steps, product, insured = story
        shop = shop_ids[k % len(shop_ids)]
        buyer = buyer_ids[k % len(buyer_ids)]
        shop_profile = dctx.profiles.current[shop_specs[k % len(shop_specs)][0]]

        def hours(wait: float | DeadlineKind, profile: Profile = shop_profile) -> float:
            if isinstance(wait, DeadlineKind):  # just past the deadline the profile sets
                return deadline_delay(wait, profile).total_seconds() / 3600 + 0.1
            return wait

        duration = sum(hours(s[3]) for s in steps) + 0.5
        clock.now = real_now - timedelta(hours=duration, minutes=10 + k)
        order = new_order(shop, buyer, stage, clock.now, product, insured)
        buyer_actor = Actor.buyer(buyer)
        merchant = Actor.merchant(shop[0], "客服小美")
        amount = 0 if ctype in (CaseType.EXCHANGE, CaseType.RESHIP) else 12_000
        line_id = orders.get_order(dctx, buyer_actor, order).order.lines[0].id
        case = svc.open_case(
            dctx,
            buyer_actor,
            order_number=order,
            type=ctype,
            lines=[svc.LineRequest(line_id, 2)],
            reason=reason,
            amount=amount,
            description="演示售后申请 demo request",
            evidence=[EvidenceKind.PHOTO],
        )
        for who, fn, kwargs, wait in steps:
            clock.now = clock.now + timedelta(hours=hours(wait))
            if fn is None:
                worker.run_until_idle()
                continue
            actor = {
                "merchant": merchant,
                "buyer": buyer_actor,
                "carrier": Actor.carrier("SF"),
                "platform": platform,
            }[who]
            if isinstance(kwargs, str):  # "SF" or "SF+freight": a fresh tracking number
                args = sf_tracking() if kwargs == "SF" else {**sf_tracking(), "freight": 1_200}
            else:
                args = dict(kwargs)
            refusing = fn is svc.reject or fn is svc.refuse_refund
            if "evidence" in args and refusing:
                kinds = cast(list[EvidenceKind], args.pop("evidence"))
                args["evidence_ids"] = proof_ids(dctx, actor, case.number, kinds)
            fn(dctx, actor, case.number, **args)
        view = svc.get_case(dctx, Actor.platform("demo"), case.number)
        per_type = summary.cases.setdefault(ctype.value, {})
        per_type[view.case.state.value] = per_type.get(view.case.state.value, 0) + 1
        if (
            ctype is CaseType.RETURN_REFUND
            and view.case.state.value == "refunded"
            and not summary.sample
        ):
            summary.sample = case.number
    summary.automated = automation_demo(
        dctx,
        clock,
        real_now,
        shop_codes_of(stamp, shop_specs),
        shop_ids,
        buyer_ids,
        new_order,
    )
    summary.arbitration = arbitration_demo(
        dctx, clock, real_now, shop_ids, buyer_ids, new_order, worker, summary
    )
    # R14.1: a counterfeit finding on one order: a 1x fine from the deposit and a freeze.
    clock.now = real_now - timedelta(hours=1)
    fined = new_order(shop_ids[1], buyer_ids[2], "signed", clock.now)
    money.fine(
        dctx, platform, fined, 1, "假冒商品 counterfeit goods (demo)", f"demo:{stamp}:fine:{fined}"
    )
    demo_accounts(dctx, shop_codes_of(stamp, shop_specs), stamp, len(buyer_ids))
    return summary
