"""Accounts, login sessions and API tokens (R1).

Passwords are hashed with Argon2id. Session and API tokens are random secrets shown once
and stored only as SHA-256 hashes. Failed logins are rate-limited per login and per
address. Every change to an account or token is written to the append-only audit log.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from aftersales.domain.accounts import KIND_SCOPES, AccountKind, Permission, Scope, normalise_login
from aftersales.domain.case_types import ActorKind
from aftersales.domain.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthenticated,
    ValidationFailed,
)
from aftersales.domain.i18n import N_
from aftersales.i18n import LOCALES
from aftersales.services.actors import Actor, require_kind, require_scope, shop_not_found
from aftersales.services.context import Context
from aftersales.store import accounts as store
from aftersales.store import catalog as catalog_store

_hasher = PasswordHasher()  # argon2-cffi's default type is Argon2id
_DUMMY_HASH = _hasher.hash("not a password")  # verified when the login is unknown (timing)

TOKEN_PREFIX = "ast_"


def _sha(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AccountView:
    id: int
    login: str
    kind: AccountKind
    display_name: str
    shop_id: int | None
    shop_code: str | None
    buyer_id: int | None
    main: bool
    permissions: list[str]
    locale: str
    created_at: datetime
    disabled: bool


def _view(conn: Connection, row: Any, shop_code: str | None = None) -> AccountView:
    """The account as shown; ``shop_code`` when the caller read it with the row."""
    if shop_code is None and row.shop_id:
        shop = catalog_store.get_shop(conn, row.shop_id)
        shop_code = shop.code if shop else None
    main = row.main_shop_id is not None
    perms = sorted(p.value for p in Permission) if main else sorted(row.permissions)
    return AccountView(
        row.id,
        row.login,
        AccountKind(row.kind),
        row.display_name,
        row.shop_id,
        shop_code,
        row.buyer_id,
        main,
        perms,
        row.locale,
        row.created_at,
        row.disabled_at is not None,
    )


def actor_for(row: Any, scopes: Iterable[str] | None = None) -> Actor:
    """The principal an account (and, for a token, its scopes) acts as."""
    kind = AccountKind(row.kind)
    scope_set = frozenset(Scope(s) for s in scopes) if scopes is not None else None
    ident = f"account:{row.id}"
    common: dict[str, Any] = {
        "id": ident,
        "account_id": row.id,
        "account_kind": kind,
        "scopes": scope_set,
    }
    if kind is AccountKind.BUYER:
        return Actor(ActorKind.BUYER, buyer_id=row.buyer_id, **common)
    if kind is AccountKind.MERCHANT:
        main = row.main_shop_id is not None
        perms = None if main else frozenset(Permission(p) for p in row.permissions)
        return Actor(
            ActorKind.MERCHANT, shop_id=row.shop_id, main=main, permissions=perms, **common
        )
    if kind in (AccountKind.AGENT, AccountKind.ADMIN):
        return Actor(ActorKind.PLATFORM, **common)
    return Actor(ActorKind.SYSTEM, **common)


def _check_password(ctx: Context, password: str) -> None:
    if len(password) < ctx.settings.password_min_length:
        raise ValidationFailed(
            "account.password_short",
            N_("The password needs at least {min} characters."),
            field="password",
            min=ctx.settings.password_min_length,
        )


def _permissions(values: Iterable[str]) -> list[str]:
    out = []
    for v in values:
        try:
            out.append(Permission(v).value)
        except ValueError:
            raise ValidationFailed(
                "account.permission_unknown",
                N_("Unknown permission {permission}."),
                rule="R1.2",
                field="permissions",
                permission=v,
            ) from None
    return sorted(set(out))


# --------------------------------------------------------------------------- creating
def create_account(
    ctx: Context,
    by: Actor | None,
    *,
    kind: AccountKind,
    login: str,
    password: str | None,
    display_name: str = "",
    shop_code: str | None = None,
    buyer_ref: str | None = None,
    main: bool = False,
    permissions: Iterable[str] = (),
    locale: str = "zh_CN",
) -> AccountView:
    """Create an account. ``by`` None is the operator's CLI (bootstrap). Admins create any
    account; an integration with ``accounts:write`` provisions buyers; a shop's main
    account creates its sub-accounts (R1.2). Who may not create accounts at all is refused
    before the request is looked at."""
    if by is not None and not (by.is_admin or by.account_kind is AccountKind.SERVICE):
        if by.kind is ActorKind.BUYER and kind is AccountKind.MERCHANT:
            # A shop's accounts are not a buyer's to see (404, as for any hidden object).
            raise shop_not_found(shop_code or "")
        if by.kind is not ActorKind.MERCHANT:
            raise Forbidden("auth.not_allowed", N_("Your account may not do this."), rule="R1")
        _require_main(by)
    login = normalise_login(login)
    if not login or len(login) > 120:
        raise ValidationFailed(
            "account.login_invalid", N_("A login is 1 to 120 characters."), field="login"
        )
    if locale not in LOCALES:
        raise ValidationFailed(
            "account.locale_unknown", N_("Unknown locale {locale}."), field="locale", locale=locale
        )
    if kind is not AccountKind.SERVICE or password is not None:
        if password is None:
            raise ValidationFailed(
                "account.password_missing", N_("A password is required."), field="password"
            )
        _check_password(ctx, password)
    perms = _permissions(permissions)
    if kind is not AccountKind.MERCHANT and (perms or main):
        raise ValidationFailed(
            "account.permissions_merchant_only",
            N_("Only shop sub-accounts carry permissions."),
            rule="R1.2",
            field="permissions",
        )
    now = ctx.now()
    with ctx.db.write() as conn:
        shop_id = buyer_id = None
        if kind is AccountKind.MERCHANT:
            shop = catalog_store.get_shop_by_code(conn, shop_code or "")
            if shop is None:
                raise shop_not_found(shop_code or "")
            shop_id = shop.id
            if by is not None and not (by.kind is ActorKind.PLATFORM or by.shop_id == shop.id):
                raise shop_not_found(shop_code or "")
        if kind is AccountKind.BUYER:
            buyer_id = catalog_store.buyer_id_by_ref(conn, buyer_ref or "")
            if buyer_id is None:
                raise NotFound("buyer.not_found", N_("Buyer {ref} not found."), ref=buyer_ref or "")
        _authorize_create(by, kind, shop_id, main)
        try:
            with conn.begin_nested():
                account_id = store.insert_account(
                    conn,
                    login=login,
                    kind=kind.value,
                    display_name=display_name or login,
                    password_hash=_hasher.hash(password) if password is not None else None,
                    shop_id=shop_id,
                    main_shop_id=shop_id if main else None,
                    buyer_id=buyer_id,
                    permissions=[] if main else perms,
                    locale=locale,
                    created_at=now,
                )
        except IntegrityError:
            raise Conflict(
                "account.exists",
                N_("An account with this login, this buyer or this shop's main account exists."),
                rule="R1.2" if main else None,
                field="login",
            ) from None
        store.audit(
            conn,
            at=now,
            actor=by.id or "operator" if by else "operator",
            subject=f"account:{account_id}",
            action="created",
            kind=kind.value,
            main=main,
            permissions=perms,
        )
        return _view(conn, store.account_by_id(conn, account_id))


def _authorize_create(by: Actor | None, kind: AccountKind, shop_id: int | None, main: bool) -> None:
    if by is None or by.is_admin:
        if by is not None:
            require_scope(by, Scope.ACCOUNTS_WRITE)
        return
    if by.account_kind is AccountKind.SERVICE and kind is AccountKind.BUYER:
        require_scope(by, Scope.ACCOUNTS_WRITE)
        return
    if (
        by.kind is ActorKind.MERCHANT
        and kind is AccountKind.MERCHANT
        and not main
        and by.shop_id == shop_id
    ):
        _require_main(by)
        require_scope(by, Scope.SHOP_ADMIN)
        return
    raise Forbidden("auth.not_allowed", N_("Your account may not do this."), rule="R1")


def _require_main(actor: Actor) -> None:
    if actor.kind is not ActorKind.MERCHANT or not actor.main:
        raise Forbidden(
            "auth.main_account_only",
            N_("Only the shop's main account may do this."),
            rule="R1.2",
        )


def _visible_account(conn: Connection, actor: Actor, account_id: int) -> Any:
    """Self, a main account's own shop accounts, or anyone for an admin; else 404."""
    row = store.account_by_id(conn, account_id)
    visible = row is not None and (
        actor.account_id == account_id
        or actor.is_admin
        or (actor.kind is ActorKind.MERCHANT and actor.main and row.shop_id == actor.shop_id)
    )
    if not visible:
        raise NotFound("account.not_found", N_("Account {id} not found."), id=account_id)
    return row


