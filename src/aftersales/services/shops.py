"""Shops and their settings (R1): created by platform admins, configured by the main
account. Every change is written to the append-only audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import IntegrityError

from aftersales.domain import machine
from aftersales.domain.accounts import AccountKind, Scope
from aftersales.domain.case_types import ActorKind
from aftersales.domain.errors import Conflict, Forbidden, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.services.actors import Actor, require_scope, visible_shop
from aftersales.services.context import Context
from aftersales.store import accounts as account_store
from aftersales.store import catalog as catalog_store


@dataclass(frozen=True, slots=True)
class ShopView:
    id: int
    code: str
    name: str
    timezone: str
    return_address: str
    profile_id: str
    created_at: datetime


def _view(row: Any) -> ShopView:
    return ShopView(
        row.id, row.code, row.name, row.timezone, row.return_address, row.profile_id, row.created_at
    )


def _check_timezone(tz: str) -> None:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            "shop.timezone_unknown", N_("Unknown time zone {tz}."), field="timezone", tz=tz
        ) from None


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


def _require_admin(actor: Actor) -> None:
    """Shops are the platform's to create: an admin, or the system itself (the demo, the
    bench) where no person acts."""
    if not (actor.is_admin or actor.is_internal):
        raise Forbidden("auth.not_allowed", N_("Your account may not do this."), rule="R1")


def create_shop(
    ctx: Context,
    actor: Actor,
    *,
    code: str,
    name: str,
    return_address: str,
    timezone: str = "Asia/Shanghai",
    profile_id: str | None = None,
) -> ShopView:
    _require_admin(actor)
    require_scope(actor, Scope.ACCOUNTS_WRITE)
    _check_timezone(timezone)
    profile_id = check_profile(ctx, profile_id or ctx.settings.default_profile)
    machine.check_return_address(return_address)
    now = ctx.now()
    with ctx.db.write() as conn:
        try:
            with conn.begin_nested():
                shop_id = catalog_store.insert_shop(
                    conn,
                    code=code,
                    name=name,
                    timezone=timezone,
                    return_address=return_address,
                    profile_id=profile_id,
                    now=now,
                )
        except IntegrityError:
            raise Conflict(
                "shop.exists", N_("Shop {code} exists."), field="code", code=code
            ) from None
        account_store.audit(
            conn,
            at=now,
            actor=actor.id or "",
            subject=f"shop:{shop_id}",
            action="created",
            code=code,
            profile=profile_id,
        )
        return _view(catalog_store.shop_row(conn, shop_id))


def get_shop(ctx: Context, actor: Actor, code: str) -> ShopView:
    with ctx.db.read() as conn:
        return _view(visible_shop(conn, actor, code))


def list_shops(ctx: Context, actor: Actor) -> list[ShopView]:
    with ctx.db.read() as conn:
        if actor.kind is ActorKind.PLATFORM:
            return [_view(r) for r in catalog_store.shop_rows(conn)]
        if actor.kind is ActorKind.MERCHANT and actor.shop_id is not None:
            return [_view(catalog_store.shop_row(conn, actor.shop_id))]
        return []


def update_shop(
    ctx: Context,
    actor: Actor,
    code: str,
    *,
    name: str | None = None,
    timezone: str | None = None,
    return_address: str | None = None,
    profile_id: str | None = None,
) -> ShopView:
    """The main account (or an admin) changes the shop's settings; the policy profile is
    the platform's to assign (admins only). Open cases keep the profile they opened under."""
    now = ctx.now()
    with ctx.db.write() as conn:
        row = visible_shop(conn, actor, code)
        if not actor.is_admin:
            if actor.kind is not ActorKind.MERCHANT or not actor.main:
                raise Forbidden(
                    "auth.main_account_only",
                    N_("Only the shop's main account may do this."),
                    rule="R1.2",
                )
            if profile_id is not None:
                raise Forbidden(
                    "shop.profile_platform_only",
                    N_("Only the platform assigns a shop's policy profile."),
                )
        require_scope(actor, Scope.SHOP_ADMIN if not actor.is_admin else Scope.ACCOUNTS_WRITE)
        changes: dict[str, Any] = {}
        if name is not None:
            if not name.strip():
                raise ValidationFailed("shop.name_empty", N_("A shop needs a name."), field="name")
            changes["name"] = name.strip()
        if timezone is not None:
            _check_timezone(timezone)
            changes["timezone"] = timezone
        if return_address is not None:
            changes["return_address"] = machine.check_return_address(return_address)
        if profile_id is not None:
            changes["profile_id"] = check_profile(ctx, profile_id)
        changes = {k: v for k, v in changes.items() if getattr(row, k) != v}
        if changes:
            catalog_store.update_shop(conn, row.id, **changes)
            account_store.audit(
                conn,
                at=now,
                actor=actor.id or "",
                subject=f"shop:{row.id}",
                action="settings_changed",
                before={k: getattr(row, k) for k in changes},
                after=changes,
            )
        return _view(catalog_store.shop_row(conn, row.id))


__all__ = ["AccountKind", "ShopView", "create_shop", "get_shop", "list_shops", "update_shop"]
