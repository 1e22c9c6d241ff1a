"""Shops and their settings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path, Request, Response
from pydantic import BaseModel, Field

from aftersales.api.common import FreeText, Int, Text, Timezone, profile_field
from aftersales.api.common import router as make_router
from aftersales.api.deps import Auth, IdempotencyKey, ctx_of, respond
from aftersales.services import money, shops

router = make_router("/shops", "shops")

ShopCode = Annotated[str, Text(40, min_length=1), Path()]


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
    code: Annotated[str, Text(40, min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    name: Annotated[str, Text(200, min_length=1, blank=False)]
    return_address: Annotated[str, FreeText(1000, min_length=1, blank=False)]
    timezone: Timezone = Timezone("Asia/Shanghai")
    profile: Annotated[str, Text(40)] | None = profile_field(default=None)


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
    name: Annotated[str, Text(200, min_length=1, blank=False)] | None = None
    timezone: Timezone | None = None
    return_address: Annotated[str, FreeText(1000, min_length=1, blank=False)] | None = None
    profile: Annotated[str, Text(40)] | None = profile_field(
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


class StatusChangeOut(BaseModel):
    status: str = Field(description="withdrawals_frozen")
    active: bool = Field(description="Switched on (true) or lifted (false) at created_at")
    cause: str = Field(description="deposit_below_required")
    rule: str
    entry_id: int | None = Field(description="The ledger entry that caused the change")
    balance: int | None = None
    required: int | None = None
    currency: str | None = None
    created_at: datetime


class StandingOut(BaseModel):
    shop: str
    currency: str
    deposit: int = Field(description="The deposit 保证金 in minor units")
    required_deposit: int = Field(description="R11.2: below this, withdrawals are frozen")
    settlement: int = Field(description="The settlement balance 货款 in minor units")
    withdrawals_frozen: bool
    frozen_by_deposit: bool = Field(description="R11.2: until the deposit is topped up")
    frozen_until: datetime | None = Field(description="R14.1: a fine's freeze, until then")
    changes: list[StatusChangeOut]


def standing_out(s: money.Standing) -> StandingOut:
    return StandingOut(
        shop=s.shop_code,
        currency=s.currency,
        deposit=s.deposit,
        required_deposit=s.required_deposit,
        settlement=s.settlement,
        withdrawals_frozen=s.withdrawals_frozen,
        frozen_by_deposit=s.frozen_by_deposit,
        frozen_until=s.frozen_until,
        changes=[
            StatusChangeOut(
                status=c.status,
                active=c.active,
                cause=c.cause,
                rule=c.rule,
                entry_id=c.entry_id,
                balance=c.details.get("balance"),
                required=c.details.get("required"),
                currency=c.details.get("currency"),
                created_at=c.created_at,
            )
            for c in s.changes
        ],
    )


@router.get("/{code}/standing", response_model=StandingOut)
def get_standing(code: ShopCode, request: Request, auth: Auth) -> StandingOut:
    """The shop's money standing (R11.2, R14.1): deposit and settlement balances, whether
    withdrawals are frozen and why, and every dated status change. The platform, the shop's
    main account and sub-accounts with `view_analytics` see it."""
    return standing_out(money.standing(ctx_of(request), auth.actor, code))


class DepositIn(BaseModel):
    amount: Annotated[int, Int(1, 10**13), Field(description="Minor units, the profile's currency")]
    reference: Annotated[str, Text(80, min_length=1)] = Field(
        description="The payment's id in the marketplace: the same payment is recorded once"
    )


class DepositOut(BaseModel):
    entry_id: int
    standing: StandingOut


@router.post("/{code}/deposit", response_model=DepositOut, status_code=201)
def top_up_deposit(
    code: ShopCode,
    body: DepositIn,
    request: Request,
    auth: Auth,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """The shop paid into its deposit 保证金 (the marketplace's payment system with scope
    `orders:write`, or an admin). A deposit back at the profile's `required_deposit` lifts
    the R11.2 withdrawal freeze (a dated status change and a `shop.status_changed` event).
    The same `reference` with another amount is 409."""

    def run() -> DepositOut:
        entry, after = money.top_up(ctx_of(request), auth.actor, code, body.amount, body.reference)
        return DepositOut(entry_id=entry, standing=standing_out(after))

    return respond(request, auth, idempotency_key, body, run, status=201)
