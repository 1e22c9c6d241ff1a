"""A demo marketplace, built through the real services (and the real deadline worker).

Three shops (two on ``douyin``, one on ``tiktok``), a product for every category flag,
buyers, orders in every stage, and cases in every reachable state of every request type.
Each case's story is replayed on a clock that ends just before now, so waiting cases keep
their deadlines in the future and the timeline reads like real handling.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shlex
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, cast

from aftersales.domain.accounts import AccountKind, Permission
from aftersales.domain.case_types import CaseType, DeadlineKind
from aftersales.domain.errors import Conflict
from aftersales.domain.i18n import N_
from aftersales.domain.machine import deadline_delay
from aftersales.domain.policy import (
    EvidenceKind,
    FreightPayer,
    Liability,
    ProductFlag,
    Profile,
)
from aftersales.i18n import translate
from aftersales.jobs.deadlines import DeadlineWorker
from aftersales.services import accounts, money, orders, shops
from aftersales.services import cases as svc
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.services.demo import DEMO_BUYER_REF as _DEMO_BUYER_REF
from aftersales.services.demo import (
    DEMO_PLATFORM_NAMES,
    DEMO_SHOP_PREFIX,
    DemoLogins,
    demo_logins,
    has_shops,
)

T = CaseType
DK = DeadlineKind
Step = tuple[str, Callable[..., object] | None, dict[str, object] | str, float | DeadlineKind]
# (who, service or None for "let the deadline fire", kwargs, hours to wait before the step —
# or, for a deadline, its kind: the wait is read from the shop's profile, just past due)


@dataclass
class _Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


class Hint(NamedTuple):
    """A command to try next (without the program's name) and what it shows."""

    command: str
    shows: str | None = None  # an N_() message id


@dataclass
class DemoSummary:
    shops: int = 0
    buyers: int = 0
    products: int = 0
    orders: int = 0
    cases: dict[str, dict[str, int]] = field(default_factory=dict)
    sample: str = ""
    automated: list[Hint] = field(default_factory=list)
    arbitration: list[Hint] = field(default_factory=list)
    # `--if-empty` on a database with shops: "demo" (a demo is there) or "other" (shops of
    # someone else: no demo loaded).
    skipped: str = ""

    def render(self, locale: str, program: str) -> str:
        """What the demo did, in ``locale``; every hint runs as printed, ``program`` being
        how this CLI is started from the current directory (e.g. ``.venv/bin/aftersales``)."""
        t = partial(translate, locale=locale)
        if self.skipped:
            return t(
                N_("Demo data already present: nothing loaded.")
                if self.skipped == "demo"
                else N_("The database already has shops: no demo data loaded.")
            )
        lines = [
            t(
                N_("demo: {shops} shops, {buyers} buyers, {products} products, {orders} orders"),
                shops=self.shops,
                buyers=self.buyers,
                products=self.products,
                orders=self.orders,
            )
        ]
        for ctype, states in sorted(self.cases.items()):
            lines.append(f"  {ctype}: " + ", ".join(f"{s}={n}" for s, n in sorted(states.items())))
        hints = [(N_("try"), Hint(f"case show {self.sample}"))] if self.sample else []
        hints += [(N_("automation"), h) for h in self.automated]
        hints += [(N_("arbitration"), h) for h in self.arbitration]
        for label, hint in hints:
            line = f"{t(label)}: {program} {hint.command}"
            lines.append(f"{line}  # {t(hint.shows)}" if hint.shows else line)
        return "\n".join(lines)


_tracking = itertools.count(1)


def _sf() -> dict[str, object]:
    return {"carrier": "SF", "tracking_number": f"SF{7_000_000_000_000 + next(_tracking)}"}


class Story(NamedTuple):
    """One case's story: its request, the stage its order is in, and the steps that follow."""

    type: CaseType
    reason: str
    stage: str  # of the order: paid, shipped or signed
    steps: list[Step]
    product: str = "plain"  # the product (a category flag) the order is for
    insured: bool = False  # the order carries shipping insurance


def _stories() -> list[Story]:
    """(type, reason, order stage, steps[, product]) — one story per target state."""
    m, b, c, p = "merchant", "buyer", "carrier", "platform"
    # A step's "evidence" names the kinds of proof the shop uploads before it refuses; the
    # runner uploads one file of each and refuses with their ids (R5.5).
    proof = {"evidence": [EvidenceKind.CARRIER_PROOF]}
    back: list[Step] = [
        (m, svc.approve_return, {}, 1),
        (b, svc.ship_return, "SF", 5),
        (c, svc.return_delivered, {}, 30),
    ]
    offer_back: list[Step] = [
        (
            m,
            svc.counter_offer,
            {"amount": 11_000, "return_required": True, "note": "send it back for inspection"},
            2,
        ),
        (b, svc.accept_offer, {}, 1),
    ]
    ship_back: list[Step] = [(b, svc.ship_return, "SF", 8), (c, svc.return_delivered, {}, 30)]
    stories: list[Story] = [
        # refund before shipment (R2.1)
        Story(T.REFUND_UNSHIPPED, "ordered_by_mistake", "paid", []),
        Story(
            T.REFUND_UNSHIPPED,
            "ordered_by_mistake",
            "paid",
            [(m, svc.counter_offer, {"amount": 5_000, "note": "keep the gift wrap fee"}, 2)],
        ),
        Story(T.REFUND_UNSHIPPED, "no_longer_needed", "paid", [(m, svc.approve_refund, {}, 0.2)]),
        Story(
            T.REFUND_UNSHIPPED,
            "changed_mind",
            "paid",
            [("deadline", None, {}, DK.MERCHANT_RESPONSE)],
        ),
        Story(
            T.REFUND_UNSHIPPED,
            "changed_mind",
            "paid",
            [
                (
                    m,
                    svc.reject,
                    {
                        "refusal_code": "already_shipped_intercept_failed",
                        "evidence": [EvidenceKind.CARRIER_PROOF],
                    },
                    3,
                )
            ],
        ),
        Story(T.REFUND_UNSHIPPED, "ordered_by_mistake", "paid", [(b, svc.cancel, {}, 0.5)]),
        # refund only, shipped (R2.2)
        Story(T.REFUND_ONLY, "not_received", "shipped", []),
        Story(
            T.REFUND_ONLY,
            "stuck_in_transit",
            "shipped",
            [(m, svc.counter_offer, {"amount": 6_000}, 4)],
        ),
        Story(
            T.REFUND_ONLY,
            "stuck_in_transit",
            "shipped",
            [(m, svc.counter_offer, {"amount": 8_000}, 4), (b, svc.accept_offer, {}, 2)],
        ),
        Story(
            T.REFUND_ONLY,
            "not_received",
            "shipped",
            [
                (m, svc.counter_offer, {"amount": 7_000}, 4),
                ("deadline", None, {}, DK.BUYER_OFFER_RESPONSE),
            ],
        ),
        Story(
            T.REFUND_ONLY,
            "defect",
            "signed",
            [
                (
                    m,
                    svc.reject,
                    {"refusal_code": "no_quality_issue", "evidence": [EvidenceKind.QC_RECORD]},
                    6,
                )
            ],
        ),
        # refund only, where the merchant asks for the goods back in a counter-offer (R5.2)
        Story(T.REFUND_ONLY, "defect", "signed", offer_back),
        Story(T.REFUND_ONLY, "defect", "signed", [*offer_back, (b, svc.ship_return, "SF", 8)]),
        Story(T.REFUND_ONLY, "defect", "signed", [*offer_back, *ship_back]),
        Story(
            T.REFUND_ONLY,
            "defect",
            "signed",
            [*offer_back, *ship_back, (m, svc.confirm_receipt, {}, 2)],
        ),
        # return and refund (R2.3, R5)
        Story(T.RETURN_REFUND, "changed_mind", "signed", []),
        Story(
            T.RETURN_REFUND,
            "size_colour_mismatch",
            "signed",
            [(m, svc.counter_offer, {"amount": 9_000, "return_required": True}, 3)],
        ),
        Story(T.RETURN_REFUND, "changed_mind", "signed", [(m, svc.approve_return, {}, 1)]),
        Story(
            T.RETURN_REFUND,
            "changed_mind",
            "signed",
            [(m, svc.approve_return, {}, 1), (b, svc.ship_return, "SF", 20)],
        ),
        Story(T.RETURN_REFUND, "defect", "signed", back),
        Story(T.RETURN_REFUND, "defect", "signed", [*back, (m, svc.confirm_receipt, {}, 3)]),
        Story(
            T.RETURN_REFUND,
            "not_as_described",
            "signed",
            [*back, (m, svc.confirm_receipt, {}, 3), (m, svc.refund, {}, 0.5)],
        ),
        Story(
            T.RETURN_REFUND,
            "changed_mind",
            "signed",
            [*back, ("deadline", None, {}, DK.MERCHANT_RECEIPT)],
        ),
        Story(
            T.RETURN_REFUND,
            "changed_mind",
            "signed",
            [*back, (m, svc.refuse_refund, {"refusal_code": "returned_goods_damaged", **proof}, 5)],
        ),
        Story(
            T.RETURN_REFUND,
            "changed_mind",
            "signed",
            [
                (
                    m,
                    svc.reject,
                    {"refusal_code": "outside_no_reason_scope", "evidence": [EvidenceKind.PHOTO]},
                    2,
                ),
                (b, svc.resubmit, {"reason": "defect", "description": "stitching came apart"}, 5),
            ],
        ),
        Story(
            T.RETURN_REFUND,
            "changed_mind",
            "signed",
            [(m, svc.approve_return, {}, 1), ("deadline", None, {}, DK.RETURN_SHIPMENT)],
        ),
        # express refund after shipment (R7): the platform advances, then recovers (R7.2)
        Story(
            T.RETURN_REFUND,
            "changed_mind",
            "signed",
            [
                (m, svc.approve_return, {}, 1),
                (b, svc.ship_return, "SF", 2),
                (p, money.advance, {}, 0.01),
                (c, svc.return_delivered, {}, 30),
                (m, svc.confirm_receipt, {}, 2),
                (m, svc.refund, {}, 0.5),
            ],
        ),
        Story(
            T.RETURN_REFUND,
            "changed_mind",
            "signed",
            [
                (m, svc.approve_return, {}, 1),
                (b, svc.ship_return, "SF", 2),
                (p, money.advance, {}, 0.01),
                (c, svc.return_delivered, {}, 30),
                (m, svc.refuse_refund, {"refusal_code": "returned_goods_damaged", **proof}, 5),
                (p, money.recover_advance, {}, 24),
            ],
        ),
        # return freight (R16.3): merchant-side reason, the shop pays it back with the refund
        Story(
            T.RETURN_REFUND,
            "defect",
            "signed",
            [
                (m, svc.approve_return, {}, 1),
                (b, svc.ship_return, "SF+freight", 5),
                (c, svc.return_delivered, {}, 30),
                (m, svc.confirm_receipt, {}, 2),
                (m, svc.refund, {}, 0.5),
            ],
        ),
        # no-reason return of an insured order: the shipping insurance pays the freight
        Story(
            T.RETURN_REFUND,
            "changed_mind",
            "signed",
            [
                (m, svc.approve_return, {}, 1),
                (b, svc.ship_return, "SF+freight", 5),
                (c, svc.return_delivered, {}, 30),
                (m, svc.refund, {}, 0.5),
            ],
            "plain",
            True,
        ),
        Story(T.EXCHANGE, "size_colour_mismatch", "signed", []),
        Story(T.EXCHANGE, "size_colour_mismatch", "signed", [(m, svc.approve_return, {}, 2)]),
        Story(T.EXCHANGE, "size_colour_mismatch", "signed", back[:2]),
        Story(T.EXCHANGE, "defect", "signed", [*back, (m, svc.confirm_receipt, {}, 2)]),
        Story(
            T.EXCHANGE,
            "defect",
            "signed",
            [*back, (m, svc.confirm_receipt, {}, 2), (m, svc.ship_replacement, "SF", 4)],
        ),
        Story(
            T.EXCHANGE,
            "defect",
            "signed",
            [
                *back,
                (m, svc.confirm_receipt, {}, 2),
                (m, svc.ship_replacement, "SF", 4),
                (b, svc.confirm_replacement, {}, 50),
            ],
        ),
        Story(
            T.EXCHANGE,
            "size_colour_mismatch",
            "signed",
            [*back, ("deadline", None, {}, DK.MERCHANT_RECEIPT)],
        ),
        Story(T.EXCHANGE, "size_colour_mismatch", "signed", back),
        Story(
            T.EXCHANGE,
            "size_colour_mismatch",
            "signed",
            [(m, svc.counter_offer, {"amount": 2_000, "note": "keep it, take 20 back"}, 3)],
        ),
        Story(
            T.EXCHANGE,
            "changed_mind",
            "signed",
            [
                (
                    m,
                    svc.reject,
                    {"refusal_code": "unsealed_hygiene_goods", "evidence": [EvidenceKind.PHOTO]},
                    4,
                )
            ],
            "seal_sensitive",
        ),
        Story(T.EXCHANGE, "size_colour_mismatch", "signed", [(b, svc.cancel, {}, 2)]),
        # reship (R2.5)
        Story(T.RESHIP, "missing_item", "signed", []),
        Story(T.RESHIP, "missing_item", "signed", [(m, svc.approve_reship, {}, 1)]),
        Story(
            T.RESHIP,
            "missing_item",
            "signed",
            [(m, svc.approve_reship, {}, 1), (m, svc.ship_replacement, "SF", 6)],
        ),
        Story(
            T.RESHIP,
            "missing_item",
            "signed",
            [
                (m, svc.approve_reship, {}, 1),
                (m, svc.ship_replacement, "SF", 6),
                ("deadline", None, {}, DK.REPLACEMENT_CONFIRM),
            ],
        ),
        Story(T.RESHIP, "wrong_item", "signed", [(b, svc.cancel, {}, 1)]),
        Story(
            T.RESHIP,
            "missing_item",
            "signed",
            [(m, svc.counter_offer, {"amount": 1_500, "note": "refund the missing strap"}, 2)],
        ),
        Story(
            T.RESHIP,
            "missing_item",
            "signed",
            [(m, svc.counter_offer, {"amount": 1_500}, 2), (b, svc.accept_offer, {}, 1)],
        ),
        Story(
            T.RESHIP,
            "missing_item",
            "signed",
            [
                (
                    m,
                    svc.reject,
                    {"refusal_code": "buyer_agreed_to_cancel", "evidence": [EvidenceKind.CHAT_LOG]},
                    5,
                )
            ],
        ),
        # R16.1: the order's parcel comes back to the merchant; the refund waits for it
        Story(T.REFUND_UNSHIPPED, "ordered_by_mistake", "paid", [(c, _parcel_back, {}, 2)]),
        Story(
            T.REFUND_ONLY,
            "not_received",
            "shipped",
            [(c, _parcel_back, {"status": "delivery_failed"}, 3)],
        ),
    ]
    return stories


def _parcel_back(ctx: Context, actor: Actor, number: str, status: str = "refused") -> None:
    """R16.1: the order system records the parcel (dispatched an hour ago, e.g. after a
    refund request before shipment), then the carrier reports it refused or undeliverable."""
    from aftersales.domain.logistics import ParcelStatus
    from aftersales.services import logistics

    order_number = svc.get_case(ctx, Actor.platform("demo"), number).order_number
    tracking = _sf()
    now = ctx.now()
    orders.record_fulfilment(
        ctx,
        Actor.system("order-system"),
        order_number,
        shipped_at=now - timedelta(hours=1),
        carrier=str(tracking["carrier"]),
        tracking_number=str(tracking["tracking_number"]),
    )
    logistics.record_event(
        ctx,
        actor,
        carrier=str(tracking["carrier"]),
        tracking_number=str(tracking["tracking_number"]),
        status=ParcelStatus(status),
        occurred_at=now,
    )


def load_demo(ctx: Context, *, if_empty: bool = False) -> DemoSummary:
    summary = DemoSummary()
    if if_empty and has_shops(ctx):
        summary.skipped = "demo" if demo_logins(ctx).shops else "other"
        return summary
    real_now = ctx.now()
    clock = _Clock(real_now - timedelta(days=30))
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
        code = _codes(stamp, shop_specs)[i - 1]
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

    for k, story in enumerate(_stories()):
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
        amount = 0 if ctype in (T.EXCHANGE, T.RESHIP) else 12_000
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
                args = _sf() if kwargs == "SF" else {**_sf(), "freight": 1_200}
            else:
                args = dict(kwargs)
            refusing = fn is svc.reject or fn is svc.refuse_refund
            if "evidence" in args and refusing:
                kinds = cast(list[EvidenceKind], args.pop("evidence"))
                args["evidence_ids"] = _proof_ids(dctx, actor, case.number, kinds)
            fn(dctx, actor, case.number, **args)
        view = svc.get_case(dctx, Actor.platform("demo"), case.number)
        per_type = summary.cases.setdefault(ctype.value, {})
        per_type[view.case.state.value] = per_type.get(view.case.state.value, 0) + 1
        if ctype is T.RETURN_REFUND and view.case.state.value == "refunded" and not summary.sample:
            summary.sample = case.number
    summary.automated = _automation_demo(
        dctx,
        clock,
        real_now,
        _codes(stamp, shop_specs),
        shop_ids,
        buyer_ids,
        new_order,
    )
    summary.arbitration = _arbitration_demo(
        dctx, clock, real_now, shop_ids, buyer_ids, new_order, worker, summary
    )
    # R14.1: a counterfeit finding on one order: a 1x fine from the deposit and a freeze.
    clock.now = real_now - timedelta(hours=1)
    fined = new_order(shop_ids[1], buyer_ids[2], "signed", clock.now)
    money.fine(
        dctx, platform, fined, 1, "假冒商品 counterfeit goods (demo)", f"demo:{stamp}:fine:{fined}"
    )
    _demo_accounts(dctx, _codes(stamp, shop_specs), stamp, len(buyer_ids))
    return summary


def _codes(stamp: str, specs: list[tuple[str, str, str, str]]) -> list[str]:
    return [f"{DEMO_SHOP_PREFIX}{i}-{stamp}" for i in range(1, len(specs) + 1)]


def _automation_demo(
    ctx: Context,
    clock: _Clock,
    real_now: datetime,
    codes: list[str],
    shop_ids: list[tuple[int, str]],
    buyer_ids: list[int],
    new_order: Callable[..., str],
) -> list[Hint]:
    """Shop 1 runs every strategy kind (R6) and express refund (R7); shop 3 (tiktok) gets
    a regional request refunded with no merchant action (R8.2). Returns what to look at."""
    from zoneinfo import ZoneInfo

    from aftersales.domain.automation import Conditions, StrategyKind, parse_service_hours
    from aftersales.services import automation, express_refund, warehouse

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
        case = _open(ctx, buyer, order, CaseType.RETURN_REFUND, reason, 12_000)
        return case

    # 1. Seven-day return: approved by the strategy, express refund at the tracking number,
    #    refunded by the warehouse strategy when the inspection passes (advance recovered).
    number = open_return("changed_mind", real_now - timedelta(hours=30), buyer_ids[0])
    clock.now += timedelta(hours=3)
    svc.ship_return(ctx, Actor.buyer(buyer_ids[0]), number, **_sf())  # type: ignore[arg-type]
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
        number = _open(
            ctx, buyer_ids[3], order, CaseType.REFUND_ONLY, "not_received", rule.max_amount
        )
        notes.append(Hint(f"case show {number}", N_("R8.2 regional auto-refund")))
    return notes


def _png() -> bytes:
    """A 1x1 PNG for the demo's evidence photos (built here: no image library needed)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x80\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _proof_ids(ctx: Context, actor: Actor, number: str, kinds: list[EvidenceKind]) -> list[int]:
    """The shop uploads one picture of each kind to the case; their ids, for a refusal."""
    import io

    from aftersales.services import evidence

    return [
        evidence.upload_evidence(
            ctx,
            actor,
            number,
            kind=kind.value,
            filename=f"{kind.value}.png",
            content_type="image/png",
            content=io.BytesIO(_png()),
            description="商家举证 the shop's proof",
        ).id
        for kind in kinds
    ]


def _arbitration_demo(
    ctx: Context,
    clock: _Clock,
    real_now: datetime,
    shop_ids: list[tuple[int, str]],
    buyer_ids: list[int],
    new_order: Callable[..., str],
    worker: DeadlineWorker,
    summary: DemoSummary,
) -> list[Hint]:
    """R9-R12: disputes in every stage of arbitration. Returns what to look at: one
    intervention waits in the agent queue with both sides' evidence, ready to be ruled."""
    import io

    from aftersales.domain.policy import Remedy
    from aftersales.services import evidence, interventions

    agent = Actor.platform("平台小二 agent-7")
    other_agent = Actor.platform("平台小二 agent-9")
    profile = ctx.profiles.current["douyin"]
    rules = profile.intervention
    assert rules is not None
    notes: list[Hint] = []

    def upload(actor: Actor, number: str, kind: str, text: str) -> None:
        evidence.upload_evidence(
            ctx,
            actor,
            number,
            kind=kind,
            filename=f"{kind}.png",
            content_type="image/png",
            content=io.BytesIO(_png()),
            description=text,
        )

    def disputed(
        shop: tuple[int, str],
        buyer: int,
        start: datetime,
        ctype: CaseType = CaseType.RETURN_REFUND,
        reason: str = "defect",
    ) -> str:
        """A request the merchant rejects, taken to the platform by the buyer with a photo;
        the merchant answers with its own evidence."""
        clock.now = start
        unshipped = ctype is CaseType.REFUND_UNSHIPPED
        order = new_order(shop, buyer, "paid" if unshipped else "signed", start)
        amount = 0 if ctype in (CaseType.EXCHANGE, CaseType.RESHIP) else 12_000
        number = _open(ctx, buyer, order, ctype, reason, amount)
        merchant = Actor.merchant(shop[0], "客服小美")
        clock.now += timedelta(hours=2)
        quality = reason == "defect"
        proof = [EvidenceKind.QC_RECORD if quality else EvidenceKind.CHAT_LOG]
        svc.reject(
            ctx,
            merchant,
            number,
            refusal_code="no_quality_issue" if quality else "buyer_agreed_to_cancel",
            note="质检合格 passed our QC" if quality else "买家已同意撤销 buyer agreed",
            evidence_ids=_proof_ids(ctx, merchant, number, proof),
        )
        clock.now += timedelta(hours=1)
        upload(Actor.buyer(buyer), number, "photo", "问题照片 the problem")
        interventions.escalate(
            ctx, Actor.buyer(buyer), number, statement="商家拒绝，请平台处理 refused, please decide"
        )
        clock.now += timedelta(hours=3)
        upload(merchant, number, "qc_record", "出库质检记录 QC record at dispatch")
        interventions.respond(
            ctx, merchant, number, response="出库前已质检 inspected before dispatch"
        )
        return number

    def ruling(liability: Liability, remedy: Remedy) -> interventions.RulingInput:
        buyer_wins = remedy is not Remedy.REJECT
        return interventions.RulingInput(
            reasons="买家证据成立 the buyer's evidence holds"
            if buyer_wins
            else "照片与商品不符 the photo shows another item",
            accept=False,
            liability=liability,
            remedy=remedy,
            freight_payer=FreightPayer.MERCHANT if buyer_wins else FreightPayer.NONE,
            return_risk=liability if buyer_wins else Liability.NONE,
            override_reason="演示裁决 demo ruling",
        )

    def count(number: str) -> None:
        view = svc.get_case(ctx, agent, number)
        per_type = summary.cases.setdefault(view.case.type.value, {})
        per_type[view.case.state.value] = per_type.get(view.case.state.value, 0) + 1

    span = timedelta(hours=rules.evidence_hours + 6)
    douyin_shop, tiktok_shop = shop_ids[1], shop_ids[-1]
    reasons = {
        CaseType.REFUND_UNSHIPPED: "ordered_by_mistake",
        CaseType.REFUND_ONLY: "defect",
        CaseType.RETURN_REFUND: "defect",
        CaseType.EXCHANGE: "defect",
        CaseType.RESHIP: "missing_item",
    }
    # 1. Waiting for an agent: both sides' evidence in, the evidence deadline passed.
    waiting = disputed(douyin_shop, buyer_ids[4], real_now - span)
    count(waiting)
    notes.append(Hint("queue"))
    notes.append(Hint(f"intervention show {waiting}", N_("R9.3 evidence, R10 recommendation")))
    notes.append(
        Hint(
            f"intervention rule {waiting} --accept --reasons 'evidence reviewed'",
            N_("R10.5 rule as recommended"),
        )
    )
    # Every request type in intervention, awaiting execution and (tiktok) ruled.
    for k, (ctype, reason_code) in enumerate(reasons.items()):
        buyer = buyer_ids[k % len(buyer_ids)]
        start = real_now - span - timedelta(minutes=10 * (k + 1))
        count(disputed(douyin_shop, buyer, start, ctype, reason_code))
        executing = disputed(douyin_shop, buyer, start, ctype, reason_code)
        clock.now = start + span
        interventions.rule(ctx, agent, executing, ruling(Liability.MERCHANT, Remedy.FULL_REFUND))
        count(executing)
        if tiktok_shop[0] != douyin_shop[0]:
            lost = disputed(tiktok_shop, buyer, start, ctype, reason_code)
            clock.now = start + span
            interventions.rule(ctx, other_agent, lost, ruling(Liability.BUYER, Remedy.REJECT))
            count(lost)
    notes.append(Hint("case list --state ruled", N_("R12.2 tiktok buyers may appeal")))
    # 2. Ruled for the buyer; the merchant did not execute: pay-first (R11.2).
    exec_hours = timedelta(hours=rules.execution_hours)
    paid_first = disputed(douyin_shop, buyer_ids[5], real_now - span - exec_hours - span)
    clock.now += span
    interventions.rule(ctx, agent, paid_first, ruling(Liability.MERCHANT, Remedy.FULL_REFUND))
    clock.now += exec_hours + timedelta(minutes=5)
    worker.run_until_idle()
    notes.append(Hint(f"case show {paid_first}", N_("R11.2 pay-first after the ruling")))
    # 3. The merchant appealed that ruling (R12.1): waiting for another agent.
    clock.now += timedelta(hours=1)
    merchant = Actor.merchant(douyin_shop[0], "店长 owner")
    upload(merchant, paid_first, "document", "面料检测报告 fabric test report")
    newest = evidence.list_evidence(ctx, merchant, paid_first)[-1].id
    interventions.appeal(
        ctx,
        merchant,
        paid_first,
        grounds="new_evidence",
        statement="检测报告证明面料合格 the test report shows the fabric is sound",
        evidence=[newest],
    )
    count(paid_first)
    notes.append(Hint(f"intervention show {paid_first}", N_("R12.1 appeal pending")))
    return notes


def _open(ctx: Context, buyer: int, order: str, ctype: CaseType, reason: str, amount: int) -> str:
    loaded = orders.get_order(ctx, Actor.buyer(buyer), order).order
    case = svc.open_case(
        ctx,
        Actor.buyer(buyer),
        order_number=order,
        type=ctype,
        lines=[svc.LineRequest(loaded.lines[0].id, loaded.lines[0].quantity)],
        reason=reason,
        amount=amount,
        description="演示自动化 automation demo",
        evidence=[EvidenceKind.PHOTO],
    )
    return case.number


DEMO_PASSWORD = "demo-password"


def _demo_accounts(ctx: Context, shop_codes: list[str], stamp: str, buyers: int) -> None:
    """Logins for the demo (R1): an admin, an agent, each shop's main account and an
    after-sales sub-account, and each buyer. A login taken by an earlier demo is kept."""
    specs: list[dict[str, Any]] = [
        {"kind": kind, "login": kind.value, "display_name": name}
        for kind, name in DEMO_PLATFORM_NAMES.items()
    ]
    for i, code in enumerate(shop_codes, 1):
        specs.append(
            {"kind": AccountKind.MERCHANT, "login": f"shop{i}", "shop_code": code, "main": True}
        )
        specs.append(
            {
                "kind": AccountKind.MERCHANT,
                "login": f"shop{i}-cs",
                "shop_code": code,
                "permissions": [Permission.HANDLE_AFTERSALES.value],
            }
        )
    for k in range(1, buyers + 1):
        specs.append(
            {
                "kind": AccountKind.BUYER,
                "login": f"buyer{k}",
                "buyer_ref": f"{_DEMO_BUYER_REF}{stamp}-buyer{k}",
            }
        )
    for spec in specs:
        with contextlib.suppress(Conflict):
            accounts.create_account(ctx, None, password=DEMO_PASSWORD, **spec)


def runnable_program() -> str:
    """How to start this CLI again from the current directory: `aftersales` when that is
    what PATH finds, else the script beside this Python (`.venv/bin/aftersales` from the
    checkout root after `make run`), else `python -m aftersales.cli`."""
    script = Path(sys.executable).parent / "aftersales"
    if not script.is_file():
        return f"{shlex.quote(sys.executable)} -m aftersales.cli"
    on_path = shutil.which("aftersales")
    if on_path and Path(on_path).resolve() == script.resolve():
        return "aftersales"
    shown = os.path.relpath(script)
    if shown.startswith(".."):
        shown = str(script)
    return shlex.quote(shown if "/" in shown else f"./{shown}")


def render_logins(found: DemoLogins, locale: str, program: str) -> str:
    """The demo's shop codes beside their logins, for the terminal (``program``: how this CLI
    is started from the current directory)."""
    t = partial(translate, locale=locale)
    if not found.shops:
        return t(N_("No demo data: load it with {command}"), command=f"{program} demo")
    main, shop_label = t(N_("main account")), t(N_("shop"))
    lines = [t(N_("Demo logins (password {password}):"), password=DEMO_PASSWORD)]
    platform, buyers = t(N_("platform")), t(N_("buyers"))
    if found.platform:
        lines.append(f"  {platform}: {', '.join(found.platform)}")
    unused = []
    for shop in found.shops:
        if not shop.logins:
            unused.append(shop.code)
            continue
        who = ", ".join(
            f"{a.login} ({main if a.main else ', '.join(a.permissions)})" for a in shop.logins
        )
        lines.append(f"  {shop_label} {shop.code} {shop.name} ({shop.profile}): {who}")
    if found.buyers:
        lines.append(f"  {buyers}: {', '.join(found.buyers)}")
    if unused:  # a demo loaded again: its logins were taken by the first one
        label = t(N_("demo shops without logins"))
        lines.append(f"  {label}: {', '.join(unused)}")
    first = next((s.code for s in found.shops if s.logins), found.shops[0].code)
    try_label, shows = t(N_("try")), t(N_("requests of this shop"))
    lines.append(f"{try_label}: {program} case list --shop {first}  # {shows}")
    return "\n".join(lines)