def account_by_login(ctx: Context, actor: Actor, login: str) -> AccountView:
    """The account with this login, for the operator (the CLI, a system actor without an
    account) or a platform admin; anyone else, or an unknown login, gets 404."""
    operator = actor.kind is ActorKind.SYSTEM and actor.account_id is None
    with ctx.db.read() as conn:
        row = store.account_by_login(conn, login.strip().lower())
        if row is None or not (operator or actor.is_admin):
            raise NotFound("account.not_found", N_("Account {id} not found."), id=login)
        return _view(conn, row)


def get_account(ctx: Context, actor: Actor, account_id: int) -> AccountView:
    with ctx.db.read() as conn:
        return _view(conn, _visible_account(conn, actor, account_id))


def shop_accounts(ctx: Context, actor: Actor, shop_code: str) -> list[AccountView]:
    with ctx.db.read() as conn:
        shop = _shop_for_admin(conn, actor, shop_code)
        return [_view(conn, r) for r in store.accounts_of_shop(conn, shop.id)]


def _shop_for_admin(conn: Connection, actor: Actor, shop_code: str) -> Any:
    """A shop the actor administers: its main account or a platform admin."""
    shop = catalog_store.get_shop_by_code(conn, shop_code)
    if shop is None or not (actor.is_admin or actor.shop_id == shop.id):
        raise shop_not_found(shop_code)
    if not actor.is_admin:
        _require_main(actor)
    require_scope(actor, Scope.SHOP_ADMIN)
    return shop


