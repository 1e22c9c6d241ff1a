"""RFC 9457 problem details: every error the API returns, in the caller's language.

``type`` is a stable URI built from the error code (``/problems/<code>``); ``code`` repeats
it in short; ``rule`` names the rulebook clause that refused the action; validation errors
list each bad field in ``errors``. Nothing escapes as a bare 500: an unexpected exception
is logged and answered with a problem document.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from aftersales.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    IllegalTransition,
    NotFound,
    TooManyRequests,
    Unauthenticated,
    ValidationFailed,
)
from aftersales.domain.i18n import N_
from aftersales.i18n import error_message, normalise_locale, translate

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://aftersales.dev/problems/"


class UnsupportedMediaType(ValidationFailed):
    """The body is in a format the API does not read (a charset other than UTF-8)."""


class FieldError(BaseModel):
    field: str = Field(description="Where: body.amount, query.limit, header.Idempotency-Key")
    code: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    rule: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None
    retry_after: int | None = None


STATUS = {
    UnsupportedMediaType: 415,
    NotFound: 404,
    Forbidden: 403,
    Unauthenticated: 401,
    TooManyRequests: 429,
    Conflict: 409,
    IllegalTransition: 409,
    ValidationFailed: 422,
}

TITLES = {
    400: N_("Bad request"),
    401: N_("Not authenticated"),
    403: N_("Forbidden"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    413: N_("Request too large"),
    415: N_("Unsupported media type"),
    422: N_("Invalid request"),
    429: N_("Too many requests"),
    500: N_("Internal error"),
}


def locale_of(request: Request) -> str:
    """The caller's language from Accept-Language (zh_CN or en; zh_CN by default)."""
    header = request.headers.get("accept-language", "")
    best: tuple[float, str] | None = None
    for part in header.split(","):
        bits = part.strip().split(";")
        tag = bits[0].strip()
        if not tag:
            continue
        q = 1.0
        for b in bits[1:]:
            b = b.strip()
            if b.startswith("q="):
                try:
                    q = float(b[2:])
                except ValueError:
                    q = 0.0
        lang = tag.lower()
        if lang.startswith(("zh", "en")) and (best is None or q > best[0]):
            best = (q, normalise_locale(tag))
    if best is not None:
        return best[1]
    return str(getattr(request.app.state, "default_locale", "zh_CN"))


