"""RFC 9457 errors in the caller's language; orders pushed by the order system; carrier
events (R16) moving a return to delivered (R5.4)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from aftersales.api.app import create_app
from aftersales.domain.accounts import AccountKind
from aftersales.services import accounts
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.store.db import Database
from aftersales.store.schema import logistics_events, orders, outbox_events
from tests.conftest import FakeClock, make_context

PASSWORD = "correct horse battery"


@dataclass
class Env:
    ctx: Context
    clock: FakeClock
    client: TestClient
    orders: dict[str, str]  # order system bearer
    buyer: dict[str, str]  # set after the first order is pushed

    def push(self, number: str, **over: Any) -> Any:
        now = self.clock.now
        body = {
            "number": number,
            "shop": "acme",
            "buyer": {"ref": "u-1", "name": "Li Lei", "phone": "13800000001"},
            "currency": "CNY",
            "lines": [
                {"sku": "MUG", "title": "Mug", "quantity": 2, "unit_price": 4000, "paid": 7000}
            ],
            "freight": 800,
            "paid_at": (now - timedelta(days=4)).isoformat(),
            "shipped_at": (now - timedelta(days=3)).isoformat(),
            "signed_at": (now - timedelta(days=1)).isoformat(),
            **over,
        }
        return self.client.post("/api/v1/orders", json=body, headers=self.orders)


def _bearer(ctx: Context, login: str, *scopes: str) -> dict[str, str]:
    from aftersales.store import accounts as store

    with ctx.db.read() as conn:
        acc = store.account_by_login(conn, login)
    tok = accounts.create_token(
        ctx, Actor.system("operator"), name="t", scopes=scopes, account_id=acc.id
    )
    return {"Authorization": f"Bearer {tok.token}", "Accept-Language": "en"}


@pytest.fixture
def env(db: Database, clock: FakeClock) -> Iterator[Env]:
    ctx = make_context(db, clock)
    admin = accounts.create_account(
        ctx, None, kind=AccountKind.ADMIN, login="admin", password=PASSWORD
    )
    from aftersales.services import shops
    from aftersales.services.accounts import actor_for
    from aftersales.store import accounts as store

    with ctx.db.read() as conn:
        admin_actor = actor_for(store.account_by_id(conn, admin.id))
    shops.create_shop(ctx, admin_actor, code="acme", name="Acme", return_address="1 Dock")
    accounts.create_account(
        ctx,
        None,
        kind=AccountKind.MERCHANT,
        login="acme",
        password=PASSWORD,
        shop_code="acme",
        main=True,
    )
    accounts.create_account(ctx, None, kind=AccountKind.SERVICE, login="ordersys", password=None)
    client = TestClient(create_app(ctx, embedded_worker=False, embedded_dispatcher=False))
    orders_h = _bearer(ctx, "ordersys", "orders:write", "accounts:write", "logistics:write")
    e = Env(ctx, clock, client, orders_h, {})
    yield e


def _buyer(env: Env) -> dict[str, str]:
    r = env.client.post(
        "/api/v1/accounts",
        json={"kind": "buyer", "login": "li", "password": PASSWORD, "buyer_ref": "u-1"},
        headers=env.orders,
    )
    assert r.status_code == 201, r.text
    return _bearer(env.ctx, "li", "cases:read", "cases:write")


def test_order_push_creates_buyer_products_and_books_the_payment(env: Env) -> None:
    r = env.push("O-1")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["buyer_ref"] == "u-1" and body["lines"][0]["sku"] == "MUG"
    assert body["paid_at"].endswith("Z")
    again = env.push("O-1")
    assert again.status_code == 409 and again.json()["code"] == "order.exists"
    from aftersales.services.statements import check

    assert check(env.ctx).ok
    with env.ctx.db.read() as conn:
        types = list(conn.execute(select(outbox_events.c.type)).scalars())
    assert types == ["order.recorded"]


def test_order_push_validation_names_each_bad_field_and_changes_nothing(env: Env) -> None:
    r = env.push("O-2", currency="cny", lines=[{"sku": "A", "quantity": 0}], paid_at="yesterday")
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {
        "body.currency",
        "body.lines.0.quantity",
        "body.lines.0.title",
        "body.paid_at",
    } <= fields
    zh = env.client.post(
        "/api/v1/orders",
        json={"number": "x"},
        headers={**env.orders, "Accept-Language": "zh-CN,zh;q=0.9"},
    )
    assert zh.json()["errors"][0]["message"] == "此字段为必填项。"
    dates = env.push("O-3", signed_at=(env.clock.now - timedelta(days=5)).isoformat())
    assert dates.status_code == 422 and dates.json()["errors"][0]["field"] == "signed_at"
    with env.ctx.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(orders)).scalar_one() == 0


def test_order_push_needs_the_orders_write_scope_and_an_integration_account(env: Env) -> None:
    limited = _bearer(env.ctx, "ordersys", "logistics:write")
    saved, env.orders = env.orders, limited
    r = env.push("O-4")
    assert r.status_code == 403 and r.json()["code"] == "auth.scope_missing"
    env.orders = saved
    env.push("O-4")
    buyer = _buyer(env)
    r = env.client.post(
        "/api/v1/orders",
        json={
            "number": "O-5",
            "shop": "acme",
            "buyer": {"ref": "u-1", "name": "x", "phone": "1"},
            "currency": "CNY",
            "lines": [{"sku": "A", "title": "A", "quantity": 1, "unit_price": 1, "paid": 1}],
            "paid_at": env.clock.now.isoformat(),
        },
        headers=buyer,
    )
    assert r.status_code == 403


def test_errors_are_problem_json_with_rule_and_message_in_the_callers_language(env: Env) -> None:
    env.push("O-6")
    buyer = _buyer(env)
    line = env.client.get("/api/v1/orders/O-6", headers=buyer).json()["lines"][0]["id"]
    body = {
        "order_number": "O-6",
        "type": "refund_unshipped",
        "lines": [{"order_line_id": line, "quantity": 1}],
        "reason": "changed_mind",
        "amount": 100,
    }
    en = env.client.post("/api/v1/cases", json=body, headers=buyer)
    zh = env.client.post("/api/v1/cases", json=body, headers={**buyer, "Accept-Language": "zh-CN"})
    assert en.status_code == zh.status_code
    assert en.status_code in (409, 422)
    for r in (en, zh):
        assert r.headers["content-type"].startswith("application/problem+json")
        p = r.json()
        assert (
            p["type"].endswith("/" + p["code"]) and p["rule"] and p["instance"] == "/api/v1/cases"
        )
    assert en.json()["code"] == zh.json()["code"] and en.json()["rule"] == zh.json()["rule"]
    assert en.json()["detail"] != zh.json()["detail"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh.json()["detail"])
    assert en.json()["detail"].isascii()


def _field_refusal(r: Any, code: str, field: str, rule: str) -> None:
    assert r.status_code == 422, r.text
    p = r.json()
    assert (p["code"], p["rule"]) == (code, rule)
    assert [e["field"] for e in p["errors"]] == [field]


def test_hardening_an_amount_above_what_was_paid_is_422_naming_amount_R5_2(env: Env) -> None:
    env.push("O-7")  # 2 mugs, 70.00 paid for the line, signed for yesterday
    buyer = _buyer(env)
    shop = _bearer(env.ctx, "acme", "cases:read", "cases:write")
    line = env.client.get("/api/v1/orders/O-7", headers=buyer).json()["lines"][0]["id"]
    body = {
        "order_number": "O-7",
        "type": "return_refund",
        "lines": [{"order_line_id": line, "quantity": 2}],
        "reason": "changed_mind",  # no-reason: the freight is not refunded
        "amount": 7_001,
    }
    _field_refusal(
        env.client.post("/api/v1/cases", json=body, headers=buyer),
        "amount.exceeds_paid",
        "amount",
        "R5.2",
    )
    opened = env.client.post("/api/v1/cases", json={**body, "amount": 6_000}, headers=buyer)
    assert opened.status_code == 201, opened.text
    number, version = opened.json()["number"], opened.json()["version"]
    act = f"/api/v1/cases/{number}"
    for action, extra, code, field, rule in (
        ("approve-refund", {"amount": 7_001}, "amount.exceeds_paid", "amount", "R5.2"),
        ("counter-offer", {"amount": 7_001}, "amount.exceeds_paid", "amount", "R5.2"),
        (
            "reject",
            {"refusal_code": "no_quality_issue"},
            "refusal.code_not_for_reason",
            "refusal_code",
            "R5.5",
        ),
        (
            "reject",
            {"refusal_code": "package_opened"},
            "refusal.ground_not_allowed",
            "refusal_code",
            "R4.4",
        ),
    ):
        r = env.client.post(
            f"{act}/{action}", json={"expected_version": version, **extra}, headers=shop
        )
        _field_refusal(r, code, field, rule)
    edit = {"expected_version": version, "amount": 7_001}
    _field_refusal(
        env.client.post(f"{act}/edit-request", json=edit, headers=buyer),
        "amount.exceeds_paid",
        "amount",
        "R5.2",
    )
    unknown = {"expected_version": version, "reason": "bored"}
    _field_refusal(
        env.client.post(f"{act}/edit-request", json=unknown, headers=buyer),
        "reason.unknown",
        "reason",
        "R3.1",
    )
    case = env.client.get(act, headers=buyer).json()
    assert (case["state"], case["version"]) == ("awaiting_merchant", version)  # unchanged


def test_unknown_route_and_method_are_problem_json(env: Env) -> None:
    r = env.client.get("/api/v1/nowhere", headers={"Accept-Language": "en"})
    assert r.status_code == 404 and r.json()["code"] == "route.not_found"
    r = env.client.delete("/api/v1/orders", headers={"Accept-Language": "en"})
    assert r.status_code == 405 and r.headers["content-type"].startswith("application/problem+json")
    r = env.client.post(
        "/api/v1/orders",
        content=b"{not json",
        headers={**env.orders, "content-type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "json_invalid"


def test_R16_carrier_event_delivered_moves_the_return_to_delivered_R5_4(env: Env) -> None:
    env.push("O-7")
    buyer = _buyer(env)
    line = env.client.get("/api/v1/orders/O-7", headers=buyer).json()["lines"][0]["id"]
    case = env.client.post(
        "/api/v1/cases",
        json={
            "order_number": "O-7",
            "type": "return_refund",
            "lines": [{"order_line_id": line, "quantity": 1}],
            "reason": "changed_mind",
            "amount": 3500,
        },
        headers=buyer,
    ).json()
    n = case["number"]
    merchant = _bearer(env.ctx, "acme", "cases:read", "cases:write")
    assert (
        env.client.post(f"/api/v1/cases/{n}/approve-return", json={}, headers=merchant).status_code
        == 200
    )
    shipped = env.client.post(
        f"/api/v1/cases/{n}/ship-return",
        json={"carrier": "SF", "tracking_number": "SF1234567890123"},
        headers=buyer,
    )
    assert shipped.json()["state"] == "return_shipped"
    event = {
        "carrier": "sf",
        "tracking_number": "SF1234567890123",
        "status": "in_transit",
        "occurred_at": env.clock.now.isoformat(),
        "location": "Hangzhou",
    }
    r = env.client.post("/api/v1/logistics/events", json=event, headers=env.orders)
    assert r.status_code == 201 and r.json()["applied_action"] is None
    assert r.json()["case_number"] == n
    delivered = {
        **event,
        "status": "delivered",
        "occurred_at": env.clock.advance(hours=1).isoformat(),
    }
    r = env.client.post("/api/v1/logistics/events", json=delivered, headers=env.orders)
    assert r.json()["applied_action"] == "return_delivered"
    assert env.client.get(f"/api/v1/cases/{n}", headers=buyer).json()["state"] == (
        "return_delivered"
    )
    replay = env.client.post("/api/v1/logistics/events", json=delivered, headers=env.orders)
    assert replay.json()["duplicate"] is True and replay.json()["id"] == r.json()["id"]
    timeline = env.client.get(f"/api/v1/cases/{n}/timeline", headers=merchant).json()
    assert [e["action"] for e in timeline] == [
        "open",
        "approve_return",
        "ship_return",
        "return_delivered",
    ]
    assert timeline[-1]["actor_kind"] == "carrier"
    with env.ctx.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(logistics_events)).scalar_one() == 2


def test_R16_carrier_event_with_a_malformed_tracking_number_is_refused(env: Env) -> None:
    r = env.client.post(
        "/api/v1/logistics/events",
        json={
            "carrier": "SF",
            "tracking_number": "12",
            "status": "delivered",
            "occurred_at": env.clock.now.isoformat(),
        },
        headers=env.orders,
    )
    assert r.status_code == 422 and r.json()["rule"] == "R5.3"
    assert r.json()["errors"][0]["field"] == "tracking_number"
