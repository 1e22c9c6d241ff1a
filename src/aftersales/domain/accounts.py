"""Accounts, permissions and token scopes (R1). Pure data and rules: no I/O."""

from __future__ import annotations

from enum import StrEnum


class AccountKind(StrEnum):
    BUYER = "buyer"  # 消费者
    MERCHANT = "merchant"  # a shop's main account (主账号) or sub-account (子账号)
    AGENT = "agent"  # platform agent (平台客服/仲裁)
    ADMIN = "admin"  # platform operator: shops, accounts, platform webhooks
    SERVICE = "service"  # an integration: the marketplace's order system, a carrier, an ERP


class Permission(StrEnum):
    """R1.2: what a shop's main account may grant a sub-account."""

    HANDLE_AFTERSALES = "handle_aftersales"
    CONFIGURE_STRATEGIES = "configure_strategies"
    VIEW_ANALYTICS = "view_analytics"
    FILE_APPEALS = "file_appeals"


class Scope(StrEnum):
    """What an API token may be used for; a token acts with its account's rights *and* its
    scopes (a session cookie carries every scope of its account)."""

    CASES_READ = "cases:read"
    CASES_WRITE = "cases:write"
    MESSAGES_WRITE = "messages:write"
    SHOP_ADMIN = "shop:admin"  # shop settings, sub-accounts, templates, webhooks
    ORDERS_WRITE = "orders:write"
    LOGISTICS_WRITE = "logistics:write"
    ACCOUNTS_WRITE = "accounts:write"


# The scopes a token of each account kind may carry.
KIND_SCOPES: dict[AccountKind, frozenset[Scope]] = {
    AccountKind.BUYER: frozenset({Scope.CASES_READ, Scope.CASES_WRITE, Scope.MESSAGES_WRITE}),
    AccountKind.MERCHANT: frozenset(
        {Scope.CASES_READ, Scope.CASES_WRITE, Scope.MESSAGES_WRITE, Scope.SHOP_ADMIN}
    ),
    AccountKind.AGENT: frozenset({Scope.CASES_READ, Scope.CASES_WRITE, Scope.MESSAGES_WRITE}),
    AccountKind.ADMIN: frozenset(Scope),
    AccountKind.SERVICE: frozenset(
        {Scope.ORDERS_WRITE, Scope.LOGISTICS_WRITE, Scope.ACCOUNTS_WRITE}
    ),
}


def normalise_login(login: str) -> str:
    return login.strip().lower()
