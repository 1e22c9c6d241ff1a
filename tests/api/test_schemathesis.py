"""Schemathesis over the OpenAPI schema, in-process, with every default check: no server
error, every status code, content type, header and body as documented, schema-valid
data accepted, invalid data rejected, credentials enforced.

Each operation is fuzzed as the platform admin (gets past most function-level checks) on
SQLite and PostgreSQL, and as buyer A (refused most things) on SQLite (runtime budget),
with a deterministic Hypothesis configuration (``derandomize``) so CI runs repeat.

Checks are configured, per named operation only, where they cannot hold by design:

* ``positive_data_acceptance`` also accepts 422 where a valid-looking request breaks a
  domain rule a JSON Schema cannot state (a password shorter than the deployment's
  minimum, a cursor the API never issued, a statistics period over 366 days).
* ``negative_data_rejection`` is off for ``GET /api/v1/cases``: its nullable query
  strings cannot be made invalid in a query string (an "array" mutation arrives as the
  valid string ``false``); the tests at the bottom check its real refusals by hand.

Schemathesis's ``pytest.from_fixture`` cannot run under pytest 9.2 (it sets the removed
``Node._nodeid``), so the schema is loaded at import from an app bound to no database
and every request is forwarded (``CurrentApp``) to the app of the world under test.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings

from aftersales.api.app import create_app
from aftersales.domain.accounts import AccountKind
from aftersales.store.db import Database
from tests.api.support import (
    ADMIN,
    ANONYMOUS,
    BUYER_A,
    ApiWorld,
    fresh_headers,
)
from tests.conftest import FakeClock, make_context, storage_free

MAX_EXAMPLES = 20


class CurrentApp:
    """The ASGI app the schema is bound to: it forwards every request to the app of the
    world under test (one world per database; the schema is loaded once, at import)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # the world's TestClient runs the real lifespan
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await self.app(scope, receive, send)


def _schema_only_app() -> FastAPI:
    """Serves the OpenAPI document; never reaches its (unmigrated, in-memory) database."""
    clock = FakeClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    ctx = make_context(Database("sqlite://"), clock)
    return create_app(ctx, embedded_worker=False, embedded_dispatcher=False)


APP = CurrentApp(_schema_only_app())
MULTI_METHOD_PATHS = sorted(
    path for path, item in APP.app.openapi()["paths"].items() if len(item) > 1
)
ACCEPTS_422 = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]
CONFIG = f"""
[generation]
max-examples = {MAX_EXAMPLES}

# A cursor is opaque: only one the API returned is valid.
[[operations]]
include-name = ["GET /api/v1/cases", "GET /api/v1/webhooks/endpoints/{{endpoint_id}}/deliveries"]
checks.positive_data_acceptance.expected-statuses = {ACCEPTS_422}

# A nullable string in the query (`buyer_name`, `order_number`) cannot be made invalid in
# a query string: schemathesis's "array instead of string" mutation serializes as
# `buyer_name=false`, a valid string, and is then reported as accepted negative data.
[[operations]]
include-name = ["GET /api/v1/cases"]
checks.negative_data_rejection.enabled = false

# Evidence: the file's sniffed type, its extension and its declared Content-Type must
# agree (docs/evidence.md), which a JSON Schema cannot state.
[[operations]]
include-name = ["POST /api/v1/cases/{{number}}/evidence"]
checks.positive_data_acceptance.expected-statuses = {ACCEPTS_422}

# R4.4/R5.5: a refusal rests on evidence items the shop added to this case.
[[operations]]
include-name = [
    "POST /api/v1/cases/{{number}}/reject",
    "POST /api/v1/cases/{{number}}/refuse-refund",
]
checks.positive_data_acceptance.expected-statuses = {ACCEPTS_422}

# A statistics period is at most 366 days: a rule across `from` and `to`.
[[operations]]
include-name = ["GET /api/v1/shops/{{code}}/message-stats"]
checks.positive_data_acceptance.expected-statuses = {ACCEPTS_422}
"""
schema = schemathesis.openapi.from_asgi(
    "/api/openapi.json", APP, config=schemathesis.Config.from_str(CONFIG)
)
_keys = itertools.count(1)


@pytest.fixture(scope="module")
def world(shared_world: ApiWorld) -> ApiWorld:
    """The module's world on each database (the fuzzer's writes accumulate), the app the
    schema's cases are sent to."""
    APP.app = shared_world.app
    return shared_world


FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


