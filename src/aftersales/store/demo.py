"""What the demo left in a database: its shops and the logins made for them (read only)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, exists, select

from aftersales.store.schema import accounts, buyers, shops


def has_shops(conn: Connection) -> bool:
    """Whether any shop exists."""
    return bool(conn.execute(select(exists().select_from(shops))).scalar())


def shops_with_code_prefix(conn: Connection, prefix: str) -> list[Any]:
    """Shops whose code starts with ``prefix``, oldest first: id, code, name, profile_id."""
    return list(
        conn.execute(
            select(shops.c.id, shops.c.code, shops.c.name, shops.c.profile_id)
            .where(shops.c.code.startswith(prefix, autoescape=True))
            .order_by(shops.c.id)
        )
    )


def shop_logins(conn: Connection, shop_ids: Iterable[int]) -> list[Any]:
    """Enabled accounts of these shops, each shop's main account first: shop_id, login,
    main, permissions."""
    main = accounts.c.main_shop_id.is_not(None)
    return list(
        conn.execute(
            select(
                accounts.c.shop_id,
                accounts.c.login,
                main.label("main"),
                accounts.c.permissions,
            )
            .where(accounts.c.shop_id.in_(list(shop_ids)), accounts.c.disabled_at.is_(None))
            .order_by(accounts.c.shop_id, main.desc(), accounts.c.id)
        )
    )


def buyer_logins(conn: Connection, ref_prefix: str) -> list[str]:
    """Logins of enabled buyer accounts whose buyer ref starts with ``ref_prefix``."""
    return list(
        conn.execute(
            select(accounts.c.login)
            .join(buyers, buyers.c.id == accounts.c.buyer_id)
            .where(
                buyers.c.ref.startswith(ref_prefix, autoescape=True),
                accounts.c.disabled_at.is_(None),
            )
            .order_by(accounts.c.id)
        ).scalars()
    )


def logins_named(conn: Connection, kind: str, display_names: Iterable[str]) -> list[str]:
    """Logins of enabled accounts of ``kind`` carrying one of these display names."""
    return list(
        conn.execute(
            select(accounts.c.login)
            .where(
                accounts.c.kind == kind,
                accounts.c.display_name.in_(list(display_names)),
                accounts.c.disabled_at.is_(None),
            )
            .order_by(accounts.c.id)
        ).scalars()
    )
