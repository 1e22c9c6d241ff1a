"""What the demo (``aftersales.demo``) left in a database, read back: whether it holds any
shop, and the demo's shops with the logins made for them (the home page, ``aftersales demo``).

The demo writes through the other services; only these reads are its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aftersales.domain.accounts import AccountKind
from aftersales.services.context import Context
from aftersales.store import demo as store

DEMO_SHOP_PREFIX = "DEMO"
DEMO_SHOP_CODE = re.compile(rf"^{DEMO_SHOP_PREFIX}\d+-\d{{10}}$")
DEMO_BUYER_REF = "demo-"
# The demo's platform accounts carry these display names, so that an `admin` made another
# way (whose password is not the demo's) is never shown as a demo login.
DEMO_PLATFORM_NAMES = {
    AccountKind.ADMIN: "演示管理员 demo admin",
    AccountKind.AGENT: "演示客服 demo agent",
}


@dataclass(frozen=True)
class DemoLogin:
    login: str
    main: bool  # the shop's main account (R1.2)
    permissions: tuple[str, ...]  # a sub-account's grants


@dataclass(frozen=True)
class DemoShop:
    code: str
    name: str
    profile: str
    logins: tuple[DemoLogin, ...]


@dataclass(frozen=True)
class DemoLogins:
    """The demo's shops and the logins made for them (password `DEMO_PASSWORD`), read back
    from the database: empty when it holds no demo."""

    shops: tuple[DemoShop, ...] = ()
    platform: tuple[str, ...] = ()
    buyers: tuple[str, ...] = ()


def demo_logins(ctx: Context) -> DemoLogins:
    """Only accounts the demo made: those of demo shops and demo buyers, and the platform
    accounts carrying the demo's display names."""
    with ctx.db.read() as conn:
        found = [
            s
            for s in store.shops_with_code_prefix(conn, DEMO_SHOP_PREFIX)
            if DEMO_SHOP_CODE.match(s.code)
        ]
        if not found:
            return DemoLogins()
        per_shop: dict[int, list[DemoLogin]] = {s.id: [] for s in found}
        for row in store.shop_logins(conn, per_shop):
            perms = () if row.main else row.permissions
            per_shop[row.shop_id].append(DemoLogin(row.login, row.main, perms))
        platform = tuple(
            login
            for kind, name in DEMO_PLATFORM_NAMES.items()
            for login in store.logins_named(conn, kind.value, [name])
        )
        buyer_logins = tuple(store.buyer_logins(conn, DEMO_BUYER_REF))
    shops_found = tuple(
        DemoShop(s.code, s.name, s.profile_id, tuple(per_shop[s.id])) for s in found
    )
    return DemoLogins(shops_found, platform, buyer_logins)


def has_shops(ctx: Context) -> bool:
    """Whether the database holds any shop (a demo or real data)."""
    with ctx.db.read() as conn:
        return store.has_shops(conn)
