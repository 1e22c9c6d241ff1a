"""Login sessions (cookie + CSRF token) for the web UI; API tokens for integrations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path, Request, Response
from pydantic import BaseModel, Field

from aftersales.api.common import Int, Password, QueryInt, Text, password_field
from aftersales.api.common import router as make_router
from aftersales.api.deps import (
    SESSION_COOKIE,
    Auth,
    IdempotencyKey,
    MaybeAuth,
    ctx_of,
    respond,
)
from aftersales.api.v1.accounts import AccountOut, account_out
from aftersales.services import accounts

router = make_router("", "auth")


class LoginIn(BaseModel):
    login: Annotated[str, Text(120, min_length=1)]
    password: Password


class SessionOut(BaseModel):
    account: AccountOut
    csrf_token: str = Field(description="Send it as X-CSRF-Token on every change.")
    expires_at: datetime


@router.post("/auth/login", response_model=SessionOut)
def login(body: LoginIn, request: Request, response: Response) -> SessionOut:
    """Open a session: sets the HttpOnly session cookie and returns the CSRF token.
    Failed attempts are rate-limited per login and per address (429 with Retry-After)."""
    ctx = ctx_of(request)
    ip = request.client.host if request.client else "unknown"
    sess = accounts.login(ctx, body.login, body.password, ip=ip)
    response.set_cookie(
        SESSION_COOKIE,
        sess.token,
        httponly=True,
        samesite="lax",
        secure=ctx.settings.session_cookie_secure,
        max_age=ctx.settings.session_hours * 3600,
        path="/",
    )
    return SessionOut(
        account=account_out(sess.account), csrf_token=sess.csrf_token, expires_at=sess.expires_at
    )


class LoggedOut(BaseModel):
    logged_out: bool


@router.post("/auth/logout", response_model=LoggedOut, openapi_extra={"security": [{}]})
def logout(request: Request, response: Response, auth: MaybeAuth) -> LoggedOut:
    """End the current session (its cookie stops working at once)."""
    token = request.cookies.get(SESSION_COOKIE)
    if token and auth is not None and auth.csrf_token is not None:
        accounts.logout(ctx_of(request), token)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return LoggedOut(logged_out=auth is not None)


@router.get("/me", response_model=AccountOut)
def me(auth: Auth) -> AccountOut:
    """The account behind this session or token."""
    return account_out(auth.account)


class PasswordIn(BaseModel):
    current_password: Password
    new_password: Password = password_field()


@router.post("/me/password", response_model=LoggedOut)
def change_password(
    body: PasswordIn, request: Request, auth: Auth, idempotency_key: IdempotencyKey = None
) -> Response:
    """Change the password; every session of the account ends and every API token of the
    account is revoked (this one too, when a token makes the call). Tokens of other
    accounts, such as the marketplace's integrations, keep working."""

    def call() -> LoggedOut:
        accounts.change_password(
            ctx_of(request), auth.actor, body.current_password, body.new_password
        )
        return LoggedOut(logged_out=True)

    return respond(request, auth, idempotency_key, body, call)


# --------------------------------------------------------------------------- tokens
class TokenIn(BaseModel):
    name: Annotated[str, Text(120, min_length=1, blank=False)]
    scopes: list[Annotated[str, Text(40, min_length=1)]] = Field(min_length=1, max_length=10)
    expires_in_days: Annotated[int, Int(1, 3650)] | None = None


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked: bool
    token: str | None = Field(default=None, description="Shown once, when created.")


def token_out(t: accounts.TokenView) -> TokenOut:
    return TokenOut(
        id=t.id,
        name=t.name,
        prefix=t.prefix,
        scopes=t.scopes,
        created_at=t.created_at,
        expires_at=t.expires_at,
        revoked=t.revoked,
        token=t.token,
    )


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(request: Request, auth: Auth) -> list[TokenOut]:
    """The caller's API tokens (never their secrets)."""
    return [token_out(t) for t in accounts.list_tokens(ctx_of(request), auth.actor)]


@router.post("/tokens", response_model=TokenOut, status_code=201)
def create_token(
    body: TokenIn, request: Request, auth: Auth, idempotency_key: IdempotencyKey = None
) -> Response:
    """Create an API token for your own account, from a login session. Its secret is in
    this answer only; it is stored hashed."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: token_out(
            accounts.create_token(
                ctx_of(request),
                auth.actor,
                name=body.name,
                scopes=body.scopes,
                expires_in_days=body.expires_in_days,
            )
        ),
        status=201,
    )


TokenId = Annotated[int, QueryInt(1, 2**31 - 1), Path()]


@router.post("/tokens/{token_id}/revoke", response_model=TokenOut)
def revoke_token(
    token_id: TokenId, request: Request, auth: Auth, idempotency_key: IdempotencyKey = None
) -> Response:
    """Revoke a token: it stops working at once."""
    return respond(
        request,
        auth,
        idempotency_key,
        None,
        lambda: token_out(accounts.revoke_token(ctx_of(request), auth.actor, token_id)),
    )
