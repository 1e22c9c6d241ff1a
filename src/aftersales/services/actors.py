"""Who is acting, and what they may do (R1).

Interfaces turn a login session or an API token into an :class:`Actor`; services check it.
Object-level rules: a buyer sees only their own cases, a shop account only its shop's,
platform agents every case. A case the actor may not see answers exactly like one that
does not exist (404); an action the actor may not take on a visible object is 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from aftersales.domain.accounts import AccountKind, Permission, Scope
from aftersales.domain.case import Case
from aftersales.domain.case_types import ActorKind
from aftersales.domain.errors import Forbidden, NotFound
from aftersales.domain.i18n import N_
from aftersales.store import catalog as catalog_store


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: str | None = None  # account id, worker id, carrier code
    shop_id: int | None = None  # merchant accounts
    buyer_id: int | None = None  # buyers
    strategy: str | None = None  # automation strategy acting for a merchant (R6)
    account_id: int | None = None
    account_kind: AccountKind | None = None
    main: bool = True  # a shop's main account (R1.2); sub-accounts carry `permissions`
    # None: unrestricted (the main account, internal callers). A sub-account's grants.
    permissions: frozenset[Permission] | None = None
    # None: a login session or an internal caller. An API token's scopes.
    scopes: frozenset[Scope] | None = None

    @classmethod
    def buyer(cls, buyer_id: int, account_id: int | None = None) -> Actor:
        return cls(
            ActorKind.BUYER,
            f"buyer:{buyer_id}",
            buyer_id=buyer_id,
            account_id=account_id,
            account_kind=AccountKind.BUYER,
        )

    @classmethod
    def merchant(cls, shop_id: int, account: str = "main") -> Actor:
        return cls(
            ActorKind.MERCHANT,
            f"shop:{shop_id}:{account}",
            shop_id=shop_id,
            account_kind=AccountKind.MERCHANT,
        )

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(ActorKind.SYSTEM, name)

    @classmethod
    def carrier(cls, name: str = "carrier") -> Actor:
        return cls(ActorKind.CARRIER, name)

    @classmethod
    def platform(cls, agent: str) -> Actor:
        return cls(ActorKind.PLATFORM, agent, account_kind=AccountKind.AGENT)

    @property
    def is_admin(self) -> bool:
        return self.account_kind is AccountKind.ADMIN

    @property
    def is_internal(self) -> bool:
        """The system itself (``Actor.system``: the demo, the bench, a job), acting where no
        person does; no login or API token ever yields it."""
        return self.kind is ActorKind.SYSTEM and self.account_kind is None

    def has(self, permission: Permission) -> bool:
        if self.kind is not ActorKind.MERCHANT:
            return False
        return self.main or self.permissions is None or permission in self.permissions


def require_scope(actor: Actor, scope: Scope) -> None:
    """An API token acts only within its scopes."""
    if actor.scopes is not None and scope not in actor.scopes:
        raise Forbidden(
            "auth.scope_missing", N_("This API token lacks the {scope} scope."), scope=scope.value
        )


def require_permission(actor: Actor, permission: Permission) -> None:
    """R1.2: a sub-account acts only with what the main account granted."""
    if actor.kind is ActorKind.MERCHANT and not actor.has(permission):
        raise Forbidden(
            "auth.permission_missing",
            N_("This sub-account lacks the {permission} permission."),
            rule="R1.2",
            permission=permission.value,
        )


def require_kind(actor: Actor, *kinds: AccountKind) -> None:
    if actor.account_kind not in kinds:
        raise Forbidden("auth.not_allowed", N_("Your account may not do this."), rule="R1")


def can_see(actor: Actor, case: Case) -> bool:
    if actor.kind is ActorKind.BUYER:
        return case.buyer_id == actor.buyer_id
    if actor.kind is ActorKind.MERCHANT:
        return case.shop_id == actor.shop_id
    # Integrations push facts and do not read cases; platform agents and admins, the
    # carrier integration and the system see every case.
    return actor.account_kind is not AccountKind.SERVICE


def require_visible(actor: Actor, case: Case | None, number: str) -> Case:
    """A case the actor may not see answers exactly like one that does not exist."""
    if case is None or not can_see(actor, case):
        raise NotFound("case.not_found", N_("Case {number} not found."), number=number)
    return case


def require_case_access(actor: Actor, case: Case | None, number: str, *, write: bool) -> Case:
    """Visibility (404), then the token's scope and the sub-account's permission (403)."""
    case = require_visible(actor, case, number)
    if write:
        require_scope(actor, Scope.CASES_WRITE)
    else:
        require_case_reading(actor)
    require_permission(actor, Permission.HANDLE_AFTERSALES)
    return case


def require_configurer(actor: Actor) -> None:
    """R1.2/R6: a shop's automation (strategies, service hours, express refund, the
    warehouse secret) is configured by its main account, a sub-account granted
    configure_strategies (a token with shop:admin), or a platform admin."""
    if actor.kind is ActorKind.PLATFORM:
        if not actor.is_admin:
            raise Forbidden("auth.not_allowed", N_("Your account may not do this."), rule="R1")
        return
    require_permission(actor, Permission.CONFIGURE_STRATEGIES)
    require_scope(actor, Scope.SHOP_ADMIN)


def is_agent(actor: Actor) -> bool:
    """A platform agent or admin (not the system, a carrier or an integration)."""
    return actor.kind is ActorKind.PLATFORM and actor.account_kind in (
        AccountKind.AGENT,
        AccountKind.ADMIN,
    )


def is_staff(actor: Actor) -> bool:
    """Platform agents and admins, and internal callers (never an integration)."""
    if actor.kind is ActorKind.PLATFORM:
        return True
    return actor.kind is ActorKind.SYSTEM and actor.account_kind is not AccountKind.SERVICE


def is_marketplace_system(actor: Actor) -> bool:
    """The marketplace's own systems, which push orders, reviews and payments: a service
    account, a platform admin, or an internal caller (no account)."""
    return actor.is_internal or actor.account_kind in (AccountKind.SERVICE, AccountKind.ADMIN)


def owns_shop(actor: Actor, shop_id: int | None) -> bool:
    """One of the shop's own accounts (main or sub-account)."""
    return shop_id is not None and actor.kind is ActorKind.MERCHANT and actor.shop_id == shop_id