def set_permissions(
    ctx: Context, actor: Actor, account_id: int, permissions: Iterable[str]
) -> AccountView:
    """R1.2: the main account grants (and takes back) a sub-account's permissions."""
    perms = _permissions(permissions)
    now = ctx.now()
    with ctx.db.write() as conn:
        row = _visible_account(conn, actor, account_id)
        if not actor.is_admin:
            _require_main(actor)
        require_scope(actor, Scope.SHOP_ADMIN)
        if row.kind != AccountKind.MERCHANT.value or row.main_shop_id is not None:
            raise ValidationFailed(
                "account.not_sub_account",
                N_("Permissions are granted to a shop's sub-accounts only."),
                rule="R1.2",
                field="account",
            )
        store.update_account(conn, account_id, permissions=perms)
        store.audit(
            conn,
            at=now,
            actor=actor.id or "",
            subject=f"account:{account_id}",
            action="permissions_set",
            before=sorted(row.permissions),
            after=perms,
        )
        return _view(conn, store.account_by_id(conn, account_id))


def disable_account(ctx: Context, actor: Actor, account_id: int) -> AccountView:
    """Disable a sub-account (main account) or any account (admin): its sessions and tokens
    stop working at once."""
    now = ctx.now()
    with ctx.db.write() as conn:
        row = _visible_account(conn, actor, account_id)
        if not actor.is_admin:
            _require_main(actor)
            if row.main_shop_id is not None:
                raise Forbidden(
                    "account.main_not_disabled",
                    N_("A shop's main account cannot disable itself."),
                    rule="R1.2",
                )
        require_scope(actor, Scope.SHOP_ADMIN if not actor.is_admin else Scope.ACCOUNTS_WRITE)
        if row.disabled_at is None:
            store.update_account(conn, account_id, disabled_at=now)
            store.revoke_sessions_of(conn, account_id, now)
            for tok in store.tokens_of(conn, account_id):
                store.revoke_token(conn, tok.id, now)
            store.audit(
                conn,
                at=now,
                actor=actor.id or "",
                subject=f"account:{account_id}",
                action="disabled",
            )
        return _view(conn, store.account_by_id(conn, account_id))


