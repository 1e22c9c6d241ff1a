"""Orders pushed in by the marketplace's order system, and read by the parties."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from aftersales.domain.accounts import AccountKind, Scope
from aftersales.domain.case_types import ActorKind
from aftersales.domain.catalog import Order, Shop
from aftersales.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.logistics import validate_tracking
from aftersales.domain.money import is_tender_on
from aftersales.domain.policy import ProductFlag
from aftersales.services import events, money, parcels
from aftersales.services.actors import (
    Actor,
    is_marketplace_system,
    require_case_reading,
    require_scope,
    shop_not_found,
)
from aftersales.services.context import Context
from aftersales.services.parcels import ParcelView
from aftersales.store import catalog as catalog_store
from aftersales.store.catalog import NewOrderLine


@dataclass(frozen=True, slots=True)
class BuyerIn:
    ref: str  # the marketplace's own buyer id
    name: str
    phone: str
    registered_at: datetime | None = None  # R15.2: when the marketplace account was made


@dataclass(frozen=True, slots=True)
class ProductIn:
    sku: str
    title: str
    flags: tuple[ProductFlag, ...] = ()
    declared_no_reason_days: int | None = None


@dataclass(frozen=True, slots=True)
class LineIn:
    sku: str
    title: str
    quantity: int
    unit_price: int
    paid: int
    flags: tuple[ProductFlag, ...] = ()
    declared_no_reason_days: int | None = None
    downloaded: bool = False


@dataclass(frozen=True, slots=True)
class OrderView:
    order: Order
    shop_code: str
    buyer_ref: str | None
    skus: dict[int, str]  # order line id -> sku
    parcels: tuple[ParcelView, ...] = ()  # R16: the outbound parcels


def _require_pusher(actor: Actor) -> None:
    """The marketplace's order system (a service account) or a platform admin."""
    if not is_marketplace_system(actor):
        raise Forbidden("auth.not_allowed", N_("Your account may not do this."), rule="R1")
    require_scope(actor, Scope.ORDERS_WRITE)


def _check_dates(
    paid_at: datetime, shipped_at: datetime | None, signed_at: datetime | None
) -> None:
    if shipped_at is not None and shipped_at < paid_at:
        raise ValidationFailed(
            "order.dates_out_of_order", N_("An order ships after it is paid."), field="shipped_at"
        )
    if signed_at is not None and (shipped_at is None or signed_at < shipped_at):
        raise ValidationFailed(
            "order.signed_before_shipped",
            N_("An order is signed for after it ships."),
            field="signed_at",
        )


def _check_lines(currency: str, paid_at: datetime, lines: Sequence[LineIn]) -> None:
    """ISO 4217 tender on the day of payment; a line is paid at most its quantity × unit
    price (discounts lower it, nothing raises it), so the order's total is at most the
    goods' price plus freight."""
    if not is_tender_on(currency, paid_at.date()):
        raise ValidationFailed(
            "order.bad_currency",
            N_("Currency {currency} is not an ISO 4217 currency in use on the day of payment."),
            field="currency",
            currency=currency,
        )
    for i, ln in enumerate(lines):
        if ln.paid > ln.quantity * ln.unit_price:
            raise ValidationFailed(
                "order.line_overpaid",
                N_(
                    "A line is paid at most its quantity × unit price ({limit} minor units); "
                    "{paid} is more."
                ),
                field=f"lines.{i}.paid",
                limit=ln.quantity * ln.unit_price,
                paid=ln.paid,
            )


def _shop(conn: Connection, code: str) -> Shop:
    shop = catalog_store.get_shop_by_code(conn, code)
    if shop is None:
        raise shop_not_found(code)
    return shop


def _buyer_id(conn: Connection, buyer: BuyerIn, now: datetime) -> int:
    """The buyer the marketplace's ref names, created on first sight."""
    buyer_id = catalog_store.buyer_id_by_ref(conn, buyer.ref)
    if buyer_id is None:
        buyer_id = catalog_store.insert_buyer(
            conn,
            name=buyer.name,
            phone=buyer.phone,
            ref=buyer.ref,
            now=now,
            registered_at=buyer.registered_at,
        )
    return buyer_id


