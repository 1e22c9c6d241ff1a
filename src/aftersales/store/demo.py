"""What the demo left in a database: its shops and the logins made for them (read only)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, exists, select

from aftersales.store.schema import accounts, buyers, shops


def has_shops(conn: Connection) -> bool:
    """Whether any shop exists."""
    return bool(conn.execute(select(exists().select_from(shops))).scalar())


@dataclass(frozen=True, slots=True)
class ShopRecord:
    id: int
    code: str
    name: str
    profile_id: str


def shops_with_code_prefix(conn: Connection, prefix: str) -> list[ShopRecord]:
    """Shops whose code starts with ``prefix``, oldest first."""
    return [
        ShopRecord(r.id, r.code, r.name, r.profile_id)
        for r in conn.execute(
            select(shops.c.id, shops.c.code, shops.c.name, shops.c.profile_id)
            .where(shops.c.code.startswith(prefix, autoescape=True))
            .order_by(shops.c.id)
        )
    ]


@dataclass(frozen=True, slots=True)
class ShopLogin:
    shop_id: int
    login: str
    main: bool  # the shop's main account (R1.2)
    permissions: tuple[str, ...]  # a sub-account's grants


def shop_logins(conn: Connection, shop_ids: Iterable[int]) -> list[ShopLogin]:
    """Enabled accounts of these shops, each shop's main account first."""
    main = accounts.c.main_shop_id.is_not(None)
    return [
        ShopLogin(r.shop_id, r.login, bool(r.main), tuple(r.permissions or ()))
        for r in conn.execute(
            select(
                accounts.c.shop_id,
                accounts.c.login,
                main.label("main"),
                accounts.c.permissions,
            )
            .where(accounts.c.shop_id.in_(list(shop_ids)), accounts.c.disabled_at.is_(None))
            .order_by(accounts.c.shop_id, main.desc(), accounts.c.id)
        )
    ]


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
