"""Test data builders that go through the real services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aftersales.domain.case_types import CaseType
from aftersales.domain.policy import ProductFlag
from aftersales.services import cases as svc
from aftersales.services import orders, shops
from aftersales.services.actors import Actor
from aftersales.services.context import Context

_seq = itertools.count(1)


SYSTEM = Actor.system("test-order-system")  # the order system, where no person acts
RETURN_ADDRESS = "1 Return Rd, Hangzhou"  # the address make_world's shop sends (R5.1)


@dataclass
class World:
    """One shop with a product per category flag, one buyer, and helpers to make orders.
    Everything is written through the authorized services the order system's API calls
    (``shops.create_shop``, ``orders.push_order`` …), as the system: a factory order is a
    pushed order, with its ``order.recorded`` event."""

    ctx: Context
    shop_id: int
    buyer_id: int
    products: dict[str, int] = field(default_factory=dict)
    other_buyer_id: int = 0
    other_shop_id: int = 0
    shop_code: str = ""
    other_shop_code: str = ""
    buyers: dict[int, orders.BuyerIn] = field(default_factory=dict)  # by buyer id
    product_specs: dict[str, orders.ProductIn] = field(default_factory=dict)

    @property
    def buyer(self) -> Actor:
        return Actor.buyer(self.buyer_id)

    @property
    def merchant(self) -> Actor:
        return Actor.merchant(self.shop_id)

    def add_buyer(self, name: str = "Wang Fang") -> int:
        """A further marketplace buyer (with a ref: buyer accounts need one) the world's
        orders may name."""
        buyer_id, buyer = make_buyer(self.ctx, name=name)
        self.buyers[buyer_id] = buyer
        return buyer_id

    def push(
        self,
        *,
        number: str | None = None,
        product: str = "plain",
        quantity: int = 1,
        unit_price: int = 10_000,
        paid: int | None = None,
        freight: int = 0,
        currency: str = "CNY",
        paid_at: datetime | None = None,
        ship_by: datetime | None = None,
        shipped_at: datetime | None = None,
        signed_at: datetime | None = None,
        shipping_insurance: bool = False,
        region: str | None = None,
        buyer_id: int | None = None,
    ) -> orders.OrderView:
        """An order of ``quantity`` x ``product`` pushed by the order system, paid five
        days ago unless told otherwise."""
        spec = self.product_specs[product]
        return orders.push_order(
            self.ctx,
            SYSTEM,
            number=number or f"O{next(_seq):08d}",
            shop_code=self.shop_code,
            buyer=self.buyers[buyer_id or self.buyer_id],
            currency=currency,
            freight=freight,
            paid_at=paid_at or self.ctx.now() - timedelta(days=5),
            ship_by=ship_by,
            shipped_at=shipped_at,
            signed_at=signed_at,
            shipping_insurance=shipping_insurance,
            region=region,
            lines=[
                orders.LineIn(
                    spec.sku,
                    spec.title,
                    quantity,
                    unit_price,
                    unit_price * quantity if paid is None else paid,
                    spec.flags,
                )
            ],
        )

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
        """Signed for ``signed_ago`` (unless None or not ``shipped``), shipped three days
        ago and paid five (or, for a parcel signed for longer ago, two days before each):
        the dates in the order a real order system reports them."""
        now = self.ctx.now()
        two_days = timedelta(days=2)
        signed_at = now - signed_ago if (shipped and signed_ago is not None) else None
        shipped_at = min(now - timedelta(days=3), (signed_at or now) - two_days)
        view = self.push(
            product=product,
            quantity=quantity,
            unit_price=unit_price,
            freight=freight,
            paid_at=min(now - timedelta(days=5), shipped_at - two_days),
            shipped_at=shipped_at if shipped else None,
            signed_at=signed_at,
            buyer_id=buyer_id,
        )
        return view.order.number

    def line_id(self, order_number: str) -> int:
        from aftersales.store import catalog as catalog_store

        with self.ctx.db.read() as conn:
            oid = catalog_store.order_id_by_number(conn, order_number)
            assert oid is not None
            order = catalog_store.load_order(conn, oid)
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


def make_buyer(
    ctx: Context,
    *,
    name: str = "Li Lei",
    phone: str | None = None,
    registered_at: datetime | None = None,
) -> tuple[int, orders.BuyerIn]:
    """A marketplace buyer announced by the order system (no order yet)."""
    n = next(_seq)
    buyer = orders.BuyerIn(f"buyer-{n}", name, phone or f"137{n:08d}", registered_at)
    return orders.record_buyer(ctx, SYSTEM, buyer), buyer


def make_shop(ctx: Context, code: str, name: str, *, return_address: str, profile_id: str) -> int:
    return shops.create_shop(
        ctx,
        SYSTEM,
        code=code,
        name=name,
        return_address=return_address,
        profile_id=profile_id,
    ).id


def make_world(ctx: Context, *, profile_id: str = "douyin") -> World:
    n = next(_seq)
    code, other_code = f"S{n}", f"S{n}b"
    shop = make_shop(ctx, code, f"Shop {n}", return_address=RETURN_ADDRESS, profile_id=profile_id)
    other_shop = make_shop(
        ctx, other_code, f"Other shop {n}", return_address="2 Return Rd", profile_id=profile_id
    )
    buyer, buyer_in = make_buyer(
        ctx, phone=f"138{n:08d}", registered_at=ctx.now() - timedelta(days=400)
    )
    other, other_in = make_buyer(ctx, name="Han Meimei", phone=f"139{n:08d}")
    world = World(
        ctx,
        shop,
        buyer,
        other_buyer_id=other,
        other_shop_id=other_shop,
        shop_code=code,
        other_shop_code=other_code,
        buyers={buyer: buyer_in, other: other_in},
    )
    specs = {"plain": orders.ProductIn("PLAIN", "T-shirt")}
    for flag in ProductFlag:
        specs[flag.value] = orders.ProductIn(flag.value.upper(), f"{flag.value} item", (flag,))
    for key, spec in specs.items():
        world.products[key] = orders.record_product(ctx, SYSTEM, code, spec)
    world.product_specs = specs
    return world


def now_minus(ctx: Context, **kw: float) -> datetime:
    return ctx.now() - timedelta(**kw)
