"""Schemathesis hooks for the live run (tests/api/test_schemathesis_live.py), loaded by the
CLI through SCHEMATHESIS_HOOKS.

A generated Idempotency-Key repeats across cases ("0"), and the same key with another
body is refused (422 idempotency.key_reused) by design: a valid key is made unique per
request, an invalid one is left for the negative tests.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import schemathesis

_VALID_KEY = re.compile(r"[!-~]{1,255}")


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and _VALID_KEY.fullmatch(key):
        case.headers["Idempotency-Key"] = f"live-{uuid.uuid4().hex}"
