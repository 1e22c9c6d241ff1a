"""Automation over HTTP: strategies (R6), the dry run, express refund (R7) and warehouse
receipts (API and signed inbound endpoint), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from tests.api.support import (
    ADMIN,
    ANONYMOUS,
    BUYER_A,
    SHOP_X,
    X_MAIN,
    X_SUB_HANDLE,
    ApiWorld,
)


def _strategy(w: ApiWorld, kind: str, **body: object) -> dict[str, object]:
    return w.ok(
        X_MAIN,
        "POST",
        f"/api/v1/shops/{SHOP_X}/strategies",
        {"kind": kind, "name": kind, **body},
    )


def test_R6_1_a_strategy_made_over_http_approves_the_next_request(world: ApiWorld) -> None:
    made = _strategy(
        world, "auto_approve_return", conditions={"reasons": ["changed_mind"], "max_amount": 20_000}
    )
    assert made["kind_label"] and made["version"] == 1
    number = world.open_case(expect_state="awaiting_return")
    case = world.ok(BUYER_A, "GET", f"/api/v1/cases/{number}")
    assert case["state"] == "awaiting_return"
    timeline = world.ok(X_MAIN, "GET", f"/api/v1/cases/{number}/timeline")
    items = timeline["items"] if isinstance(timeline, dict) else timeline
    decided = items[-1]
    assert decided["strategy"] == "auto_approve_return"
    settings = world.ok(X_SUB_HANDLE, "GET", f"/api/v1/shops/{SHOP_X}/automation")
    assert [s["id"] for s in settings["strategies"]] == [made["id"]]


def test_R1_2_a_sub_account_without_the_permission_gets_403_on_strategies(
    world: ApiWorld,
) -> None:
    made = _strategy(world, "auto_approve_return")
    resp = world.call(
        X_SUB_HANDLE,
        "PATCH",
        f"/api/v1/shops/{SHOP_X}/strategies/{made['id']}",
        {"enabled": False},
    )
    assert resp.status_code == 403 and resp.json()["rule"] == "R1.2", resp.text
    buyer = world.call(BUYER_A, "GET", f"/api/v1/shops/{SHOP_X}/automation")
    assert buyer.status_code == 404


def test_R6_2_conditions_on_the_seven_day_strategy_are_refused_naming_the_field(
    world: ApiWorld,
) -> None:
    resp = world.call(
        X_MAIN,
        "POST",
        f"/api/v1/shops/{SHOP_X}/strategies",
        {"kind": "seven_day_auto_approve", "name": "7d", "conditions": {"max_amount": 1}},
    )
    assert resp.status_code == 422, resp.text
    assert resp.json()["rule"] == "R6.2" and resp.json()["errors"][0]["field"] == "conditions"


def test_R6_dry_run_over_http_says_which_condition_failed(world: ApiWorld) -> None:
    number = world.open_case()  # before any strategy: waits for the merchant
    _strategy(world, "auto_approve_return", conditions={"max_amount": 1})
    preview = world.ok(X_MAIN, "GET", f"/api/v1/cases/{number}/automation-preview")
    assert preview["acting_strategy_id"] is None
    (verdict,) = preview["verdicts"]
    assert not verdict["would_act"]
    assert [c["name"] for c in verdict["checks"] if not c["held"]] == ["amount"]
    assert world.ok(BUYER_A, "GET", f"/api/v1/cases/{number}")["state"] == "awaiting_merchant"


def test_R6_4_service_hours_round_trip_and_bad_hours_are_refused(world: ApiWorld) -> None:
    hours = {"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "18:00"}
    out = world.ok(
        X_MAIN, "POST", f"/api/v1/shops/{SHOP_X}/service-hours", {"service_hours": hours}
    )
    assert out["service_hours"] == hours
    bad = world.call(
        X_MAIN,
        "POST",
        f"/api/v1/shops/{SHOP_X}/service-hours",
        {"service_hours": {"days": [1, 1], "start": "09:00", "end": "18:00"}},
    )
    assert bad.status_code == 422 and bad.json()["rule"] == "R6.4"


def test_R7_3_express_refund_switch_over_http(world: ApiWorld) -> None:
    on = world.ok(X_MAIN, "POST", f"/api/v1/shops/{SHOP_X}/express-refund", {"enabled": True})
    assert on["enabled"] and on["locked_until"] is not None
    off = world.call(X_MAIN, "POST", f"/api/v1/shops/{SHOP_X}/express-refund", {"enabled": False})
    assert off.status_code == 409 and off.json()["rule"] == "R7.3", off.text
    world.clock.advance(hours=24)
    off = world.call(X_MAIN, "POST", f"/api/v1/shops/{SHOP_X}/express-refund", {"enabled": False})
    assert off.status_code == 200 and not off.json()["enabled"]


def test_R7_1_the_case_shows_its_express_refund_check(world: ApiWorld) -> None:
    world.ok(X_MAIN, "POST", f"/api/v1/shops/{SHOP_X}/express-refund", {"enabled": True})
    number = world.case_in("return_shipped")
    check = world.ok(BUYER_A, "GET", f"/api/v1/cases/{number}/express-refund")
    assert [c["name"] for c in check["conditions"]] == [
        "service_on",
        "request_type",
        "seven_day_no_reason",
        "return_tracking_validated",
        "buyer_risk",
        "paid_amount_below_limit",
    ]
    assert all(c["label"] for c in check["conditions"])
    assert check["eligible"] is all(c["held"] for c in check["conditions"])


# --------------------------------------------------------------------------- warehouse
def _receipt(world: ApiWorld, number: str, external_id: str, result: str = "pass") -> dict:
    now = world.clock.now.isoformat()
    return {
        "case_number": number,
        "external_id": external_id,
        "result": result,
        "received_at": now,
        "inspected_at": now,
        "note": "sealed, tags on",
        "photos": ["https://wms.example.com/p/1.jpg"],
    }


def test_R6_3_a_passed_inspection_refunds_through_the_strategy(world: ApiWorld) -> None:
    _strategy(world, "warehouse_receipt_auto_refund")
    number = world.case_in("return_shipped")
    out = world.ok(X_MAIN, "POST", "/api/v1/warehouse/receipts", _receipt(world, number, "W-1"))
    assert out["applied_action"] == "refund" and out["case_state"] == "refunded"
    again = world.ok(X_MAIN, "POST", "/api/v1/warehouse/receipts", _receipt(world, number, "W-1"))
    assert again["replayed"] and again["id"] == out["id"]
    changed = world.call(
        X_MAIN, "POST", "/api/v1/warehouse/receipts", _receipt(world, number, "W-1", "fail")
    )
    assert changed.status_code == 409


def test_R6_3_a_failed_inspection_leaves_the_decision_to_the_shop(world: ApiWorld) -> None:
    _strategy(world, "warehouse_receipt_auto_refund")
    number = world.case_in("return_shipped")
    out = world.ok(
        X_MAIN, "POST", "/api/v1/warehouse/receipts", _receipt(world, number, "W-2", "fail")
    )
    # The goods are in the warehouse: received (R5.4), the refund is the shop's call.
    assert out["applied_action"] is None and out["case_state"] == "return_received"
    listed = world.ok(BUYER_A, "GET", f"/api/v1/cases/{number}/inspections")
    assert [i["result"] for i in listed["items"]] == ["fail"]


def _signed(secret: str, body: bytes, stamp: int, msg_id: str = "msg_1") -> dict[str, str]:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{stamp}.".encode() + body
    sig = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": f"v1,{sig}",
        "content-type": "application/json",
    }


def test_signed_inbound_receipt_is_verified_and_refused_when_not_signed(
    world: ApiWorld,
) -> None:
    _strategy(world, "warehouse_receipt_auto_refund")
    number = world.case_in("return_shipped")
    secret = world.ok(X_MAIN, "POST", f"/api/v1/shops/{SHOP_X}/warehouse-secret")["secret"]
    body = json.dumps(_receipt(world, number, "W-3")).encode()
    stamp = int(world.clock.now.timestamp())
    path = f"/api/v1/inbound/warehouse/{SHOP_X}"

    unsigned = world.client.post(path, content=body, headers={"content-type": "application/json"})
    assert unsigned.status_code == 401
    forged = world.client.post(
        path, content=body, headers=_signed("whsec_" + "A" * 32, body, stamp)
    )
    assert forged.status_code == 401
    stale = world.client.post(path, content=body, headers=_signed(secret, body, stamp - 3600))
    assert stale.status_code == 401
    tampered = body.replace(b"W-3", b"W-4")
    bad = world.client.post(path, content=tampered, headers=_signed(secret, body, stamp))
    assert bad.status_code == 401
    assert world.ok(BUYER_A, "GET", f"/api/v1/cases/{number}/inspections")["items"] == []

    ok = world.client.post(path, content=body, headers=_signed(secret, body, stamp))
    assert ok.status_code == 201, ok.text
    assert ok.json()["applied_action"] == "refund" and ok.json()["reported_by"].startswith(
        "warehouse:"
    )


def test_a_warehouse_cannot_report_on_another_shops_case(world: ApiWorld) -> None:
    from tests.api.support import Y_MAIN

    number = world.case_in("return_shipped")
    resp = world.call(Y_MAIN, "POST", "/api/v1/warehouse/receipts", _receipt(world, number, "W-9"))
    assert resp.status_code == 404
    anon = world.call(ANONYMOUS, "POST", "/api/v1/warehouse/receipts", _receipt(world, number, "X"))
    assert anon.status_code == 401
    admin = world.call(ADMIN, "POST", "/api/v1/warehouse/receipts", _receipt(world, number, "Y"))
    assert admin.status_code == 403


def test_R5_4_a_receipt_for_a_case_with_no_return_on_its_way_is_refused(
    world: ApiWorld,
) -> None:
    number = world.open_case()  # awaiting the merchant: nothing was sent back
    resp = world.call(X_MAIN, "POST", "/api/v1/warehouse/receipts", _receipt(world, number, "Z"))
    assert resp.status_code == 409 and resp.json()["rule"] == "R5.4", resp.text
    assert world.ok(BUYER_A, "GET", f"/api/v1/cases/{number}/inspections")["items"] == []
