"""What every route needs: the context, the caller, and idempotent POST responses.

Callers authenticate with a bearer API token (``Authorization: Bearer ast_...``) or the
session cookie set by ``POST /api/v1/auth/login``. A cookie-authenticated request that
changes something must carry the session's CSRF token in ``X-CSRF-Token`` (a token
request needs none: browsers never attach it on their own).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from aftersales.api import problems
from aftersales.api.common import Text
from aftersales.domain.errors import DomainError, Forbidden, Unauthenticated
from aftersales.domain.i18n import N_
from aftersales.services import accounts, idempotency
from aftersales.services.accounts import Authenticated
from aftersales.services.actors import Actor
from aftersales.services.context import Context

SESSION_COOKIE = "aftersales_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer_scheme = HTTPBearer(
    auto_error=False, scheme_name="token", description="An API token: `ast_...`"
)
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session",
    description="The session cookie from POST /api/v1/auth/login (send X-CSRF-Token too).",
)


def ctx_of(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def _authenticate(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None,
    cookie: str | None,
) -> Authenticated | None:
    ctx = ctx_of(request)
    if request.headers.get("authorization"):
        if bearer is None or bearer.scheme.lower() != "bearer":
            raise Unauthenticated("auth.token_invalid", N_("The API token is invalid or revoked."))
        return accounts.authenticate_token(ctx, bearer.credentials)
    if cookie:
        auth = accounts.authenticate_session(ctx, cookie)
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            # As bytes: compare_digest refuses str with non-ASCII characters (a header
            # may carry any Latin-1 byte).
            if not (
                auth.csrf_token and secrets.compare_digest(sent.encode(), auth.csrf_token.encode())
            ):
                raise Forbidden(
                    "auth.csrf_failed",
                    N_("The X-CSRF-Token header is missing or wrong for this session."),
                )
        return auth
    return None


def _no_credentials() -> Unauthenticated:
    return Unauthenticated("auth.required", N_("Log in or send an API token to use this endpoint."))


def _has_credentials(request: Request, cookie: str | None) -> bool:
    return bool(request.headers.get("authorization") or cookie)


def optional_auth(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)] = None,
    cookie: Annotated[str | None, Security(cookie_scheme)] = None,
) -> Authenticated | None:
    return _authenticate(request, bearer, cookie)


def authenticate(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None,
    cookie: str | None,
) -> Authenticated:
    """The caller, checked now (401 without credentials)."""
    auth = _authenticate(request, bearer, cookie)
    if auth is None:
        raise _no_credentials()
    return auth


class PendingAuth:
    """The credentials of a POST, checked by :func:`respond` in the request's first
    transaction (the one claiming its Idempotency-Key, or the one making its effect), in
    the thread that then runs the request, so no transaction waits across a thread hop.
    A request with no credentials at all is refused at once (401)."""

    def __init__(
        self,
        request: Request,
        bearer: HTTPAuthorizationCredentials | None,
        cookie: str | None,
    ) -> None:
        self._args = (request, bearer, cookie)
        self._auth: Authenticated | None = None

    def resolve(self) -> Authenticated:
        if self._auth is None:
            auth = _authenticate(*self._args)
            if auth is None:  # pragma: no cover - refused before: no credentials
                raise _no_credentials()
            self._auth = auth
            self._args[0].state.authenticated = True  # see refused_credentials
        return self._auth

    @property
    def actor(self) -> Actor:
        return self.resolve().actor

    @property
    def account(self) -> accounts.AccountView:
        return self.resolve().account

    @property
    def csrf_token(self) -> str | None:
        return self.resolve().csrf_token


def require_auth(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)] = None,
    cookie: Annotated[str | None, Security(cookie_scheme)] = None,
) -> Authenticated | PendingAuth:
    """The caller. A read (GET, HEAD) is authenticated here; a request that changes
    something is authenticated by :func:`respond` in the request's one transaction (with an
    Idempotency-Key, the one that claims the key; without, the one that makes the effect),
    or on first use of ``.actor`` by a route that answers without ``respond``. A request
    with no credentials at all is refused here (401)."""
    if request.method in SAFE_METHODS:
        return authenticate(request, bearer, cookie)
    if not _has_credentials(request, cookie):
        raise _no_credentials()
    return PendingAuth(request, bearer, cookie)


def _needs_auth(dependant: Dependant) -> bool:
    return any(d.call is require_auth or _needs_auth(d) for d in dependant.dependencies)


async def refused_credentials(request: Request) -> DomainError | None:
    """What a request's credentials earn, for a write refused before they were checked
    (its body is read before its credentials, which are checked in its transaction): a
    caller with a wrong token or session, or none, on a route that needs one, learns that
    first (401, or 403 for a missing CSRF token), not what its body lacks. None when the
    credentials are good, already checked, or the route takes none."""
    route = request.scope.get("route")
    dependant: Dependant | None = getattr(route, "dependant", None)
    if request.method in SAFE_METHODS or dependant is None:
        return None
    if getattr(request.state, "authenticated", False) or not _needs_auth(dependant):
        return None
    bearer = await bearer_scheme(request)
    cookie = await cookie_scheme(request)
    if not _has_credentials(request, cookie):
        return _no_credentials()
    try:
        await run_in_threadpool(_authenticate, request, bearer, cookie)
    except (Unauthenticated, Forbidden) as exc:
        return exc
    return None


Auth = Annotated[Authenticated, Depends(require_auth)]
"""Who is calling (see :func:`require_auth`: a write is authenticated in its transaction)."""
MaybeAuth = Annotated[Authenticated | None, Depends(optional_auth)]
Ctx = Annotated[Context, Depends(ctx_of)]

IdempotencyKey = Annotated[
    Annotated[str, Text(255, min_length=1, pattern=r"^[!-~]{1,255}$")] | None,
    Header(
        alias="Idempotency-Key",
        description=(
            "Makes a retry safe: the first result is stored and replayed for 24 hours; "
            "the same key with other parameters is refused (422); while the first request "
            "runs, another with the key gets 409 (or, on SQLite, waits for its answer)."
        ),
    ),
]


def actor(auth: Authenticated) -> Actor:
    return auth.actor


def _json(value: Any) -> str:
    return json.dumps(jsonable_encoder(value), ensure_ascii=False)


def respond(
    request: Request,
    auth: Authenticated | PendingAuth | None,
    key: str | None,
    payload: BaseModel | None,
    call: Callable[[], Any],
    *,
    status: int = 200,
) -> Response:
    """Run a POST's service call; with an Idempotency-Key, at most once per key."""
    ctx = ctx_of(request)

    def run() -> tuple[int, str]:
        return status, _json(call())

    if key is None:
        # Authentication, the effect and its answer: one transaction.
        with ctx.db.transaction():
            if isinstance(auth, PendingAuth):
                auth.resolve()
            code, text = run()
        return Response(text, status_code=code, media_type="application/json")
    locale = problems.locale_of(request)
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")

    def final(exc: BaseException) -> tuple[int, str] | None:
        if isinstance(exc, DomainError):
            body = problems.problem_body(exc, locale, request.url.path)
            return int(body["status"]), problems.dumps(body)
        return None

    body = payload.model_dump_json() if payload is not None else ""

    def principal() -> str:
        # A pending caller is authenticated here, in the request's one transaction.
        return f"account:{auth.account.id}" if auth is not None else "anonymous"

    code, text, replayed = idempotency.run(
        ctx,
        principal,
        key,
        request.method,
        path,
        body,
        run,
        is_final_error=final,
    )
    media = "application/json" if code < 400 else problems.MEDIA_TYPE
    resp = Response(text, status_code=code, media_type=media)
    if replayed:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp
