"""Marketplace facts the after-sales core reasons about: shops, buyers, products, orders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from aftersales.domain.money import Money
from aftersales.domain.policy import ProductFlag


@dataclass(slots=True)
class Shop:
    id: int
    code: str
    name: str
    timezone: str
    return_address: str  # R5.1: sent to the buyer when a return is approved
    profile_id: str


@dataclass(slots=True)
class Buyer:
    id: int
    name: str
    phone: str
    created_at: datetime


@dataclass(slots=True)
class Product:
    id: int
    shop_id: int
    sku: str
    title: str
    flags: frozenset[ProductFlag] = frozenset()
    # R4.3: a second-hand product may prominently declare a shorter no-reason window.
    declared_no_reason_days: int | None = None


class OrderStage(StrEnum):
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    SIGNED = "signed"


@dataclass(slots=True)
class OrderLine:
    id: int
    product: Product
    quantity: int
    unit_price: Money
    paid: Money  # what the buyer actually paid for the whole line, after discounts
    downloaded: bool = False  # R4.3: digital goods lose the no-reason right once downloaded

    def paid_for(self, quantity: int) -> Money:
        """Paid amount attributable to ``quantity`` units (floor share, last unit gets rest)."""
        if quantity >= self.quantity:
            return self.paid
        return Money(self.paid.amount * quantity // self.quantity, self.paid.currency)


@dataclass(slots=True)
class Order:
    id: int
    number: str
    shop_id: int
    buyer_id: int
    currency: str
    paid_at: datetime
    freight: Money
    lines: list[OrderLine] = field(default_factory=list)
    shipping_insurance: bool = False
    ship_by: datetime | None = None
    shipped_at: datetime | None = None
    signed_at: datetime | None = None
    region: str | None = None  # R8.2: the marketplace's region code

    @property
    def stage(self) -> OrderStage:
        if self.signed_at is not None:
            return OrderStage.SIGNED
        if self.shipped_at is not None:
            return OrderStage.SHIPPED
        return OrderStage.PAID

    def line(self, line_id: int) -> OrderLine | None:
        return next((ln for ln in self.lines if ln.id == line_id), None)

    @property
    def total_paid(self) -> Money:
        total = Money.zero(self.currency)
        for ln in self.lines:
            total = total + ln.paid
        return total + self.freight
