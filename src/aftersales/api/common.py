"""Shared pieces of the v1 routers."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter

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