def status_of(exc: DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def problem_body(exc: DomainError, locale: str, instance: str | None = None) -> dict[str, Any]:
    status = status_of(exc)
    body: dict[str, Any] = {
        "type": TYPE_BASE + exc.code,
        "title": translate(TITLES.get(status, TITLES[400]), locale),
        "status": status,
        "detail": error_message(exc, locale),
        "code": exc.code,
        "rule": exc.rule,
        "instance": instance,
    }
    field = exc.params.get("field")
    if isinstance(field, str):
        body["errors"] = [{"field": field, "code": exc.code, "message": body["detail"]}]
    if isinstance(exc, TooManyRequests):
        body["retry_after"] = exc.params.get("seconds")
    return body


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    clean = {k: v for k, v in body.items() if v is not None}
    hdrs = dict(headers or {})
    if body.get("retry_after"):
        hdrs["Retry-After"] = str(body["retry_after"])
    return JSONResponse(clean, status_code=int(body["status"]), media_type=MEDIA_TYPE, headers=hdrs)


def render(exc: DomainError, request: Request) -> JSONResponse:
    return problem_response(problem_body(exc, locale_of(request), request.url.path))


def dumps(body: dict[str, Any]) -> str:
    return json.dumps(  # byte for byte what JSONResponse sends, so a replay is identical
        {k: v for k, v in body.items() if v is not None}, ensure_ascii=False, separators=(",", ":")
    )


# FastAPI/Pydantic validation messages, as message ids we translate.
_VALIDATION = {
    "missing": N_("This field is required."),
    "extra_forbidden": N_("This field is not allowed."),
    "json_invalid": N_("The body is not valid JSON."),
    "int_type": N_("Expected an integer."),
    "int_parsing": N_("Expected an integer."),
    "int_from_float": N_("Expected an integer."),
    "int_parsing_size": N_("The value is too large."),
    "string_type": N_("Expected a string."),
    "bool_type": N_("Expected true or false."),
    "bool_parsing": N_("Expected true or false."),
    "enum": N_("Not one of the allowed values."),
    "literal_error": N_("Not one of the allowed values."),
    "datetime_type": N_("Expected a date-time with a time zone."),
    "datetime_parsing": N_("Expected a date-time with a time zone."),
    "timezone_aware": N_("Expected a date-time with a time zone."),
    "greater_than": N_("The value is too small."),
    "greater_than_equal": N_("The value is too small."),
    "less_than": N_("The value is too large."),
    "less_than_equal": N_("The value is too large."),
    "string_too_short": N_("The text is too short."),
    "string_too_long": N_("The text is too long."),
    "too_short": N_("Too few items."),
    "too_long": N_("Too many items."),
    "list_type": N_("Expected a list."),
    "dict_type": N_("Expected an object."),
    "model_attributes_type": N_("Expected an object."),
    "model_type": N_("Expected an object."),
    "string_pattern_mismatch": N_("The text has the wrong format."),
    "value_error": N_("The value is not valid."),
    # aftersales.api.common: text, integers and times
    "text_control_character": N_(
        "Control characters (such as NUL) are not allowed: {character} at character {position}."
    ),
    "text_line_break": N_(
        "This field is a single line: no line breaks or tabs ({character} at character {position})."
    ),
    "text_surrogate": N_("The text is not valid Unicode (it contains a lone surrogate)."),
    "string_unicode": N_("The text is not valid Unicode (it contains a lone surrogate)."),
    "text_blank": N_("The text must contain a visible character."),
    "datetime_rfc3339": N_(
        "Expected an RFC 3339 date-time with a time zone, e.g. 2026-11-20T10:00:00+08:00."
    ),
    "datetime_range": N_("The date-time is out of range."),
    "date_rfc3339": N_("Expected a date as YYYY-MM-DD."),
    "date_type": N_("Expected a date as YYYY-MM-DD."),
    "date_parsing": N_("Expected a date as YYYY-MM-DD."),
    "date_from_datetime_parsing": N_("Expected a date as YYYY-MM-DD."),
}


def _validation_message(kind: str, ctx: Any, locale: str) -> str:
    """The message for one validation error; placeholders come from the error's context."""
    fallback = _VALIDATION["value_error"]
    message = _VALIDATION.get(kind, fallback)
    params = ctx if isinstance(ctx, dict) else {}
    try:
        return translate(message, locale, **params)
    except (KeyError, IndexError, ValueError):  # a context without the message's values
        return translate(fallback, locale)


def _field_name(loc: tuple[Any, ...], kind: str) -> str:
    if kind == "json_invalid":  # FastAPI names the byte offset: ("body", 23)
        return "body"
    return ".".join(str(p) for p in loc) or "body"


def _allowed_methods(request: Request) -> list[str]:
    """Every method any route serves on this path (Starlette names only the first route's)."""
    methods: set[str] = set()

    def walk(routes: Any) -> None:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                walk(inner.routes)
                continue
            path_match = getattr(route, "path_regex", None)
            if path_match is not None and path_match.match(request.url.path):
                methods.update(getattr(route, "methods", None) or ())

    walk(request.app.routes)
    return sorted(methods)


def _body(
    request: Request, status: int, code: str, detail: str, locale: str, **more: Any
) -> dict[str, Any]:
    """A problem document of a refusal that is not a DomainError."""
    return {
        "type": TYPE_BASE + code,
        "title": translate(TITLES.get(status, TITLES[400]), locale),
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
        **more,
    }


CredentialsCheck = Callable[[Request], Awaitable[DomainError | None]]


def install(app: FastAPI, credentials: CredentialsCheck) -> None:
    """The problem handlers. ``credentials``: what a request's credentials earn when its
    input is refused before they were checked (401 comes before 422 and 415)."""

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        if isinstance(exc, ValidationFailed | UnsupportedMediaType):
            exc = await credentials(request) or exc
        return render(exc, request)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = await credentials(request)
        if first is not None:
            return render(first, request)
        locale = locale_of(request)
        errors = []
        for err in exc.errors():
            kind = str(err.get("type", "value_error"))
            errors.append(
                {
                    "field": _field_name(tuple(err.get("loc", ())), kind),
                    "code": kind,
                    "message": _validation_message(kind, err.get("ctx"), locale),
                }
            )
        fields = ", ".join(e["field"] for e in errors[:5])
        detail = translate(N_("Invalid request: {fields}."), locale, fields=fields)
        return problem_response(
            _body(request, 422, "request.invalid", detail, locale, errors=errors)
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        locale = locale_of(request)
        status = exc.status_code
        code = {404: "route.not_found", 405: "method.not_allowed"}.get(status, f"http.{status}")
        detail = translate(TITLES.get(status, TITLES[400]), locale)
        if status == 404:
            detail = translate(N_("No such resource."), locale)
        body = _body(request, status, code, detail, locale)
        headers = dict(exc.headers or {})
        if status == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return problem_response(body, headers)

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, exc: ClientDisconnect) -> JSONResponse:
        # The caller closed its connection before its body was complete: nothing was
        # changed (the body is read before any effect) and no one is left to read this.
        log.info(
            "client closed %s %s before its body was complete", request.method, request.url.path
        )
        locale = locale_of(request)
        detail = translate(
            N_("The request ended before its body was complete; nothing was changed."), locale
        )
        return problem_response(_body(request, 400, "request.incomplete", detail, locale))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        locale = locale_of(request)
        detail = translate(N_("Something went wrong on our side; nothing was changed."), locale)
        return problem_response(_body(request, 500, "internal", detail, locale))
