"""R11.2 over HTTP: the marketplace's payment system records deposit top-ups; the shop and
the platform read the shop's standing (withdrawals frozen, why, since when)."""

from __future__ import annotations

from tests.api.test_problems_orders_logistics import Env, _bearer, env  # noqa: F401


def test_R11_2_deposit_top_up_and_standing_over_http(env: Env) -> None:  # noqa: F811
    required = env.ctx.profiles.current["douyin"].money.required_deposit
    r = env.client.post(
        "/api/v1/shops/acme/deposit",
        json={"amount": required - 1, "reference": "PAY-1"},
        headers=env.orders,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["standing"]["deposit"] == required - 1
    assert body["standing"]["required_deposit"] == required
    # A top-up that leaves the deposit short does not freeze: only a deduction does.
    assert body["standing"]["withdrawals_frozen"] is False
    again = env.client.post(
        "/api/v1/shops/acme/deposit",
        json={"amount": required - 1, "reference": "PAY-1"},
        headers=env.orders,
    )
    assert again.status_code == 201 and again.json()["entry_id"] == body["entry_id"]
    clash = env.client.post(
        "/api/v1/shops/acme/deposit",
        json={"amount": 5, "reference": "PAY-1"},
        headers=env.orders,
    )
    assert clash.status_code == 409 and clash.json()["errors"][0]["field"] == "reference"
    for bad in ({"amount": 0, "reference": "P"}, {"amount": "5", "reference": "P"}):
        r = env.client.post("/api/v1/shops/acme/deposit", json=bad, headers=env.orders)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.amount"

    merchant = _bearer(env.ctx, "acme", "cases:read", "cases:write")
    r = env.client.post(
        "/api/v1/shops/acme/deposit", json={"amount": 1, "reference": "P2"}, headers=merchant
    )
    assert r.status_code == 403
    standing = env.client.get("/api/v1/shops/acme/standing", headers=merchant)
    assert standing.status_code == 200, standing.text
    assert standing.json()["deposit"] == required - 1 and standing.json()["changes"] == []
    assert env.client.get("/api/v1/shops/nope/standing", headers=merchant).status_code == 404


def test_R11_2_shop_status_changed_is_a_webhook_event_type(env: Env) -> None:  # noqa: F811
    merchant = _bearer(env.ctx, "acme", "cases:read", "shop:admin")
    r = env.client.get("/api/v1/webhooks/event-types", headers=merchant)
    assert r.status_code == 200 and "shop.status_changed" in r.json()["items"]
