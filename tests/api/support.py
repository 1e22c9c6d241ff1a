"""A small marketplace behind the JSON API, for the API-level tests.

One world per database: shops X and Y with their main accounts, two sub-accounts of X
(one granted ``handle_aftersales``, one granted nothing), buyers A (orders in X) and B
(orders in Y), a platform agent, a platform admin and the order system (a service
account). Every principal holds an API token with every scope its kind may carry
(``KIND_SCOPES``). Orders, cases and their moves go through the API itself, as the
rightful principal, so the setup doubles as a check that the happy paths are allowed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from aftersales.api.app import create_app
from aftersales.domain.accounts import KIND_SCOPES, AccountKind, Permission
from aftersales.domain.policy import InterventionRules
from aftersales.jobs.outbox import Dispatcher
from aftersales.services import accounts
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.store import accounts as account_store
from aftersales.store.db import Database
from tests.conftest import FakeClock, make_context, make_database
from tests.evidence.files import png

PASSWORD = "correct horse battery"

ANONYMOUS = "anonymous"
BUYER_A = "buyer_a"  # orders and a case in shop X
BUYER_B = "buyer_b"  # orders and a case in shop Y
X_MAIN = "x_main"
X_SUB_HANDLE = "x_sub_handle"  # sub-account of X granted handle_aftersales
X_SUB_PLAIN = "x_sub_plain"  # sub-account of X granted nothing
Y_MAIN = "y_main"
AGENT = "agent"
ADMIN = "admin"
SERVICE = "service"  # the marketplace's order system
ARBITER = "arbiter"  # a third platform agent, made on first use: not a principal

# States ``ApiWorld.case_in`` reaches through platform intervention (R9-R11).
ARBITRATION_STATES = ("in_intervention", "in_intervention_ruleable", "awaiting_execution")

PRINCIPALS: tuple[str, ...] = (
    ANONYMOUS,
    BUYER_A,
    BUYER_B,
    X_MAIN,
    X_SUB_HANDLE,
    X_SUB_PLAIN,
    Y_MAIN,
    AGENT,
    ADMIN,
    SERVICE,
)

SHOP_X = "SHOPX"
SHOP_Y = "SHOPY"
REF_A = "buyer-a"
REF_B = "buyer-b"

_serial = itertools.count(1)


def serial() -> int:
    """A number unique in this test session (order numbers, logins, tracking numbers)."""
    return next(_serial)


def tracking_number() -> str:
    return f"SF{7_000_000_000_000 + serial():013d}"


@dataclass
class ApiWorld:
    ctx: Context
    app: FastAPI
    client: TestClient
    clock: FakeClock
    tokens: dict[str, str] = field(default_factory=dict)
    account_ids: dict[str, int] = field(default_factory=dict)
    case_a: str = ""  # buyer A's case on shop X (awaiting the merchant)
    case_b: str = ""  # buyer B's case on shop Y
    order_a: str = ""  # buyer A's order in shop X (shipped and signed)
    order_b: str = ""

    # ------------------------------------------------------------------ requests
    def headers(self, principal: str) -> dict[str, str]:
        if principal == ANONYMOUS:
            return {}
        return {"Authorization": f"Bearer {self.tokens[principal]}"}

    def renew_token(self, principal: str) -> None:
        """A new token for the principal's account, with every scope of its kind (after a
        password change revoked the account's tokens)."""
        account_id = self.account_ids[principal]
        with self.ctx.db.read() as conn:
            kind = AccountKind(account_store.account_by_id(conn, account_id).kind)
        self.tokens[principal] = _token(self.ctx, account_id, kind)

    def call(
        self, principal: str, method: str, path: str, body: Any = None, **kw: Any
    ) -> httpx.Response:
        headers = {**self.headers(principal), **kw.pop("headers", {})}
        try:
            return self.client.request(method, path, json=body, headers=headers, **kw)
        finally:
            self.client.cookies.clear()  # a login's cookie must not follow the next caller

    def ok(self, principal: str, method: str, path: str, body: Any = None) -> Any:
        """A setup step that must succeed; fails loudly with the problem document."""
        resp = self.call(principal, method, path, body)
        assert resp.status_code < 300, f"setup {method} {path} as {principal}: {resp.text}"
        return resp.json()

    # ------------------------------------------------------------------ orders and cases
    def push_order(
        self, shop: str = SHOP_X, buyer_ref: str = REF_A, *, shipped: bool = True
    ) -> tuple[str, int]:
        """A paid order of 1 x 100.00 CNY; shipped 3 days ago and signed for yesterday
        (within the 7-day no-reason window), or not shipped at all."""
        now = self.clock.now
        number = f"ORD{serial():08d}"
        body: dict[str, Any] = {
            "number": number,
            "shop": shop,
            "buyer": {"ref": buyer_ref, "name": f"Buyer {buyer_ref}", "phone": "13800000000"},
            "currency": "CNY",
            "lines": [
                {
                    "sku": "TEE",
                    "title": "T-shirt",
                    "quantity": 1,
                    "unit_price": 10000,
                    "paid": 10000,
                }
            ],
            "paid_at": (now - timedelta(days=5)).isoformat(),
        }
        if shipped:
            body["shipped_at"] = (now - timedelta(days=3)).isoformat()
            body["signed_at"] = (now - timedelta(days=1)).isoformat()
        order = self.ok(SERVICE, "POST", "/api/v1/orders", body)
        return number, int(order["lines"][0]["id"])

    def open_case(
        self,
        *,
        shop: str = SHOP_X,
        buyer: str = BUYER_A,
        type: str = "return_refund",
        reason: str = "changed_mind",
        amount: int = 10000,
        expect_state: str = "awaiting_merchant",
    ) -> str:
        ref = REF_A if buyer == BUYER_A else REF_B
        number, line_id = self.push_order(shop, ref, shipped=type != "refund_unshipped")
        case = self.ok(
            buyer,
            "POST",
            "/api/v1/cases",
            {
                "order_number": number,
                "type": type,
                "lines": [{"order_line_id": line_id, "quantity": 1}],
                "reason": reason,
                "amount": amount,
            },
        )
        assert case["state"] == expect_state, case
        return str(case["number"])

    def act(self, principal: str, case: str, action: str, body: Any = None) -> dict[str, Any]:
        result: dict[str, Any] = self.ok(
            principal, "POST", f"/api/v1/cases/{case}/{action}", body or {}
        )
        return result

    def case_in(self, state: str) -> str:
        """A fresh case of buyer A on shop X, driven through the API into ``state``."""
        if state == "awaiting_merchant":
            return self.open_case()
        if state == "awaiting_merchant_reship":
            return self.open_case(type="reship", reason="missing_item", amount=0)
        if state == "awaiting_merchant_intercept":  # R16.2: the parcel shipped anyway
            case = self.open_case(type="refund_unshipped", reason="ordered_by_mistake")
            order = self.ok(ADMIN, "GET", f"/api/v1/cases/{case}")["order_number"]
            self.ok(
                SERVICE,
                "POST",
                f"/api/v1/orders/{order}/fulfilment",
                {
                    "shipped_at": self.clock.now.isoformat(),
                    "carrier": "SF",
                    "tracking_number": tracking_number(),
                },
            )
            return case
        if state == "awaiting_buyer":
            case = self.open_case()
            self.act(X_MAIN, case, "counter-offer", {"amount": 5000})
            return case
        if state == "rejected":
            case = self.open_case()
            self.act(
                X_MAIN,
                case,
                "reject",
                {"refusal_code": "buyer_agreed_to_cancel", "evidence_ids": self.proof(case)},
            )
            return case
        if state == "awaiting_return":
            case = self.open_case()
            self.act(X_MAIN, case, "approve-return")
            return case
        if state == "return_shipped":
            case = self.case_in("awaiting_return")
            self.act(
                BUYER_A,
                case,
                "ship-return",
                {"carrier": "SF", "tracking_number": tracking_number()},
            )
            return case
        if state == "return_received":
            case = self.case_in("return_shipped")
            self.act(X_MAIN, case, "confirm-receipt")
            return case
        if state == "awaiting_reship":
            case = self.case_in("awaiting_merchant_reship")
            self.act(X_MAIN, case, "approve-reship")
            return case
        if state == "replacement_shipped":
            case = self.case_in("awaiting_reship")
            self.act(
                X_MAIN,
                case,
                "ship-replacement",
                {"carrier": "SF", "tracking_number": tracking_number()},
            )
            return case
        if state in ARBITRATION_STATES:
            return self._arbitration_case(state)
        raise AssertionError(f"no recipe for a case in state {state}")

    # ------------------------------------------------------------------ arbitration (R9-R12)
    def intervention_rules(self, profile: str = "douyin") -> InterventionRules:
        rules = self.ctx.profiles.current[profile].intervention
        assert rules is not None
        return rules

    @contextmanager
    def earlier(self, **delta: float) -> Iterator[None]:
        """Runs the block with the world's clock set back by ``delta``, then puts it back:
        a setup that must lie in the past (an intervention whose evidence deadline has
        passed) without moving the clock, and every other deadline, of the whole world."""
        now = self.clock.now
        self.clock.now = now - timedelta(**delta)
        try:
            yield
        finally:
            self.clock.now = now

    def arbiter(self) -> str:
        """A third platform agent (not a principal of the matrix) who rules, so that the
        matrix's agent and admin may both decide an appeal against the ruling (R12.1)."""
        if ARBITER not in self.tokens:
            self.account_ids[ARBITER] = _account(self.ctx, AccountKind.AGENT, "arbiter")
            self.tokens[ARBITER] = _token(self.ctx, self.account_ids[ARBITER], AccountKind.AGENT)
        return ARBITER

    def proof(self, case: str, kind: str = "chat_log", principal: str = X_MAIN) -> list[int]:
        """R5.5: the shop uploads a picture of ``kind`` to the case; its id, for a refusal."""
        resp = self.call(
            principal,
            "POST",
            f"/api/v1/cases/{case}/evidence",
            files={"file": (f"{kind}.png", png(), "image/png")},
            data={"kind": kind},
        )
        assert resp.status_code == 201, f"setup: proof for {case}: {resp.text}"
        return [int(resp.json()["id"])]

    def quality_dispute(self) -> str:
        """Buyer A's refund-only quality request on shop X, rejected by the merchant (R5.5):
        the buyer may now ask the platform to step in (R9.1)."""
        case = self.open_case(type="refund_only", reason="defect")
        ids = self.proof(case, "qc_record")
        self.act(X_MAIN, case, "reject", {"refusal_code": "no_quality_issue", "evidence_ids": ids})
        return case

    def escalate(self, case: str, principal: str = BUYER_A) -> dict[str, Any]:
        result: dict[str, Any] = self.ok(
            principal, "POST", f"/api/v1/cases/{case}/intervention", {"statement": "Decide."}
        )
        return result

    def intervention_id(self, case: str) -> int:
        return int(self.ok(ADMIN, "GET", f"/api/v1/cases/{case}/intervention")["id"])

    def merchant_appeal(self) -> tuple[str, int]:
        """A ruling against shop X (by the arbiter) that X's main account appealed
        (R12.1): (the case, the appeal's id)."""
        case = self.case_in("awaiting_execution")
        appeal = self.ok(
            X_MAIN,
            "POST",
            f"/api/v1/cases/{case}/appeals",
            {"grounds": "misjudgment", "statement": "The buyer broke it."},
        )
        return case, int(appeal["id"])

    def _arbitration_case(self, state: str) -> str:
        if state == "in_intervention":  # the buyer escalated a rejected quality request
            case = self.quality_dispute()
            self.escalate(case)
            return case
        if state == "in_intervention_ruleable":  # ... and its evidence deadline has passed
            hours = self.intervention_rules().evidence_hours
            with self.earlier(hours=hours, minutes=1):
                return self.case_in("in_intervention")
        # the merchant stayed silent (R9.3), so the agent's accepted ruling is the engine's
        # full refund, waiting for the merchant to execute it (R11.1)
        case = self.case_in("in_intervention_ruleable")
        ruled = self.ok(
            self.arbiter(), "POST", f"/api/v1/cases/{case}/ruling", {"reasons": "Silent shop."}
        )
        assert ruled["case_state"] == "awaiting_execution", ruled
        return case

    # ------------------------------------------------------------------ accounts, webhooks
    def sub_account_of_x(self) -> int:
        """A further sub-account of shop X (an object to act on, not a principal)."""
        acc = self.ok(
            X_MAIN,
            "POST",
            f"/api/v1/shops/{SHOP_X}/accounts",
            {
                "login": f"x-clerk-{serial()}",
                "password": PASSWORD,
                "permissions": [Permission.HANDLE_AFTERSALES.value],
            },
        )
        return int(acc["id"])

    def token_of_x_account(self) -> int:
        """An API token of a further sub-account of shop X."""
        view = accounts.create_token(
            self.ctx,
            Actor.system("operator"),
            name=f"t{serial()}",
            scopes=["cases:read"],
            account_id=self.sub_account_of_x(),
        )
        return view.id

    def endpoint_of_x(self) -> int:
        ep = self.ok(
            X_MAIN,
            "POST",
            "/api/v1/webhooks/endpoints",
            {"shop": SHOP_X, "url": "http://127.0.0.1:9/hook", "description": "ERP"},
        )
        return int(ep["id"])

    def held_message_of_x_main(self, case: str) -> int:
        """A message of X's main account on ``case``, held by the R5.7 checks (a phone
        number): only its sender may edit it."""
        msg = self.ok(
            X_MAIN, "POST", f"/api/v1/cases/{case}/messages", {"body": "Call me: 13812345678"}
        )
        assert msg["status"] == "held", msg
        return int(msg["id"])

    def template_of_x(self) -> int:
        tpl = self.ok(
            X_MAIN,
            "POST",
            f"/api/v1/shops/{SHOP_X}/reply-templates",
            {"title": f"Greeting {serial()}", "body": "Thank you for waiting, we are on it."},
        )
        return int(tpl["id"])

    def delivery_of_x(self) -> tuple[int, int]:
        """An endpoint of shop X with one pending delivery (an order.recorded event)."""
        endpoint = self.endpoint_of_x()
        self.push_order(SHOP_X, REF_A)
        dispatcher = Dispatcher(self.ctx)
        try:
            dispatcher.fan_out()
        finally:
            dispatcher.close()
        page = self.ok(X_MAIN, "GET", f"/api/v1/webhooks/endpoints/{endpoint}/deliveries")
        assert page["items"], "fan-out made no delivery"
        return endpoint, int(page["items"][0]["id"])


