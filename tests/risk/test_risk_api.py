"""GET /api/v1/buyers/{ref}/risk (R15.2): the level, its label in the caller's language,
the score and every signal with its explanation, for platform agents and admins only.
(Who gets what for every principal is also a row of tests/api/test_authz_matrix.py.)"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from aftersales.domain.policy import RiskLevel
from aftersales.domain.risk import LEVEL_LABELS, SIGNAL_LABELS
from aftersales.i18n import gettext
from aftersales.store import catalog as catalog_store
from aftersales.store import risk as risk_store
from tests.api.support import (
    ADMIN,
    AGENT,
    ANONYMOUS,
    BUYER_A,
    SERVICE,
    SHOP_X,
    X_MAIN,
    ApiWorld,
    serial,
)

REF = "risky-buyer"


def push_bulk_order(world: ApiWorld, units: int) -> str:
    """A new marketplace account's first order: ``units`` of one item."""
    now = world.clock.now
    number = f"ORD{serial():08d}"
    world.ok(
        SERVICE,
        "POST",
        "/api/v1/orders",
        {
            "number": number,
            "shop": SHOP_X,
            "buyer": {
                "ref": REF,
                "name": "Wang Wu",
                "phone": "13900000000",
                "registered_at": (now - timedelta(days=3)).isoformat(),
            },
            "currency": "CNY",
            "lines": [
                {
                    "sku": "TEE",
                    "title": "T-shirt",
                    "quantity": units,
                    "unit_price": 100,
                    "paid": 100 * units,
                }
            ],
            "paid_at": (now - timedelta(hours=2)).isoformat(),
        },
    )
    return number


def get_risk(world: ApiWorld, principal: str, ref: str = REF, lang: str = "en") -> Any:
    return world.call(
        principal, "GET", f"/api/v1/buyers/{ref}/risk", headers={"Accept-Language": lang}
    )


def test_R15_2_agent_sees_the_level_and_why(world: ApiWorld) -> None:
    risk = world.ctx.profiles.current["douyin"].risk
    assert risk is not None
    number = push_bulk_order(world, risk.many_units_of_one_item)
    resp = get_risk(world, AGENT)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    fired = ["new_account", "no_purchase_history", "many_units_of_one_item"]
    score = sum(risk.weights[n] for n in fired)
    assert [s["name"] for s in body["signals"]] == fired
    assert [s["points"] for s in body["signals"]] == [risk.weights[n] for n in fired]
    level = "high" if score >= risk.high_at else "medium" if score >= risk.medium_at else "low"
    assert body | {"signals": None, "assessed_at": None} == {
        "buyer": REF,
        "level": level,
        "level_label": LEVEL_LABELS[RiskLevel(level)],
        "score": score,
        "medium_at": risk.medium_at,
        "high_at": risk.high_at,
        "profile": "douyin",
        "profile_version": world.ctx.profiles.current["douyin"].version,
        "order_number": number,
        "assessed_at": None,
        "signals": None,
    }
    new_account = body["signals"][0]
    assert new_account == {
        "name": "new_account",
        "label": "New account",
        "points": risk.weights["new_account"],
        "explanation": (
            f"Account age: 3 days; an account younger than {risk.new_account_days} days is new."
        ),
        "params": {"days": 3, "limit": risk.new_account_days},
        "raises_to": None,
    }
    zh = get_risk(world, ADMIN, lang="zh-CN").json()
    assert zh["level_label"] == gettext(LEVEL_LABELS[RiskLevel(level)], "zh_CN")
    assert zh["signals"][2]["label"] == gettext(SIGNAL_LABELS["many_units_of_one_item"], "zh_CN")


def test_R15_2_confirmed_report_shows_as_a_floor_on_the_level(world: ApiWorld) -> None:
    risk = world.ctx.profiles.current["douyin"].risk
    assert risk is not None
    push_bulk_order(world, 1)
    with world.ctx.db.write() as conn:
        buyer_id = catalog_store.buyer_id_by_ref(conn, REF)
        shop = catalog_store.get_shop_by_code(conn, SHOP_X)
        assert buyer_id is not None and shop is not None
        rid = risk_store.insert_report(
            conn, shop_id=shop.id, buyer_id=buyer_id, reason="r", now=world.clock.now
        )
        risk_store.set_report_status(
            conn, rid, "confirmed", now=world.clock.now, reviewed_by="agent"
        )
    body = get_risk(world, AGENT).json()
    assert body["level"] == risk.confirmed_report_level.value
    report = body["signals"][-1]
    assert report["name"] == "confirmed_malicious_report"
    assert report["raises_to"] == risk.confirmed_report_level.value
    assert report["points"] == 0
    label = LEVEL_LABELS[risk.confirmed_report_level]
    assert (
        report["explanation"]
        == f"Confirmed malicious-buyer reports: 1; the level is at least {label}."
    )


@pytest.mark.parametrize("principal", [BUYER_A, X_MAIN])
def test_R15_2_a_buyers_risk_is_not_found_for_shops_and_buyers(
    world: ApiWorld, principal: str
) -> None:
    push_bulk_order(world, 1)
    hidden = get_risk(world, principal)
    missing = get_risk(world, principal, ref="no-such-buyer")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["code"] == "buyer.not_found"
    assert hidden.text.replace(REF, "no-such-buyer") == missing.text
    assert get_risk(world, ANONYMOUS).status_code == 401
    assert get_risk(world, AGENT, ref="no-such-buyer").json()["code"] == "buyer.not_found"