def _fuzz(case: schemathesis.Case, world: ApiWorld, principal: str) -> None:
    # A key the fuzzer reuses with other parameters is refused (422) by design: keep the
    # header, make each key unique.
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = f"fuzz-{next(_keys)}"
    case.call_and_validate(headers=world.headers(principal))


@schema.parametrize()
@FUZZ
def test_api_conforms_to_its_schema(case: schemathesis.Case, world: ApiWorld) -> None:
    _fuzz(case, world, ADMIN)


@schema.parametrize()
@storage_free("shared_world")  # runtime budget: buyer A (refused most things) on SQLite only
@FUZZ
def test_api_conforms_to_its_schema_as_a_buyer(case: schemathesis.Case, world: ApiWorld) -> None:
    _fuzz(case, world, BUYER_A)


# --------------------------------------------------------------------------- app bugs
@storage_free("shared_world")  # routing, parsing and the served schema
def test_405_allow_header_lists_every_method_of_the_path(world: ApiWorld) -> None:
    """RFC 9110 §15.5.6: a 405 lists the target resource's methods in `Allow`."""
    paths = APP.app.openapi()["paths"]
    wrong = {}
    for path in MULTI_METHOD_PATHS:
        concrete = path.format(
            code="SHOPX",
            number=world.case_a,
            account_id=1,
            endpoint_id=1,
            token_id=1,
            evidence_id=1,
        )
        resp = world.call(ADMIN, "DELETE", concrete)
        assert resp.status_code == 405, (path, resp.text)
        allowed = {m.strip() for m in resp.headers.get("allow", "").split(",")}
        if allowed != {m.upper() for m in paths[path]}:
            wrong[path] = resp.headers.get("allow")
    assert not wrong, wrong


@storage_free("shared_world")  # routing, parsing and the served schema
def test_logout_declares_its_credentials_optional(world: ApiWorld) -> None:
    """Logout answers anyone (200, logged_out false without a session), so its schema must
    not claim credentials are required (schemathesis's ignored_auth check)."""
    assert world.call(ANONYMOUS, "POST", "/api/v1/auth/logout").status_code == 200
    security = APP.app.openapi()["paths"]["/api/v1/auth/logout"]["post"].get("security", [])
    assert {} in security, security


@storage_free("shared_world")  # routing, parsing and the served schema
def test_date_time_inputs_reject_numbers(world: ApiWorld) -> None:
    """The schema says `format: date-time`; "0.5" and 0.5 are not date-times (Pydantic's
    lax mode would read them as Unix timestamps)."""
    admin = fresh_headers(world, AccountKind.ADMIN)
    service = fresh_headers(world, AccountKind.SERVICE)
    for query in ("created_to=0.5", "created_from=1700000000", "created_to=%2B5"):
        resp = world.call(ANONYMOUS, "GET", f"/api/v1/cases?{query}", headers=admin)
        assert resp.status_code == 422, (query, resp.text)
        assert [e["field"] for e in resp.json()["errors"]][-1].endswith(query.split("=")[0])
    for moment in (0.5, 1_700_000_000, "1700000000"):
        resp = world.call(
            ANONYMOUS,
            "POST",
            f"/api/v1/orders/{world.order_a}/fulfilment",
            {"shipped_at": moment},
            headers=service,
        )
        assert resp.status_code == 422, (moment, resp.text)
    ok = world.call(
        ANONYMOUS, "GET", "/api/v1/cases?created_to=2026-11-20T02:00:00%2B00:00", headers=admin
    )
    assert ok.status_code == 200, ok.text


@storage_free("shared_world")  # routing, parsing and the served schema
def test_schema_states_the_deployments_password_minimum(world: ApiWorld) -> None:
    """A new password shorter than `password_min_length` is refused, and the served schema
    says so, for every field that sets a password (and not for the login form)."""
    minimum = world.ctx.settings.password_min_length
    schemas = APP.app.openapi()["components"]["schemas"]
    new_passwords = []
    for name, model in schemas.items():
        for field, prop in model.get("properties", {}).items():
            if "password" in field:
                lengths = {v.get("minLength") for v in [prop, *prop.get("anyOf", [])]} - {None}
                new_passwords.append((name, field, lengths))
    setting = {(n, f) for n, f, lengths in new_passwords if lengths == {minimum}}
    assert {f for _, f in setting} == {"password", "new_password"}, new_passwords
    assert ("LoginIn", "password") not in setting
    assert not any("x-new-password" in str(m) for m in schemas.values())
