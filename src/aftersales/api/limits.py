"""Request body limit: a pure ASGI middleware in front of routing, body
parsing and authentication.

A request body may carry at most ``AFTERSALES_MAX_BODY_BYTES`` (1 MiB by default). A
declared ``Content-Length`` above the limit is refused at once, before a byte of the body
is read; a body without one (``Transfer-Encoding: chunked``) is counted as it arrives and
refused the moment it passes the limit. The refusal is a 413 problem document
(``request.too_large``, naming the limit) in the caller's language; whatever the
application would have answered to the cut-off body is dropped. At most one limit's worth
of body is ever held, so one request cannot grow the process by more than that.

The evidence upload (``POST /api/v1/cases/{number}/evidence``) is exempt from this JSON
limit, not from a limit: it streams its multipart body itself with the larger caps of
each file type (docs/evidence.md).

Starlette's ``RequestBodyLimitMiddleware`` does the counting too, but answers in plain
text or through the generic HTTP error path, so its 413 would not be our problem document
naming the limit; the little counting here is kept instead.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aftersales.api import problems
from aftersales.api.v1.evidence import UPLOAD_PATH
from aftersales.domain.i18n import N_
from aftersales.i18n import translate

CODE = "request.too_large"


class _TooLarge(Exception):
    """Raised into the application's ``receive`` once the body passed the limit."""


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


def _exempt(scope: Scope) -> bool:
    return (
        scope.get("method") == "POST" and UPLOAD_PATH.fullmatch(scope.get("path", "")) is not None
    )


def _limit(scope: Scope) -> int:
    return int(scope["app"].state.ctx.settings.max_body_bytes)


def problem(scope: Scope, limit: int) -> dict[str, Any]:
    locale = problems.locale_of(Request(scope))
    detail = translate(
        N_("The request body is larger than {max} bytes, the most this server accepts."),
        locale,
        max=limit,
    )
    return {
        "type": problems.TYPE_BASE + CODE,
        "title": translate(problems.TITLES[413], locale),
        "status": 413,
        "detail": detail,
        "code": CODE,
        "instance": scope.get("path"),
        "errors": [{"field": "body", "code": CODE, "message": detail}],
    }


class BodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _exempt(scope):
            await self.app(scope, receive, send)
            return
        limit = _limit(scope)
        declared = _declared_length(scope)

        async def refuse() -> None:
            await problems.problem_response(problem(scope, limit))(scope, receive, send)

        if declared is not None and declared > limit:
            await refuse()
            return
        received = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if not started and not refused:
                        refused = True
                        await refuse()
                    raise _TooLarge
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the application's answer to a body it never fully got
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except _TooLarge:
            if not refused:
                raise
