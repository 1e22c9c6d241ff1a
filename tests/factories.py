"""Test data builders that go through the real services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aftersales.domain.case_types import CaseType
from aftersales.domain.policy import ProductFlag
from aftersales.services import cases as svc
from aftersales.services import catalog
from aftersales.services.actors import Actor
from aftersales.services.context import Context

_seq = itertools.count(1)


@dataclass
class World:
    """One shop with a product per category flag, one buyer, and helpers to make orders."""

    ctx: Context
    shop_id: int
    buyer_id: int
    products: dict[str, int] = field(default_factory=dict)
    other_buyer_id: int = 0
    other_shop_id: int = 0

    @property
    def buyer(self) -> Actor:
        return Actor.buyer(self.buyer_id)

    @property
    def merchant(self) -> Actor:
        return Actor.merchant(self.shop_id)

    def order(
        self,
        *,
        product: str = "plain",
        quantity: int = 1,
        unit_price: int = 10_000,
        freight: int = 800,
        shipped: bool = True,
        signed_ago: timedelta | None = timedelta(days=1),
        buyer_id: int | None = None,
    ) -> str:
        now = self.ctx.now()
        number = f"O{next(_seq):08d}"
        signed_at = now - signed_ago if (shipped and signed_ago is not None) else None
        catalog.create_order(
            self.ctx,
            number=number,
            shop_id=self.shop_id,
            buyer_id=buyer_id or self.buyer_id,
            currency="CNY",
            freight=freight,
            paid_at=now - timedelta(days=5),
            shipped_at=(now - timedelta(days=3)) if shipped else None,
            signed_at=signed_at,
            lines=[
                catalog.NewOrderLine(
                    self.products[product], quantity, unit_price, unit_price * quantity
                )
            ],
        )
        return number

    def line_id(self, order_number: str) -> int:
        from aftersales.store import repo

        with self.ctx.db.read() as conn:
            oid = repo.order_id_by_number(conn, order_number)
            assert oid is not None
            order = repo.load_order(conn, oid)
            assert order is not None
            return order.lines[0].id

    def open(
        self,
        *,
        type: CaseType = CaseType.RETURN_REFUND,
        reason: str = "changed_mind",
        amount: int | None = None,
        order: str | None = None,
        quantity: int = 1,
        **order_kw: object,
    ) -> str:
        number = order or self.order(**order_kw)  # type: ignore[arg-type]
        if amount is None:
            amount = 0 if type in (CaseType.EXCHANGE, CaseType.RESHIP) else 10_000 * quantity
        case = svc.open_case(
            self.ctx,
            self.buyer,
            order_number=number,
            type=type,
            lines=[svc.LineRequest(self.line_id(number), quantity)],
            reason=reason,
            amount=amount,
            description="test request",
        )
        return case.number


def make_world(ctx: Context, *, profile_id: str = "douyin") -> World:
    n = next(_seq)
    shop = catalog.create_shop(
        ctx,
        code=f"S{n}",
        name=f"Shop {n}",
        return_address="1 Return Rd, Hangzhou",
        profile_id=profile_id,
    )
    other_shop = catalog.create_shop(
        ctx,
        code=f"S{n}b",
        name=f"Other shop {n}",
        return_address="2 Return Rd",
        profile_id=profile_id,
    )
    buyer = catalog.create_buyer(
        ctx, name="Li Lei", phone=f"138{n:08d}", created_at=ctx.now() - timedelta(days=400)
    )
    other = catalog.create_buyer(ctx, name="Han Meimei", phone=f"139{n:08d}")
    world = World(ctx, shop, buyer, other_buyer_id=other, other_shop_id=other_shop)
    world.products["plain"] = catalog.create_product(
        ctx, shop_id=shop, sku="PLAIN", title="T-shirt"
    )
    for flag in ProductFlag:
        world.products[flag.value] = catalog.create_product(
            ctx, shop_id=shop, sku=flag.value.upper(), title=f"{flag.value} item", flags=[flag]
        )
    return world


def now_minus(ctx: Context, **kw: float) -> datetime:
    return ctx.now() - timedelta(**kw)
