"""Schemathesis against a live `aftersales serve` on PostgreSQL, with a token of each role
(issue 11 §4): 0 server errors, 0 response schema violations, 0 schema-violating requests
accepted, and every other check that can hold.

The server is a real process on the PostgreSQL database of the session (`pg_url`),
seeded first with the API tests' marketplace (support.build_world: shops X and Y, their
main and sub-accounts, buyers with orders and cases, an agent, an admin, the order
system). The schema is loaded from the live URL by the schemathesis CLI, as CI would run
it, once per role, deterministically.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from aftersales.domain.accounts import KIND_SCOPES, AccountKind, Permission
from aftersales.services import accounts
from aftersales.services.actors import Actor
from tests.api.http_support import serve
from tests.api.support import (
    ADMIN,
    AGENT,
    BUYER_A,
    PASSWORD,
    SERVICE,
    SHOP_X,
    X_MAIN,
    X_SUB_HANDLE,
    ApiWorld,
    build_world,
    cheap_argon2,
)
from tests.conftest import FakeClock, make_database

ROLES = {
    "admin": ADMIN,
    "agent": AGENT,
    "shop main account": X_MAIN,
    "shop sub-account": X_SUB_HANDLE,
    "buyer": BUYER_A,
    "integration": SERVICE,
}
KINDS = {
    ADMIN: AccountKind.ADMIN,
    AGENT: AccountKind.AGENT,
    X_MAIN: AccountKind.MERCHANT,
    X_SUB_HANDLE: AccountKind.MERCHANT,
    BUYER_A: AccountKind.BUYER,
    SERVICE: AccountKind.SERVICE,
}
MAX_EXAMPLES = 5
# The admin passes most authorization checks, so its run also takes the coverage phase
# (boundary and negative values of every parameter, systematically; validation comes
# before authorization, so they need not be repeated per role); the other roles are
# refused most operations, and fuzz 3 examples per operation within the runtime budget.
PHASES = {"admin": "examples,coverage,fuzzing"}
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
ST = [sys.executable, "-m", "schemathesis.cli"]


@dataclass
class Live:
    base_url: str
    world: ApiWorld
    tmp: Path
    victims: dict[str, dict[str, int]]  # role -> the ids its run may revoke or disable


def _victims(world: ApiWorld, role: str, principal: str) -> dict[str, int]:
    """A token of the role's own account and a sub-account of shop X that the role's run
    may revoke, disable or re-permission, instead of its own credentials."""
    ctx = world.ctx
    system = Actor.system("operator")
    token = accounts.create_token(
        ctx,
        system,
        name="victim",
        scopes=sorted(KIND_SCOPES[KINDS[principal]])[:1],
        account_id=world.account_ids[principal],
    )
    sub = accounts.create_account(
        ctx,
        None,
        kind=AccountKind.MERCHANT,
        login=f"victim-{role.replace(' ', '-')}",
        password=PASSWORD,
        shop_code=SHOP_X,
        permissions=[Permission.HANDLE_AFTERSALES.value],
    )
    return {"token": token.id, "account": sub.id}


@pytest.fixture(scope="module")
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("live")
    db = make_database("postgresql", request, tmp)
    clock = FakeClock(datetime.now(UTC))  # the server runs on the real clock
    with pytest.MonkeyPatch.context() as mp:
        cheap_argon2(mp)
        seeding = build_world(db, clock)
        world = next(seeding)
        victims = {role: _victims(world, role, p) for role, p in ROLES.items()}
        seeding.close()
    env = {"AFTERSALES_EVIDENCE_DIR": str(tmp / "evidence")}
    with serve(db.url, tmp / "serve.log", **env) as (base_url, _proc):
        yield Live(base_url, world, tmp, victims)
    db.dispose()


# Operations where a schema-valid request may break a rule that a JSON Schema cannot
# state; `positive_data_acceptance` also accepts their 422 (a problem naming the field
# and, where a rule refused it, the rule).
RULES_BEYOND_THE_SCHEMA = {
    # An opaque cursor is valid only when the API returned it.
    "GET /api/v1/cases": "cursor",
    "GET /api/v1/webhooks/endpoints/{endpoint_id}/deliveries": "cursor",
    # A statistics period is at most 366 days: a rule across `from` and `to`.
    "GET /api/v1/shops/{code}/message-stats": "period",
    # The fields an account takes depend on its kind (permissions for merchants only,
    # buyer_ref for buyers, shop for merchants), and the password minimum is the
    # deployment's.
    "POST /api/v1/accounts": "kind",
    # R5.3: a tracking number's format depends on its carrier.
    "POST /api/v1/logistics/events": "R5.3",
    # A webhook URL's host must resolve to public addresses.
    "POST /api/v1/webhooks/endpoints": "resolution",
    # Evidence: the sniffed type, the extension and the part's Content-Type must agree.
    "POST /api/v1/cases/{number}/evidence": "content",
    # A message has a body or names a reply template.
    "POST /api/v1/cases/{number}/messages": "body or template",
    # An order's dates follow each other (paid, shipped, signed) and its amounts agree.
    "POST /api/v1/orders": "order",
    # R5.3 again, for the outbound parcel; a date already recorded cannot move.
    "POST /api/v1/orders/{number}/fulfilment": "R5.3",
    # The reviewed line belongs to the order; the review is dated after the payment.
    "POST /api/v1/reviews": "order line",
    # The lines are the order's, the reason is one of the profile's for the type, the
    # amount within what was paid.
    "POST /api/v1/cases": "R2",
    # R15: a buyer report names the buyer or the buyer's cases; a force-majeure window
    # is recent.
    "POST /api/v1/reports/buyers": "R15.2",
    "POST /api/v1/reports/force-majeure": "R15.1",
    # A receipt is inspected after it is received, neither in the future.
    "POST /api/v1/warehouse/receipts": "dates",
    # R4.4/R5.5: a refusal rests on evidence items the shop added to this case.
    "POST /api/v1/cases/{number}/reject": "R5.5",
    "POST /api/v1/cases/{number}/refuse-refund": "R5.5",
    # A strategy names SKUs the shop sells.
    "POST /api/v1/shops/{code}/strategies": "shop's products",
    "PATCH /api/v1/shops/{code}/strategies/{strategy_id}": "shop's products",
}
ACCEPTS_422 = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]


def _config(victims: dict[str, int]) -> str:
    names = json.dumps(sorted(RULES_BEYOND_THE_SCHEMA))
    return f"""