def _product_id(conn: Connection, shop_id: int, product: LineIn | ProductIn) -> int:
    """The shop's product with this SKU, created on first sight (later sightings change
    nothing: a product's flags are what the order system first said)."""
    pid = catalog_store.product_id_by_sku(conn, shop_id, product.sku)
    if pid is None:
        pid = catalog_store.insert_product(
            conn,
            shop_id=shop_id,
            sku=product.sku,
            title=product.title,
            flags=product.flags,
            declared_no_reason_days=product.declared_no_reason_days,
        )
    return pid


def record_buyer(ctx: Context, actor: Actor, buyer: BuyerIn) -> int:
    """The order system announces a marketplace buyer before their first order (so that an
    account can be made for them); the same buyer :func:`push_order` creates on first
    sight of the ref, and the same one after it. Returns the buyer's id."""
    _require_pusher(actor)
    ctx.check_not_future(**{"buyer.registered_at": buyer.registered_at})
    with ctx.db.write() as conn:
        return _buyer_id(conn, buyer, ctx.now())


def record_product(ctx: Context, actor: Actor, shop_code: str, product: ProductIn) -> int:
    """The order system announces one of a shop's products (with its R4.3 category flags)
    before it is first sold; the same product :func:`push_order` creates on first sight
    of the SKU. Returns the product's id."""
    _require_pusher(actor)
    with ctx.db.write() as conn:
        return _product_id(conn, _shop(conn, shop_code).id, product)


def push_order(
    ctx: Context,
    actor: Actor,
    *,
    number: str,
    shop_code: str,
    buyer: BuyerIn,
    currency: str,
    lines: Sequence[LineIn],
    paid_at: datetime,
    freight: int = 0,
    shipping_insurance: bool = False,
    ship_by: datetime | None = None,
    shipped_at: datetime | None = None,
    signed_at: datetime | None = None,
    region: str | None = None,
) -> OrderView:
    """Record a paid order (with its buyer and products, created on first sight) and the
    buyer's payment in the shop's settlement balance. An order number is recorded once."""
    _require_pusher(actor)
    if not lines:
        raise ValidationFailed(
            "order.no_lines", N_("An order has at least one line."), field="lines"
        )
    if len({ln.sku for ln in lines}) != len(lines):
        raise ValidationFailed(
            "order.duplicate_sku", N_("Each SKU appears on one line only."), field="lines"
        )
    _check_dates(paid_at, shipped_at, signed_at)
    ctx.check_not_future(
        paid_at=paid_at,
        shipped_at=shipped_at,
        signed_at=signed_at,
        **{"buyer.registered_at": buyer.registered_at},
    )
    _check_lines(currency, paid_at, lines)
    now = ctx.now()
    with ctx.db.write() as conn:
        shop = _shop(conn, shop_code)
        buyer_id = _buyer_id(conn, buyer, now)
        new_lines = [
            NewOrderLine(
                _product_id(conn, shop.id, ln), ln.quantity, ln.unit_price, ln.paid, ln.downloaded
            )
            for ln in lines
        ]
        try:
            with conn.begin_nested():
                order_id = catalog_store.insert_order(
                    conn,
                    number=number,
                    shop_id=shop.id,
                    buyer_id=buyer_id,
                    currency=currency,
                    freight=freight,
                    shipping_insurance=shipping_insurance,
                    paid_at=paid_at,
                    ship_by=ship_by,
                    shipped_at=shipped_at,
                    signed_at=signed_at,
                    lines=new_lines,
                    now=now,
                    region=region,
                )
        except IntegrityError:
            raise Conflict(
                "order.exists",
                N_("Order {number} was already recorded."),
                field="number",
                number=number,
            ) from None
        order = catalog_store.load_order(conn, order_id)
        assert order is not None
        money.record_order_payment(conn, order, now)
        events.emit(
            conn,
            "order.recorded",
            shop_id=shop.id,
            case_id=None,
            data={"order_number": number},
            now=now,
        )
        return _view(conn, order)


def _view(conn: Connection, order: Order) -> OrderView:
    shop = catalog_store.get_shop(conn, order.shop_id)
    assert shop is not None
    return OrderView(
        order,
        shop.code,
        catalog_store.buyer_ref(conn, order.buyer_id),
        {ln.id: ln.product.sku for ln in order.lines},
        tuple(parcels.parcels_of(conn, order.id)),
    )


