"""Shops and their settings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path, Request, Response
from pydantic import BaseModel

from aftersales.api.common import FreeText, Text, Timezone, profile_field
from aftersales.api.common import router as make_router
from aftersales.api.deps import Auth, IdempotencyKey, ctx_of, respond
from aftersales.services import shops

router = make_router("/shops", "shops")

ShopCode = Annotated[Text(40, min_length=1), Path()]


class ShopOut(BaseModel):
    code: str
    name: str
    timezone: str
    return_address: str
    profile: str
    created_at: datetime


def shop_out(s: shops.ShopView) -> ShopOut:
    return ShopOut(
        code=s.code,
        name=s.name,
        timezone=s.timezone,
        return_address=s.return_address,
        profile=s.profile_id,
        created_at=s.created_at,
    )


class ShopIn(BaseModel):
    code: Text(40, min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    name: Text(200, min_length=1, blank=False)
    return_address: FreeText(1000, min_length=1, blank=False)
    timezone: Timezone = Timezone("Asia/Shanghai")
    profile: Text(40) | None = profile_field(default=None)


@router.post("", response_model=ShopOut, status_code=201)
def create_shop(
    body: ShopIn, request: Request, auth: Auth, idempotency_key: IdempotencyKey = None
) -> Response:
    """A platform admin opens a shop (then creates its main account in /accounts)."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: shop_out(
            shops.create_shop(
                ctx_of(request),
                auth.actor,
                code=body.code,
                name=body.name,
                return_address=body.return_address,
                timezone=body.timezone,
                profile_id=body.profile,
            )
        ),
        status=201,
    )


@router.get("", response_model=list[ShopOut])
def list_shops(request: Request, auth: Auth) -> list[ShopOut]:
    """The shops the caller may see: their own, or all for the platform."""
    return [shop_out(s) for s in shops.list_shops(ctx_of(request), auth.actor)]


@router.get("/{code}", response_model=ShopOut)
def get_shop(code: ShopCode, request: Request, auth: Auth) -> ShopOut:
    return shop_out(shops.get_shop(ctx_of(request), auth.actor, code))


class ShopSettingsIn(BaseModel):
    name: Text(200, min_length=1, blank=False) | None = None
    timezone: Timezone | None = None
    return_address: FreeText(1000, min_length=1, blank=False) | None = None
    profile: Text(40) | None = profile_field(
        default=None, description="Admins only; open cases keep theirs"
    )


@router.patch("/{code}", response_model=ShopOut)
def update_shop(code: ShopCode, body: ShopSettingsIn, request: Request, auth: Auth) -> ShopOut:
    """Change the shop's settings (main account or admin). Fields left out are kept."""
    return shop_out(
        shops.update_shop(
            ctx_of(request),
            auth.actor,
            code,
            name=body.name,
            timezone=body.timezone,
            return_address=body.return_address,
            profile_id=body.profile,
        )
    )