cache.enabled = false

[[operations]]
include-name = {names}
checks.positive_data_acceptance.expected-statuses = {json.dumps(ACCEPTS_422)}

[[operations]]
include-name = "POST /api/v1/tokens/{{token_id}}/revoke"
parameters = {{ "path.token_id" = {victims["token"]} }}

[[operations]]
include-name = [
    "POST /api/v1/accounts/{{account_id}}/disable",
    "PUT /api/v1/accounts/{{account_id}}/permissions",
]
parameters = {{ "path.account_id" = {victims["account"]} }}
"""


def _run(live: Live, role: str) -> tuple[int, dict[str, Any], str]:
    token = live.world.tokens[ROLES[role]]
    name = role.replace(" ", "-")
    config = live.tmp / f"{name}.toml"
    config.write_text(_config(live.victims[role]))
    report = live.tmp / f"{name}.json"
    cmd = [
        *ST,
        "--config-file",
        str(config),
        "run",
        f"{live.base_url}/api/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        str(MAX_EXAMPLES if role == "admin" else 3),
        "--generation-deterministic",
        "--phases",
        PHASES.get(role, "examples,fuzzing"),
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS), "COLUMNS": "200"}
    res = subprocess.run(
        cmd, env=env, cwd=live.tmp, capture_output=True, text=True, timeout=900, check=False
    )
    data = json.loads(report.read_text()) if report.exists() else {}
    return res.returncode, data, res.stdout + res.stderr


def test_hardening_deep_json_neither_crashes_nor_hangs_the_served_api(live: Live) -> None:
    headers = {
        "Authorization": f"Bearer {live.world.tokens[SERVICE]}",
        "Content-Type": "application/json",
        "Accept-Language": "en",
    }
    for depth in (1_000, 100_000):
        raw = b"[" * depth + b"]" * depth
        resp = httpx.post(
            f"{live.base_url}/api/v1/orders", content=raw, headers=headers, timeout=60
        )
        assert resp.status_code == 422, resp.text
        assert resp.json()["errors"] == [
            {"field": "body", "code": "json_too_deep", "message": resp.json()["detail"]}
        ]
    assert httpx.get(f"{live.base_url}/api/health", timeout=10).status_code == 200


def _failures(output: str) -> str:
    """The CLI's failure section (each with its response and a curl to reproduce it)."""
    start = output.find("FAILURES")
    return output[start if start >= 0 else 0 :][:30000]


@pytest.mark.parametrize("role", list(ROLES))
def test_hardening_schemathesis_against_live_server_as_each_role(live: Live, role: str) -> None:
    code, report, output = _run(live, role)
    assert report, output[-5000:]
    assert report["operations"]["tested"] == report["operations"]["total"], report["operations"]
    assert not report["failures"] and not report["errors"], _failures(output)
    assert code == 0, output[-5000:]
