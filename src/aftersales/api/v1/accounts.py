"""Accounts (R1): admins create accounts, integrations provision buyers, a shop's main
account creates sub-accounts and grants them permissions (R1.2)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path, Request, Response
from pydantic import BaseModel, Field

from aftersales.api.common import Bool, Password, QueryInt, Text, password_field
from aftersales.api.common import router as make_router
from aftersales.api.deps import Auth, IdempotencyKey, ctx_of, respond
from aftersales.domain.accounts import AccountKind, Permission
from aftersales.services import accounts

router = make_router("", "accounts")

ShopCode = Annotated[str, Text(40, min_length=1), Path()]
AccountId = Annotated[int, QueryInt(1, 2**31 - 1), Path()]
Login = Annotated[str, Text(120, min_length=1)]
DisplayName = Annotated[str, Text(200)]


class AccountOut(BaseModel):
    id: int
    login: str
    kind: AccountKind
    display_name: str
    shop: str | None
    buyer_id: int | None
    main: bool
    permissions: list[Permission]
    locale: str
    created_at: datetime
    disabled: bool


def account_out(a: accounts.AccountView) -> AccountOut:
    return AccountOut(
        id=a.id,
        login=a.login,
        kind=a.kind,
        display_name=a.display_name,
        shop=a.shop_code,
        buyer_id=a.buyer_id,
        main=a.main,
        permissions=[Permission(p) for p in a.permissions],
        locale=a.locale,
        created_at=a.created_at,
        disabled=a.disabled,
    )


class AccountIn(BaseModel):
    kind: AccountKind
    login: Login
    password: Password | None = password_field(default=None)
    display_name: DisplayName = ""
    shop: Annotated[str, Text(40)] | None = Field(default=None, description="Merchant accounts")
    buyer_ref: Annotated[str, Text(80)] | None = Field(default=None, description="Buyer accounts")
    main: Bool = Field(default=False, description="The shop's main account (one per shop)")
    permissions: list[Permission] = Field(default_factory=list, max_length=10)
    locale: Annotated[str, Text(5, pattern="^(zh_CN|en)$")] = "zh_CN"


@router.post("/accounts", response_model=AccountOut, status_code=201)
def create_account(
    body: AccountIn, request: Request, auth: Auth, idempotency_key: IdempotencyKey = None
) -> Response:
    """Admins create any account; an integration with `accounts:write` provisions buyer
    accounts for buyers it has pushed orders for."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: account_out(
            accounts.create_account(
                ctx_of(request),
                auth.actor,
                kind=body.kind,
                login=body.login,
                password=body.password,
                display_name=body.display_name,
                shop_code=body.shop,
                buyer_ref=body.buyer_ref,
                main=body.main,
                permissions=[p.value for p in body.permissions],
                locale=body.locale,
            )
        ),
        status=201,
    )


@router.get("/accounts/{account_id}", response_model=AccountOut)
def get_account(account_id: AccountId, request: Request, auth: Auth) -> AccountOut:
    """Your own account; a main account sees its shop's accounts; admins see all."""
    return account_out(accounts.get_account(ctx_of(request), auth.actor, account_id))


class PermissionsIn(BaseModel):
    permissions: list[Permission] = Field(max_length=10)


@router.put("/accounts/{account_id}/permissions", response_model=AccountOut)
def set_permissions(
    account_id: AccountId, body: PermissionsIn, request: Request, auth: Auth
) -> AccountOut:
    """R1.2: the main account sets what a sub-account may do (the full list)."""
    return account_out(
        accounts.set_permissions(
            ctx_of(request), auth.actor, account_id, [p.value for p in body.permissions]
        )
    )


@router.post("/accounts/{account_id}/disable", response_model=AccountOut)
def disable_account(
    account_id: AccountId, request: Request, auth: Auth, idempotency_key: IdempotencyKey = None
) -> Response:
    """Disable a sub-account (main account) or any account (admin); its sessions and
    tokens stop working."""
    return respond(
        request,
        auth,
        idempotency_key,
        None,
        lambda: account_out(accounts.disable_account(ctx_of(request), auth.actor, account_id)),
    )


@router.get("/shops/{code}/accounts", response_model=list[AccountOut])
def list_shop_accounts(code: ShopCode, request: Request, auth: Auth) -> list[AccountOut]:
    """The shop's main account and sub-accounts (main account or admin)."""
    return [account_out(a) for a in accounts.shop_accounts(ctx_of(request), auth.actor, code)]


class SubAccountIn(BaseModel):
    login: Login
    password: Password = password_field()
    display_name: DisplayName = ""
    permissions: list[Permission] = Field(default_factory=list, max_length=10)
    locale: Annotated[str, Text(5, pattern="^(zh_CN|en)$")] = "zh_CN"


@router.post("/shops/{code}/accounts", response_model=AccountOut, status_code=201)
def create_sub_account(
    code: ShopCode,
    body: SubAccountIn,
    request: Request,
    auth: Auth,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R1.2: the main account creates a sub-account with the permissions it grants."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: account_out(
            accounts.create_account(
                ctx_of(request),
                auth.actor,
                kind=AccountKind.MERCHANT,
                login=body.login,
                password=body.password,
                display_name=body.display_name,
                shop_code=code,
                permissions=[p.value for p in body.permissions],
                locale=body.locale,
            )
        ),
        status=201,
    )
