"""Orders pushed by the marketplace's order system."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path, Request, Response
from pydantic import BaseModel, Field

from aftersales.api.common import Bool, Int, Moment, Text
from aftersales.api.common import router as make_router
from aftersales.api.deps import Auth, IdempotencyKey, ctx_of, respond
from aftersales.domain.logistics import ParcelStatus
from aftersales.domain.policy import ProductFlag
from aftersales.services import orders

router = make_router("/orders", "orders")

OrderNumber = Annotated[str, Text(64, min_length=1), Path()]
Amount = Annotated[int, Int(0, 10**13), Field(description="Minor units (fen, cents)")]


class BuyerIn(BaseModel):
    ref: Annotated[str, Text(80, min_length=1)] = Field(description="The marketplace's buyer id")
    name: Annotated[str, Text(200, min_length=1, blank=False)]
    phone: Annotated[str, Text(40, min_length=1)]
    registered_at: Moment | None = Field(
        default=None, description="When the buyer's marketplace account was made (R15.2)"
    )


class OrderLineIn(BaseModel):
    sku: Annotated[str, Text(80, min_length=1, blank=False)]
    title: Annotated[str, Text(300, min_length=1, blank=False)]
    quantity: Annotated[int, Int(1, 100000)]
    unit_price: Amount
    paid: Amount = Field(description="Paid for the whole line after discounts")
    flags: list[ProductFlag] = Field(default_factory=list, max_length=10)
    declared_no_reason_days: Annotated[int, Int(0, 365)] | None = None
    downloaded: Bool = False


class OrderIn(BaseModel):
    number: Annotated[str, Text(64, min_length=1)]
    shop: Annotated[str, Text(40, min_length=1)]
    buyer: BuyerIn
    currency: Annotated[str, Text(3, pattern="^[A-Z]{3}$")]
    lines: list[OrderLineIn] = Field(min_length=1, max_length=200)
    freight: Amount = 0
    shipping_insurance: Bool = False
    paid_at: Moment
    ship_by: Moment | None = None
    shipped_at: Moment | None = None
    signed_at: Moment | None = None
    region: Annotated[str, Text(40)] | None = Field(
        default=None, description="The marketplace's region code, e.g. SEA_CROSS_BORDER (R8.2)"
    )


class OrderLineOut(BaseModel):
    id: int = Field(description="Use it as order_line_id when opening a case")
    sku: str
    title: str
    quantity: int
    unit_price: int
    paid: int


class ParcelOut(BaseModel):
    carrier: str
    tracking_number: str
    shipped_at: datetime
    status: ParcelStatus = Field(description="The carrier's latest report (R16)")
    status_at: datetime


class OrderOut(BaseModel):
    number: str
    shop: str
    buyer_ref: str | None
    currency: str
    freight: int
    shipping_insurance: bool
    paid_at: datetime
    ship_by: datetime | None
    shipped_at: datetime | None
    signed_at: datetime | None
    region: str | None
    lines: list[OrderLineOut]
    parcels: list[ParcelOut] = Field(description="Outbound parcels (R16)")


def order_out(v: orders.OrderView) -> OrderOut:
    o = v.order
    return OrderOut(
        number=o.number,
        shop=v.shop_code,
        buyer_ref=v.buyer_ref,
        currency=o.currency,
        freight=o.freight.amount,
        shipping_insurance=o.shipping_insurance,
        paid_at=o.paid_at,
        ship_by=o.ship_by,
        shipped_at=o.shipped_at,
        signed_at=o.signed_at,
        region=o.region,
        lines=[
            OrderLineOut(
                id=ln.id,
                sku=ln.product.sku,
                title=ln.product.title,
                quantity=ln.quantity,
                unit_price=ln.unit_price.amount,
                paid=ln.paid.amount,
            )
            for ln in o.lines
        ],
        parcels=[
            ParcelOut(
                carrier=p.carrier,
                tracking_number=p.tracking_number,
                shipped_at=p.shipped_at,
                status=p.status,
                status_at=p.status_at,
            )
            for p in v.parcels
        ],
    )


@router.post("", response_model=OrderOut, status_code=201)
def push_order(
    body: OrderIn, request: Request, auth: Auth, idempotency_key: IdempotencyKey = None
) -> Response:
    """The order system records a paid order (scope `orders:write`). The buyer and the
    products are created on first sight; the payment is booked to the shop's settlement
    balance. An order number is recorded once (409 after)."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: order_out(
            orders.push_order(
                ctx_of(request),
                auth.actor,
                number=body.number,
                shop_code=body.shop,
                buyer=orders.BuyerIn(
                    body.buyer.ref, body.buyer.name, body.buyer.phone, body.buyer.registered_at
                ),
                currency=body.currency,
                lines=[
                    orders.LineIn(
                        ln.sku,
                        ln.title,
                        ln.quantity,
                        ln.unit_price,
                        ln.paid,
                        tuple(ln.flags),
                        ln.declared_no_reason_days,
                        ln.downloaded,
                    )
                    for ln in body.lines
                ],
                paid_at=body.paid_at,
                freight=body.freight,
                shipping_insurance=body.shipping_insurance,
                ship_by=body.ship_by,
                shipped_at=body.shipped_at,
                signed_at=body.signed_at,
                region=body.region,
            )
        ),
        status=201,
    )


@router.get("/{number}", response_model=OrderOut)
def get_order(number: OrderNumber, request: Request, auth: Auth) -> OrderOut:
    """The order's buyer, its shop, the platform and the order system see it."""
    return order_out(orders.get_order(ctx_of(request), auth.actor, number))


class FulfilmentIn(BaseModel):
    shipped_at: Moment | None = None
    signed_at: Moment | None = None
    carrier: Annotated[str, Text(16, min_length=1)] | None = Field(
        default=None, description="SF, ZTO, YTO, STO, JD, ..."
    )
    tracking_number: Annotated[str, Text(40, min_length=1)] | None = Field(
        default=None, description="With carrier and shipped_at: an outbound parcel (R16)"
    )


@router.post("/{number}/fulfilment", response_model=OrderOut)
def record_fulfilment(
    number: OrderNumber,
    body: FulfilmentIn,
    request: Request,
    auth: Auth,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """The order system reports the parcel shipped and/or signed for (R4 windows count
    from signing). A date already recorded cannot be moved (409). With `carrier` and
    `tracking_number` it records an outbound parcel (R16; format checked per carrier, a
    number used by another parcel or case is refused, R5.3)."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: order_out(
            orders.record_fulfilment(
                ctx_of(request),
                auth.actor,
                number,
                shipped_at=body.shipped_at,
                signed_at=body.signed_at,
                carrier=body.carrier,
                tracking_number=body.tracking_number,
            )
        ),
    )