def _account(ctx: Context, kind: AccountKind, login: str, **kw: Any) -> int:
    view = accounts.create_account(ctx, None, kind=kind, login=login, password=PASSWORD, **kw)
    return view.id


def _token(ctx: Context, account_id: int, kind: AccountKind) -> str:
    view = accounts.create_token(
        ctx,
        Actor.system("operator"),
        name="matrix",
        scopes=sorted(s.value for s in KIND_SCOPES[kind]),
        account_id=account_id,
    )
    assert view.token is not None
    return view.token


def fresh_headers(world: ApiWorld, kind: AccountKind) -> dict[str, str]:
    """A new account of `kind` with a new token: for checks run after a fuzzer that may
    have revoked the world's tokens or disabled its accounts."""
    login = f"fresh-{kind.value}-{serial()}"
    password = None if kind is AccountKind.SERVICE else PASSWORD
    view = accounts.create_account(world.ctx, None, kind=kind, login=login, password=password)
    return {"Authorization": f"Bearer {_token(world.ctx, view.id, kind)}"}


def build_world(db: Database, clock: FakeClock) -> Iterator[ApiWorld]:
    ctx = make_context(db, clock)
    # Webhook endpoints on 127.0.0.1: nothing is ever sent (no dispatcher runs).
    ctx.settings = ctx.settings.model_copy(update={"webhook_allow_private_networks": True})
    app = create_app(ctx, embedded_worker=False, embedded_dispatcher=False)
    with TestClient(app, base_url="http://testserver") as client:
        world = ApiWorld(ctx, app, client, clock)
        ids = world.account_ids
        ids[ADMIN] = _account(ctx, AccountKind.ADMIN, "admin")
        ids[AGENT] = _account(ctx, AccountKind.AGENT, "agent")
        ids[SERVICE] = accounts.create_account(
            ctx, None, kind=AccountKind.SERVICE, login="order-system", password=None
        ).id
        for p in (ADMIN, AGENT, SERVICE):
            world.tokens[p] = _token(ctx, ids[p], AccountKind(p))
        for code in (SHOP_X, SHOP_Y):
            shop = world.ok(
                ADMIN,
                "POST",
                "/api/v1/shops",
                {"code": code, "name": f"Shop {code}", "return_address": f"1 {code} Rd"},
            )
            assert shop["code"] == code
        ids[X_MAIN] = _account(ctx, AccountKind.MERCHANT, "x-main", shop_code=SHOP_X, main=True)
        ids[Y_MAIN] = _account(ctx, AccountKind.MERCHANT, "y-main", shop_code=SHOP_Y, main=True)
        ids[X_SUB_HANDLE] = _account(
            ctx,
            AccountKind.MERCHANT,
            "x-sub-handle",
            shop_code=SHOP_X,
            permissions=[Permission.HANDLE_AFTERSALES.value],
        )
        ids[X_SUB_PLAIN] = _account(ctx, AccountKind.MERCHANT, "x-sub-plain", shop_code=SHOP_X)
        for p in (X_MAIN, Y_MAIN, X_SUB_HANDLE, X_SUB_PLAIN):
            world.tokens[p] = _token(ctx, ids[p], AccountKind.MERCHANT)
        # Buyers exist once the order system has pushed an order for them.
        world.order_a, _ = world.push_order(SHOP_X, REF_A)
        world.order_b, _ = world.push_order(SHOP_Y, REF_B)
        ids[BUYER_A] = _account(ctx, AccountKind.BUYER, "buyer-a", buyer_ref=REF_A)
        ids[BUYER_B] = _account(ctx, AccountKind.BUYER, "buyer-b", buyer_ref=REF_B)
        for p in (BUYER_A, BUYER_B):
            world.tokens[p] = _token(ctx, ids[p], AccountKind.BUYER)
        world.case_a = world.open_case(shop=SHOP_X, buyer=BUYER_A)
        world.case_b = world.open_case(shop=SHOP_Y, buyer=BUYER_B)
        yield world


@contextmanager
def module_world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiWorld]:
    """One world on the database `request.param` names, for a module-scoped fixture: the
    requests of the module's tests accumulate in it."""
    db = make_database(request.param, request, tmp_path_factory.mktemp("world"))
    clock = FakeClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    try:
        with pytest.MonkeyPatch.context() as mp:
            cheap_argon2(mp)
            yield from build_world(db, clock)
    finally:
        db.dispose()


def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id with the cheapest parameters: a world holds a dozen accounts, and the
    default cost (about 0.25 s a hash) only slows the suite. Still real Argon2id."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", cheap)
    # Verified for unknown logins (constant time): the same cost as a real hash.
    monkeypatch.setattr(accounts, "_DUMMY_HASH", cheap.hash("not a password"))
