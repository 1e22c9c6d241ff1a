"""Shops, buyers, products and orders: rows <-> the domain's catalog objects. Every
function takes an open connection; the service that calls it owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from aftersales.domain.catalog import Buyer, Order, OrderLine, Product, Shop
from aftersales.domain.money import Money
from aftersales.domain.policy import ProductFlag
from aftersales.store.db import tx_memo
from aftersales.store.schema import (
    buyers,
    order_lines,
    orders,
    products,
    shops,
)


# --------------------------------------------------------------------------- catalog
def insert_shop(
    conn: Connection,
    *,
    code: str,
    name: str,
    timezone: str,
    return_address: str,
    profile_id: str,
    now: datetime,
) -> int:
    return int(
        conn.execute(
            insert(shops)
            .values(
                code=code,
                name=name,
                timezone=timezone,
                return_address=return_address,
                profile_id=profile_id,
                created_at=now,
            )
            .returning(shops.c.id)
        ).scalar_one()
    )


def _shop(row: Any) -> Shop:
    return Shop(row.id, row.code, row.name, row.timezone, row.return_address, row.profile_id)


_SHOP_MEMO = "aftersales_shops"
_SHOP_BY_ID = select(shops).where(shops.c.id == bindparam("shop_id"))


def get_shop(conn: Connection, shop_id: int) -> Shop | None:
    """The shop, read once per transaction (``update_shop`` forgets it)."""
    memo = tx_memo(conn, _SHOP_MEMO)
    if shop_id not in memo:
        row = conn.execute(_SHOP_BY_ID, {"shop_id": shop_id}).first()
        memo[shop_id] = _shop(row) if row else None
    shop: Shop | None = memo[shop_id]
    return shop


def get_shop_by_code(conn: Connection, code: str) -> Shop | None:
    row = conn.execute(select(shops).where(shops.c.code == code)).first()
    return _shop(row) if row else None


def shop_row(conn: Connection, shop_id: int) -> Any:
    return conn.execute(select(shops).where(shops.c.id == shop_id)).one()


def shop_code(conn: Connection, shop_id: int) -> str:
    shop = get_shop(conn, shop_id)
    assert shop is not None
    return shop.code


def shop_row_by_code(conn: Connection, code: str) -> Any:
    return conn.execute(select(shops).where(shops.c.code == code)).first()


def shop_rows(conn: Connection) -> list[Any]:
    return list(conn.execute(select(shops).order_by(shops.c.code)))


def update_shop(conn: Connection, shop_id: int, **values: Any) -> None:
    conn.execute(update(shops).where(shops.c.id == shop_id).values(**values))
    tx_memo(conn, _SHOP_MEMO).pop(shop_id, None)


def insert_buyer(
    conn: Connection,
    *,
    name: str,
    phone: str,
    now: datetime,
    ref: str | None = None,
    registered_at: datetime | None = None,
) -> int:
    return int(
        conn.execute(
            insert(buyers)
            .values(name=name, phone=phone, ref=ref, created_at=now, registered_at=registered_at)
            .returning(buyers.c.id)
        ).scalar_one()
    )


def buyer_id_by_ref(conn: Connection, ref: str) -> int | None:
    value = conn.execute(select(buyers.c.id).where(buyers.c.ref == ref)).scalar()
    return int(value) if value is not None else None


def buyer_ref(conn: Connection, buyer_id: int) -> str | None:
    value = conn.execute(select(buyers.c.ref).where(buyers.c.id == buyer_id)).scalar()
    return str(value) if value is not None else None


def product_id_by_sku(conn: Connection, shop_id: int, sku: str) -> int | None:
    value = conn.execute(
        select(products.c.id).where(products.c.shop_id == shop_id, products.c.sku == sku)
    ).scalar()
    return int(value) if value is not None else None


def get_buyer(conn: Connection, buyer_id: int) -> Buyer | None:
    row = conn.execute(select(buyers).where(buyers.c.id == buyer_id)).first()
    return Buyer(row.id, row.name, row.phone, row.created_at) if row else None


def insert_product(
    conn: Connection,
    *,
    shop_id: int,
    sku: str,
    title: str,
    flags: Iterable[ProductFlag],
    declared_no_reason_days: int | None,
) -> int:
    return int(
        conn.execute(
            insert(products)
            .values(
                shop_id=shop_id,
                sku=sku,
                title=title,
                flags=sorted(f.value for f in flags),
                declared_no_reason_days=declared_no_reason_days,
            )
            .returning(products.c.id)
        ).scalar_one()
    )


@dataclass(frozen=True, slots=True)
class NewOrderLine:
    product_id: int
    quantity: int
    unit_price: int
    paid: int
    downloaded: bool = False


def insert_order(
    conn: Connection,
    *,
    number: str,
    shop_id: int,
    buyer_id: int,
    currency: str,
    freight: int,
    shipping_insurance: bool,
    paid_at: datetime,
    ship_by: datetime | None,
    shipped_at: datetime | None,
    signed_at: datetime | None,
    lines: Sequence[NewOrderLine],
    now: datetime,
    region: str | None = None,
) -> int:
    order_id = int(
        conn.execute(
            insert(orders)
            .values(
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
                created_at=now,
                region=region,
            )
            .returning(orders.c.id)
        ).scalar_one()
    )
    conn.execute(
        insert(order_lines),
        [
            {
                "order_id": order_id,
                "product_id": ln.product_id,
                "quantity": ln.quantity,
                "unit_price": ln.unit_price,
                "paid": ln.paid,
                "downloaded": ln.downloaded,
            }
            for ln in lines
        ],
    )
    return order_id


def _order_query() -> Any:
    """The order with its lines and their products: one statement, built once."""
    lines = order_lines.join(products, products.c.id == order_lines.c.product_id)
    return (
        select(
            orders,
            order_lines.c.id.label("ln_id"),
            order_lines.c.product_id.label("ln_product_id"),
            order_lines.c.quantity.label("ln_quantity"),
            order_lines.c.unit_price.label("ln_unit_price"),
            order_lines.c.paid.label("ln_paid"),
            order_lines.c.downloaded.label("ln_downloaded"),
            products.c.shop_id.label("p_shop_id"),
            products.c.sku.label("p_sku"),
            products.c.title.label("p_title"),
            products.c.flags.label("p_flags"),
            products.c.declared_no_reason_days.label("p_days"),
        )
        .select_from(orders.outerjoin(lines, order_lines.c.order_id == orders.c.id))
        .where(orders.c.id == bindparam("order_id"))
        .order_by(order_lines.c.id)
    )


_ORDER = _order_query()
_ORDER_LOCKED = _ORDER.with_for_update(of=orders)


def lock_and_load_order(conn: Connection, order_id: int) -> Order | None:
    """The order, locked for this transaction (PostgreSQL ``FOR UPDATE``: actions on one
    order's cases serialise, refund caps span cases; SQLite's BEGIN IMMEDIATE already
    serialises every writer), with its lines, in one statement."""
    return _order_of(conn, _ORDER_LOCKED if conn.dialect.name == "postgresql" else _ORDER, order_id)


def load_order(conn: Connection, order_id: int) -> Order | None:
    """The order with its lines, in one statement."""
    return _order_of(conn, _ORDER, order_id)


def _order_of(conn: Connection, q: Any, order_id: int) -> Order | None:
    rows = conn.execute(q, {"order_id": order_id}).all()
    if not rows:
        return None
    row = rows[0]
    cur = row.currency
    order = Order(
        id=row.id,
        number=row.number,
        shop_id=row.shop_id,
        buyer_id=row.buyer_id,
        currency=cur,
        paid_at=row.paid_at,
        freight=Money(row.freight, cur),
        shipping_insurance=row.shipping_insurance,
        ship_by=row.ship_by,
        shipped_at=row.shipped_at,
        signed_at=row.signed_at,
        region=row.region,
    )
    for ln in rows:
        if ln.ln_id is None:
            continue
        product = Product(
            ln.ln_product_id,
            ln.p_shop_id,
            ln.p_sku,
            ln.p_title,
            frozenset(ProductFlag(f) for f in ln.p_flags),
            ln.p_days,
        )
        order.lines.append(
            OrderLine(
                ln.ln_id,
                product,
                ln.ln_quantity,
                Money(ln.ln_unit_price, cur),
                Money(ln.ln_paid, cur),
                ln.ln_downloaded,
            )
        )
    return order


def order_id_by_number(conn: Connection, number: str) -> int | None:
    return conn.execute(select(orders.c.id).where(orders.c.number == number)).scalar()


def set_order_dates(conn: Connection, order_id: int, **dates: datetime | None) -> None:
    conn.execute(update(orders).where(orders.c.id == order_id).values(**dates))


def lock_order(conn: Connection, order_id: int) -> None:
    """Serialise actions on one order's cases (refund caps span cases). SQLite's
    BEGIN IMMEDIATE already serialises every writer."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(orders.c.id).where(orders.c.id == order_id).with_for_update())
