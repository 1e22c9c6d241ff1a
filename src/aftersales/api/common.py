"""Shared pieces of the v1 routers."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import AwareDatetime, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from aftersales.api.problems import Problem
from aftersales.domain.errors import ValidationFailed
from aftersales.domain.i18n import N_

_DESCRIPTIONS = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden: the caller may see the object but not do this",
    404: "Not found (or not visible to the caller)",
    409: "Conflict: the state machine, a stale version or an in-flight Idempotency-Key",
    422: "Invalid request: `errors` names each field",
    429: "Too many requests",
}

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "description": text} for code, text in _DESCRIPTIONS.items()
}


_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)\s*")


def _iso_only(value: Any) -> Any:
    """A date-time is ISO 8601 text. Pydantic's lax mode would read a number (or numeric
    text) as a Unix timestamp; the schema says `format: date-time`, so refuse it."""
    if (isinstance(value, int | float) and not isinstance(value, bool)) or (
        isinstance(value, str) and _NUMBER.fullmatch(value)
    ):
        raise PydanticCustomError("datetime_type", "expected an ISO 8601 date-time")
    return value


Moment = Annotated[AwareDatetime, BeforeValidator(_iso_only)]
"""Every date-time the API accepts: ISO 8601 with a time zone, never a number."""


def router(prefix: str, tag: str) -> APIRouter:
    return APIRouter(prefix=f"/api/v1{prefix}", tags=[tag], responses=ERRORS)


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(
        [v.isoformat() if isinstance(v, datetime) else v for v in values], separators=(",", ":")
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != size:
            raise ValueError
        return values
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed(
            "cursor.invalid",
            N_("The cursor is not one this API returned."),
            field="cursor",
        ) from None


NEW_PASSWORD_MARK = "x-new-password"


def password_field(**kw: Any) -> Any:
    """A password being set. The deployment's minimum length is checked by the service and
    stated in the served schema (`create_app` rewrites the marked fields)."""
    return Field(min_length=1, max_length=200, json_schema_extra={NEW_PASSWORD_MARK: True}, **kw)