def sees_shop(actor: Actor, shop_id: int) -> bool:
    """The platform sees every shop, a shop's accounts their own, nobody else any."""
    return actor.kind is ActorKind.PLATFORM or owns_shop(actor, shop_id)


def shop_not_found(code: str) -> NotFound:
    """404 for a shop: one that does not exist and one hidden from the caller alike."""
    return NotFound("shop.not_found", N_("Shop {code} not found."), code=code)


def visible_shop(conn: Connection, actor: Actor, code: str) -> Any:
    """The shop row when the actor may see it (:func:`sees_shop`); else 404, as for a
    shop that does not exist."""
    row = catalog_store.shop_row_by_code(conn, code)
    if row is None or not sees_shop(actor, row.id):
        raise shop_not_found(code)
    return row


def reader_shop(conn: Connection, actor: Actor, shop_code: str | None) -> int | None:
    """Whose shop records (reports, review appeals) the actor lists: a platform agent
    any shop's (``shop_code``, or None: all), a shop's after-sales accounts their own
    (another shop's code: 404); anyone else is refused (403)."""
    if is_agent(actor):
        require_case_reading(actor)
        return visible_shop(conn, actor, shop_code).id if shop_code else None
    if actor.kind is not ActorKind.MERCHANT or actor.shop_id is None:
        raise Forbidden("auth.not_allowed", N_("Your account may not do this."), rule="R1")
    if shop_code is not None:
        visible_shop(conn, actor, shop_code)
    require_case_reading(actor)
    require_permission(actor, Permission.HANDLE_AFTERSALES)
    return actor.shop_id


def require_agent(actor: Actor) -> None:
    """R9-R12, R15: what only the platform's agents and admins do."""
    if not is_agent(actor):
        raise Forbidden(
            "intervention.platform_only", N_("Only a platform agent may do this."), rule="R9"
        )


def require_case_reading(actor: Actor) -> None:
    """`cases:read`, or `cases:write`: a token that may change cases may also read them
    (the answer to its own action, the list it works from)."""
    if actor.scopes is None or Scope.CASES_WRITE in actor.scopes:
        return
    require_scope(actor, Scope.CASES_READ)