def change_password(ctx: Context, actor: Actor, current: str, new: str) -> None:
    """Change the caller's password. Whoever learnt the old one may have made sessions or
    tokens with it: every session of the account ends and every API token of the account
    (its personal tokens) is revoked, the one making this call included. Tokens of other
    accounts, such as the marketplace's integrations (service accounts), are untouched."""
    _check_password(ctx, new)
    now = ctx.now()
    with ctx.db.write() as conn:
        row = store.account_by_id(conn, actor.account_id or 0)
        if row is None or not _verify(row.password_hash, current):
            raise Unauthenticated("auth.bad_password", N_("The current password is wrong."))
        store.update_account(conn, row.id, password_hash=_hasher.hash(new))
        store.revoke_sessions_of(conn, row.id, now)
        tokens = store.tokens_of(conn, row.id)
        revoked = [t.id for t in tokens if store.revoke_token(conn, t.id, now)]
        store.audit(
            conn,
            at=now,
            actor=actor.id or "",
            subject=f"account:{row.id}",
            action="password_changed",
            tokens_revoked=revoked,
        )


# --------------------------------------------------------------------------- sessions
@dataclass(frozen=True, slots=True)
class Session:
    token: str  # shown once: the cookie value
    csrf_token: str
    expires_at: datetime
    account: AccountView


def _verify(hash_: str | None, password: str) -> bool:
    try:
        return _hasher.verify(hash_ or _DUMMY_HASH, password) and hash_ is not None
    except (VerificationError, InvalidHashError):
        return False


def login(ctx: Context, login_name: str, password: str, *, ip: str = "unknown") -> Session:
    """Open a session. Failed attempts are counted per login and per address; past the
    limit the caller waits (429) even with the right password."""
    login_name = normalise_login(login_name)[:120]
    s = ctx.settings
    now = ctx.now()
    since = now - timedelta(minutes=s.login_window_minutes)
    with ctx.db.write() as conn:
        by_login, by_ip = store.failures_since(conn, login=login_name, ip=ip, since=since)
        if by_login >= s.login_max_failures_per_login or by_ip >= s.login_max_failures_per_ip:
            oldest = store.oldest_failure_since(conn, login=login_name, ip=ip, since=since)
            wait = (oldest or now) + timedelta(minutes=s.login_window_minutes) - now
            raise TooManyRequests(
                "auth.too_many_attempts",
                N_("Too many failed logins; try again in {seconds} seconds."),
                seconds=max(1, int(wait.total_seconds())),
            )
        row = store.account_by_login(conn, login_name)
        ok = _verify(row.password_hash if row is not None else None, password)
        ok = ok and row is not None and row.disabled_at is None
        store.record_attempt(conn, login=login_name, ip=ip, at=now, success=ok)
    if not ok:  # the failed attempt above is committed
        raise Unauthenticated("auth.bad_login", N_("Wrong login or password."))
    assert row is not None
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    expires = now + timedelta(hours=s.session_hours)
    with ctx.db.write() as conn:
        store.insert_session(
            conn,
            token_hash=_sha(token),
            csrf_token=csrf,
            account_id=row.id,
            created_at=now,
            expires_at=expires,
            ip=ip[:64],
        )
        return Session(token, csrf, expires, _view(conn, row))


def logout(ctx: Context, token: str) -> None:
    with ctx.db.write() as conn:
        store.revoke_session(conn, _sha(token), ctx.now())


@dataclass(frozen=True, slots=True)
class Authenticated:
    actor: Actor
    account: AccountView
    csrf_token: str | None  # sessions only


def authenticate_session(ctx: Context, token: str) -> Authenticated:
    with ctx.db.read() as conn:
        sess = store.live_session(conn, _sha(token), ctx.now())
        row = store.account_by_id(conn, sess.account_id) if sess is not None else None
        if sess is None or row is None or row.disabled_at is not None:
            raise Unauthenticated(
                "auth.session_invalid", N_("Your session has ended; log in again.")
            )
        return Authenticated(actor_for(row), _view(conn, row), sess.csrf_token)


def authenticate_token(ctx: Context, token: str) -> Authenticated:
    """The principal of a live API token: one statement (token, account and its shop),
    checked on every request, so a revoked token or a disabled account is refused at
    once."""
    with ctx.db.read() as conn:
        row = (
            store.token_principal(conn, _sha(token), ctx.now())
            if token.startswith(TOKEN_PREFIX)
            else None
        )
        if row is None or row.disabled_at is not None:
            raise Unauthenticated("auth.token_invalid", N_("The API token is invalid or revoked."))
        return Authenticated(
            actor_for(row, row.token_scopes), _view(conn, row, row.shop_code), None
        )