def _can_see(actor: Actor, order: Order) -> bool:
    if actor.kind is ActorKind.BUYER:
        return order.buyer_id == actor.buyer_id
    if actor.kind is ActorKind.MERCHANT:
        return order.shop_id == actor.shop_id
    if actor.account_kind is AccountKind.SERVICE:
        return actor.scopes is None or Scope.ORDERS_WRITE in actor.scopes
    return True


def _visible_order(conn: Connection, actor: Actor, number: str) -> Order:
    oid = catalog_store.order_id_by_number(conn, number)
    order = catalog_store.load_order(conn, oid) if oid is not None else None
    if order is None or not _can_see(actor, order):
        raise NotFound("order.not_found", N_("Order {number} not found."), number=number)
    return order


def get_order(ctx: Context, actor: Actor, number: str) -> OrderView:
    with ctx.db.read() as conn:
        order = _visible_order(conn, actor, number)
        if actor.account_kind is not AccountKind.SERVICE:
            require_case_reading(actor)
        return _view(conn, order)


def record_fulfilment(
    ctx: Context,
    actor: Actor,
    number: str,
    *,
    shipped_at: datetime | None = None,
    signed_at: datetime | None = None,
    carrier: str | None = None,
    tracking_number: str | None = None,
) -> OrderView:
    """The order system reports the parcel shipped and/or signed for (R4 windows count
    from signing). Dates already recorded are never moved. With ``carrier`` and
    ``tracking_number`` (and ``shipped_at``) it records an outbound parcel (R16): validated
    per carrier, never a number another parcel or case uses (R5.3). Further parcels of an
    order keep their own dispatch time; the order's ``shipped_at`` stays the first."""
    _require_pusher(actor)
    if shipped_at is None and signed_at is None:
        raise ValidationFailed(
            "order.no_dates", N_("Give shipped_at, signed_at or both."), field="shipped_at"
        )
    parcel = carrier is not None or tracking_number is not None
    if parcel and (not carrier or not tracking_number or shipped_at is None):
        raise ValidationFailed(
            "parcel.incomplete",
            N_("A parcel needs carrier, tracking_number and shipped_at."),
            rule="R16",
            field="tracking_number",
        )
    if parcel and carrier and tracking_number:
        validate_tracking(carrier, tracking_number)  # R5.3: refused before any lookup
    ctx.check_not_future(shipped_at=shipped_at, signed_at=signed_at)
    now = ctx.now()
    with ctx.db.write() as conn:
        order = _visible_order(conn, actor, number)
        catalog_store.lock_order(conn, order.id)
        changes: dict[str, datetime] = {}
        for name, value, current in (
            ("shipped_at", shipped_at, order.shipped_at),
            ("signed_at", signed_at, order.signed_at),
        ):
            if value is None:
                continue
            if current is not None and current != value:
                if name == "shipped_at" and parcel:
                    continue  # a further parcel: the order shipped with its first one
                raise Conflict(
                    "order.date_recorded",
                    N_("Order {number} already has {field} recorded."),
                    number=number,
                    field=name,
                )
            if current is None:
                changes[name] = value
        _check_dates(
            order.paid_at,
            changes.get("shipped_at", order.shipped_at),
            changes.get("signed_at", order.signed_at),
        )
        if parcel and shipped_at is not None:
            _check_dates(order.paid_at, shipped_at, None)
        data: dict[str, object] = {k: v.isoformat() for k, v in changes.items()}
        if (
            carrier
            and tracking_number
            and shipped_at is not None
            and parcels.add_parcel(conn, order, carrier, tracking_number, shipped_at)
        ):
            code, tracking = validate_tracking(carrier, tracking_number)
            data["parcel"] = {"carrier": code, "tracking_number": tracking}
        if changes:
            catalog_store.set_order_dates(conn, order.id, **changes)
        if data:
            events.emit(
                conn,
                "order.fulfilment",
                shop_id=order.shop_id,
                case_id=None,
                data={"order_number": number, **data},
                now=now,
            )
        reloaded = catalog_store.load_order(conn, order.id)
        assert reloaded is not None
        return _view(conn, reloaded)
