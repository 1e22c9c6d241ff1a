"""R16 over the HTTP API: outbound parcels at fulfilment, carrier events on them (R16.1),
the request-intercept action and the intercept_missed mark (R16.2)."""

from __future__ import annotations

from typing import Any

from tests.api.support import (
    ADMIN,
    BUYER_A,
    SERVICE,
    X_MAIN,
    ApiWorld,
    tracking_number,
)


def _fulfil(w: ApiWorld, order: str, tracking: str, carrier: str = "SF") -> Any:
    return w.call(
        SERVICE,
        "POST",
        f"/api/v1/orders/{order}/fulfilment",
        {"shipped_at": w.clock.now.isoformat(), "carrier": carrier, "tracking_number": tracking},
    )


def _event(w: ApiWorld, tracking: str, status: str) -> dict[str, Any]:
    body = {
        "carrier": "SF",
        "tracking_number": tracking,
        "status": status,
        "occurred_at": w.clock.now.isoformat(),
    }
    result: dict[str, Any] = w.ok(SERVICE, "POST", "/api/v1/logistics/events", body)
    return result


def test_R16_fulfilment_records_a_parcel_and_refuses_a_reused_number(world: ApiWorld) -> None:
    order, _ = world.push_order(shipped=False)
    tracking = tracking_number()
    r = _fulfil(world, order, tracking.lower(), carrier="sf")
    assert r.status_code == 200, r.text
    parcels = r.json()["parcels"]
    assert [(p["carrier"], p["tracking_number"], p["status"]) for p in parcels] == [
        ("SF", tracking, "in_transit")
    ]
    assert world.ok(ADMIN, "GET", f"/api/v1/orders/{order}")["parcels"] == parcels

    other, _ = world.push_order(shipped=False)
    reused = _fulfil(world, other, tracking)
    assert reused.status_code == 409
    assert (reused.json()["code"], reused.json()["rule"]) == ("tracking.reused", "R5.3")
    bad = _fulfil(world, other, "SF12")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "tracking_number"
    assert world.ok(ADMIN, "GET", f"/api/v1/orders/{other}")["parcels"] == []


def test_R16_1_a_refused_parcel_opens_a_refund_that_follows_the_parcel_home(
    world: ApiWorld,
) -> None:
    order, _ = world.push_order(shipped=False)
    tracking = tracking_number()
    assert _fulfil(world, order, tracking).status_code == 200

    refused = _event(world, tracking, "refused")
    assert refused["applied_action"] == "parcel_undeliverable"
    number = refused["case_number"]
    case = world.ok(BUYER_A, "GET", f"/api/v1/cases/{number}")
    assert (case["type"], case["reason"], case["state"]) == (
        "refund_only",
        "no_longer_needed",
        "parcel_returning",
    )
    assert case["deadline"]["kind"] == "parcel_return"
    assert "refund" in world.ok(X_MAIN, "GET", f"/api/v1/cases/{number}")["actions"]

    back = _event(world, tracking, "returned_to_sender")
    assert (back["case_number"], back["applied_action"]) == (number, "parcel_returned")
    timeline = world.ok(BUYER_A, "GET", f"/api/v1/cases/{number}/timeline")
    assert [(e["action"], e["rule"]) for e in timeline] == [
        ("open", "R16.1"),
        ("parcel_undeliverable", "R16.1"),
        ("parcel_returned", "R16.1"),
    ]
    assert timeline[-1]["to_state"] == "refunded"


def test_R16_2_the_merchant_asks_for_an_intercept_over_http(world: ApiWorld) -> None:
    number = world.case_in("awaiting_merchant_intercept")
    before = world.ok(X_MAIN, "GET", f"/api/v1/cases/{number}")
    assert "request-intercept" in before["actions"]

    after = world.act(X_MAIN, number, "request-intercept", {"note": "拦截快递"})
    assert after["state"] == "awaiting_merchant"
    assert after["deadline"] == before["deadline"]  # R5.1 keeps running
    assert "request-intercept" not in after["actions"]  # one intercept at a time
    entry = world.ok(X_MAIN, "GET", f"/api/v1/cases/{number}/timeline")[-1]
    assert (entry["action"], entry["rule"]) == ("request_intercept", "R16.2")

    refunded = world.act(X_MAIN, number, "approve-refund")
    assert refunded["state"] == "refunded" and refunded["intercept_missed"] is False


def test_R16_2_refunding_without_a_possible_intercept_shows_intercept_missed(
    world: ApiWorld,
) -> None:
    number = world.case_in("awaiting_merchant_intercept")
    refunded = world.act(X_MAIN, number, "approve-refund")
    assert refunded["intercept_missed"] is True
    entry = world.ok(ADMIN, "GET", f"/api/v1/cases/{number}/timeline")[-1]
    assert entry["changes"]["intercept_missed"]["after"]["rule"] == "R16.2"