# --------------------------------------------------------------------------- API tokens
@dataclass(frozen=True, slots=True)
class TokenView:
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked: bool
    token: str | None = None  # only in the answer that created it


def _token_view(row: Any, token: str | None = None) -> TokenView:
    return TokenView(
        row.id,
        row.name,
        row.prefix,
        list(row.scopes),
        row.created_at,
        row.expires_at,
        row.revoked_at is not None,
        token,
    )


def create_token(
    ctx: Context,
    actor: Actor,
    *,
    name: str,
    scopes: Iterable[str],
    expires_in_days: int | None = None,
    account_id: int | None = None,
) -> TokenView:
    """An API token for the actor's own account (or, for the CLI/admin, ``account_id``).
    Its scopes must be ones the account's kind may hold; a token cannot mint tokens."""
    if actor.scopes is not None:
        raise Forbidden("auth.token_cannot_mint", N_("Create API tokens from a login session."))
    target = account_id if account_id is not None else actor.account_id
    operator = actor.kind is ActorKind.SYSTEM and actor.account_id is None  # the CLI
    now = ctx.now()
    if not name.strip() or len(name) > 120:
        raise ValidationFailed(
            "token.name_invalid", N_("A token name is 1 to 120 characters."), field="name"
        )
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise ValidationFailed(
            "token.expiry_invalid", N_("A token lasts 1 to 3650 days."), field="expires_in_days"
        )
    with ctx.db.write() as conn:
        row = store.account_by_id(conn, target or 0)
        if row is None or (target != actor.account_id and not actor.is_admin and not operator):
            raise NotFound("account.not_found", N_("Account {id} not found."), id=target or 0)
        allowed = KIND_SCOPES[AccountKind(row.kind)]
        wanted: set[str] = set()
        for sc in scopes:
            try:
                scope = Scope(sc)
            except ValueError:
                scope = None
            if scope is None or scope not in allowed:
                raise ValidationFailed(
                    "token.scope_invalid",
                    N_("Scope {scope} is not available to this account."),
                    field="scopes",
                    scope=sc,
                )
            wanted.add(scope.value)
        if not wanted:
            raise ValidationFailed(
                "token.scope_missing", N_("Name at least one scope."), field="scopes"
            )
        prefix = secrets.token_hex(4)
        token = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        token_id = store.insert_token(
            conn,
            account_id=row.id,
            name=name.strip(),
            prefix=prefix,
            token_hash=_sha(token),
            scopes=sorted(wanted),
            created_at=now,
            expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
        )
        store.audit(
            conn,
            at=now,
            actor=actor.id or "operator",
            subject=f"account:{row.id}",
            action="token_created",
            token=token_id,
            scopes=sorted(wanted),
        )
        return _token_view(store.token_by_id(conn, token_id), token)


def list_tokens(ctx: Context, actor: Actor) -> list[TokenView]:
    with ctx.db.read() as conn:
        return [_token_view(r) for r in store.tokens_of(conn, actor.account_id or 0)]


def revoke_token(ctx: Context, actor: Actor, token_id: int) -> TokenView:
    """Revoke one of one's own tokens (an admin: anyone's; a main account: its shop's)."""
    now = ctx.now()
    with ctx.db.write() as conn:
        tok = store.token_by_id(conn, token_id)
        owner = store.account_by_id(conn, tok.account_id) if tok is not None else None
        visible = owner is not None and (
            owner.id == actor.account_id
            or actor.is_admin
            or (actor.kind is ActorKind.MERCHANT and actor.main and owner.shop_id == actor.shop_id)
        )
        if not visible or tok is None:
            raise NotFound("token.not_found", N_("API token {id} not found."), id=token_id)
        if store.revoke_token(conn, token_id, now):
            store.audit(
                conn,
                at=now,
                actor=actor.id or "",
                subject=f"account:{tok.account_id}",
                action="token_revoked",
                token=token_id,
            )
        return _token_view(store.token_by_id(conn, token_id))


__all__ = [
    "AccountView",
    "Authenticated",
    "Session",
    "TokenView",
    "actor_for",
    "authenticate_session",
    "authenticate_token",
    "change_password",
    "create_account",
    "create_token",
    "disable_account",
    "get_account",
    "list_tokens",
    "login",
    "logout",
    "require_kind",
    "revoke_token",
    "set_permissions",
    "shop_accounts",
]
