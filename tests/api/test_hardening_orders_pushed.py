"""Issue 11 §11: orders pushed in are consistent. Currencies are ISO 4217 tender on the day
of payment (CLDR through Babel), a line is paid at most its quantity × unit price, and no
pushed time (paid, shipped, signed, registered, a carrier's scan) lies beyond our clock plus
``AFTERSALES_CLOCK_SKEW_SECONDS``. Every refusal names its field and changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from aftersales.store.schema import ledger_entries, orders, outbox_events
from tests.api.test_problems_orders_logistics import Env, env  # noqa: F401  (fixture)


def _counts(e: Env) -> tuple[int, int, int]:
    with e.ctx.db.read() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (orders, ledger_entries, outbox_events)
        )


def _refused(r: Any, field: str, code: str) -> None:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == code, body
    assert [x["field"] for x in body["errors"]] == [field]


@pytest.mark.parametrize("currency", ["ZZZ", "XXX", "XAU", "DEM"])
def test_hardening_order_currency_is_iso_4217_tender_on_the_payment_day(
    env: Env,  # noqa: F811
    currency: str,
) -> None:
    before = _counts(env)
    _refused(env.push("O-C", currency=currency), "currency", "order.bad_currency")
    assert _counts(env) == before


def test_hardening_order_in_another_tender_currency_is_recorded(env: Env) -> None:  # noqa: F811
    r = env.push("O-J", currency="JPY")
    assert r.status_code == 201, r.text
    assert r.json()["currency"] == "JPY"


def test_hardening_order_line_paid_above_quantity_times_price_is_refused(
    env: Env,  # noqa: F811
) -> None:
    before = _counts(env)
    lines = [
        {"sku": "MUG", "title": "Mug", "quantity": 2, "unit_price": 4000, "paid": 8000},
        {"sku": "CUP", "title": "Cup", "quantity": 3, "unit_price": 100, "paid": 301},
    ]
    r = env.push("O-P", lines=lines)
    _refused(r, "lines.1.paid", "order.line_overpaid")
    assert "300" in r.json()["detail"]
    assert _counts(env) == before
    lines[1]["paid"] = 300  # exactly quantity × price: no discount
    assert env.push("O-P", lines=lines).status_code == 201


def test_hardening_order_far_above_its_lines_is_refused(env: Env) -> None:  # noqa: F811
    lines = [{"sku": "MUG", "title": "Mug", "quantity": 1, "unit_price": 100, "paid": 10**12}]
    _refused(env.push("O-H", lines=lines), "lines.0.paid", "order.line_overpaid")


@pytest.mark.parametrize("field", ["paid_at", "shipped_at", "signed_at"])
def test_hardening_order_times_a_century_ahead_are_refused(
    env: Env,  # noqa: F811
    field: str,
) -> None:
    before = _counts(env)
    now = env.clock.now
    times = {
        "paid_at": (now - timedelta(days=4)).isoformat(),
        "shipped_at": (now - timedelta(days=3)).isoformat(),
        "signed_at": (now - timedelta(days=1)).isoformat(),
    }
    ahead = now + timedelta(days=36525)
    times[field] = ahead.isoformat()
    # Later times follow the one moved ahead, so only the future check can refuse.
    order = ["paid_at", "shipped_at", "signed_at"]
    for later in order[order.index(field) + 1 :]:
        times[later] = (ahead + timedelta(days=1)).isoformat()
    r = env.push("O-F", **times)
    _refused(r, field, "time.in_future")
    assert _counts(env) == before


def test_hardening_order_times_within_the_clock_skew_are_accepted(env: Env) -> None:  # noqa: F811
    skew = env.ctx.settings.clock_skew_seconds
    assert skew > 0
    edge = env.clock.now + timedelta(seconds=skew)
    r = env.push("O-S", paid_at=edge.isoformat(), shipped_at=None, signed_at=None)
    assert r.status_code == 201, r.text
    late = env.clock.now + timedelta(seconds=skew + 1)
    r = env.push("O-T", paid_at=late.isoformat(), shipped_at=None, signed_at=None)
    _refused(r, "paid_at", "time.in_future")


def test_hardening_the_clock_skew_is_the_operators_setting(env: Env) -> None:  # noqa: F811
    env.ctx.settings = env.ctx.settings.model_copy(update={"clock_skew_seconds": 0})
    soon = env.clock.now + timedelta(seconds=1)
    r = env.push("O-Z", paid_at=soon.isoformat(), shipped_at=None, signed_at=None)
    _refused(r, "paid_at", "time.in_future")


def test_hardening_a_buyer_registered_in_the_future_is_refused(env: Env) -> None:  # noqa: F811
    buyer = {
        "ref": "u-9",
        "name": "Han Meimei",
        "phone": "13800000009",
        "registered_at": (env.clock.now + timedelta(days=400)).isoformat(),
    }
    _refused(env.push("O-B", buyer=buyer), "buyer.registered_at", "time.in_future")


def test_hardening_fulfilment_and_carrier_scans_in_the_future_are_refused(
    env: Env,  # noqa: F811
) -> None:
    r = env.push("O-X", shipped_at=None, signed_at=None)
    assert r.status_code == 201, r.text
    ahead = (env.clock.now + timedelta(days=2)).isoformat()
    r = env.client.post(
        "/api/v1/orders/O-X/fulfilment", json={"shipped_at": ahead}, headers=env.orders
    )
    _refused(r, "shipped_at", "time.in_future")
    r = env.client.post(
        "/api/v1/logistics/events",
        json={
            "carrier": "SF",
            "tracking_number": "SF1234567890123",
            "status": "delivered",
            "occurred_at": ahead,
        },
        headers=env.orders,
    )
    _refused(r, "occurred_at", "time.in_future")
    order = env.client.get("/api/v1/orders/O-X", headers=env.orders).json()
    assert order["shipped_at"] is None


def test_hardening_the_refusal_is_in_the_callers_language(env: Env) -> None:  # noqa: F811
    r = env.client.post(
        "/api/v1/orders",
        json={
            "number": "O-L",
            "shop": "acme",
            "buyer": {"ref": "u-1", "name": "Li Lei", "phone": "1"},
            "currency": "ZZZ",
            "lines": [{"sku": "M", "title": "M", "quantity": 1, "unit_price": 1, "paid": 1}],
            "paid_at": env.clock.now.isoformat(),
        },
        headers={**env.orders, "Accept-Language": "zh-CN"},
    )
    assert r.status_code == 422
    assert "ISO 4217" in r.json()["detail"] and "币种" in r.json()["detail"]
