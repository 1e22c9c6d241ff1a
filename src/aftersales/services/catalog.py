"""Marketplace facts pushed in by the platform's order system (and the demo)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection

from aftersales.domain.errors import NotFound, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.policy import ProductFlag
from aftersales.services import money
from aftersales.services.context import Context
from aftersales.store import repo
from aftersales.store.repo import NewOrderLine

__all__ = [
    "NewOrderLine",
    "create_buyer",
    "create_order",
    "create_product",
    "create_shop",
    "mark_shipped",
    "mark_signed",
]


def check_profile(ctx: Context, profile_id: str) -> str:
    """A policy profile the deployment knows, or a field error."""
    if profile_id not in ctx.profiles.current:
        raise ValidationFailed(
            "profile.unknown",
            N_("Unknown policy profile {profile}."),
            field="profile",
            profile=profile_id,
        )
    return profile_id


def check_return_address(address: str) -> str:
    """R5.1: an approved return sends this address to the buyer: it cannot be blank."""
    if not address.strip():
        raise ValidationFailed(
            "return.address_missing",
            N_("The shop has no return address."),
            rule="R5.1",
            field="return_address",
        )
    return address.strip()


def create_shop(
    ctx: Context,
    *,
    code: str,
    name: str,
    return_address: str,
    timezone: str = "Asia/Shanghai",
    profile_id: str | None = None,
) -> int:
    profile_id = check_profile(ctx, profile_id or ctx.settings.default_profile)
    check_return_address(return_address)
    with ctx.db.write() as conn:
        return repo.insert_shop(
            conn,
            code=code,
            name=name,
            timezone=timezone,
            return_address=return_address,
            profile_id=profile_id,
            now=ctx.now(),
        )


def create_buyer(
    ctx: Context,
    *,
    name: str,
    phone: str,
    created_at: datetime | None = None,
    ref: str | None = None,
    registered_at: datetime | None = None,
) -> int:
    with ctx.db.write() as conn:
        return repo.insert_buyer(
            conn,
            name=name,
            phone=phone,
            now=created_at or ctx.now(),
            ref=ref,
            registered_at=registered_at,
        )


def create_product(
    ctx: Context,
    *,
    shop_id: int,
    sku: str,
    title: str,
    flags: Iterable[ProductFlag] = (),
    declared_no_reason_days: int | None = None,
) -> int:
    with ctx.db.write() as conn:
        return repo.insert_product(
            conn,
            shop_id=shop_id,
            sku=sku,
            title=title,
            flags=flags,
            declared_no_reason_days=declared_no_reason_days,
        )


def create_order(
    ctx: Context,
    *,
    number: str,
    shop_id: int,
    buyer_id: int,
    currency: str,
    lines: Sequence[NewOrderLine],
    freight: int = 0,
    paid_at: datetime,
    shipping_insurance: bool = False,
    ship_by: datetime | None = None,
    shipped_at: datetime | None = None,
    signed_at: datetime | None = None,
    region: str | None = None,
) -> int:
    if not lines:
        raise ValidationFailed(
            "order.no_lines", N_("An order has at least one line."), field="lines"
        )
    for ln in lines:
        if ln.quantity <= 0 or ln.paid < 0 or ln.unit_price < 0:
            raise ValidationFailed(
                "order.bad_line",
                N_("Order lines need a positive quantity and amounts >= 0."),
                field="lines",
            )
    with ctx.db.write() as conn:
        order_id = repo.insert_order(
            conn,
            number=number,
            shop_id=shop_id,
            buyer_id=buyer_id,
            currency=currency,
            freight=freight,
            shipping_insurance=shipping_insurance,
            paid_at=paid_at,
            ship_by=ship_by,
            shipped_at=shipped_at,
            signed_at=signed_at,
            lines=lines,
            now=ctx.now(),
            region=region,
        )
        order = repo.load_order(conn, order_id)
        assert order is not None
        # The buyer's payment waits in the shop's settlement balance (ledger).
        money.record_order_payment(conn, order, ctx.now())
        return order_id


def _order_id(conn: Connection, number: str) -> int:
    oid = repo.order_id_by_number(conn, number)
    if oid is None:
        raise NotFound("order.not_found", N_("Order {number} not found."), number=number)
    return oid


def mark_shipped(ctx: Context, order_number: str, at: datetime) -> None:
    with ctx.db.write() as conn:
        repo.set_order_dates(conn, _order_id(conn, order_number), shipped_at=at)


def mark_signed(ctx: Context, order_number: str, at: datetime) -> None:
    with ctx.db.write() as conn:
        repo.set_order_dates(conn, _order_id(conn, order_number), signed_at=at)
