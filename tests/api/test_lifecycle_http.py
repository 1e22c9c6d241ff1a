"""Every request type's full lifecycle over real HTTP: ``aftersales serve`` runs as its own
process on a fresh SQLite file and a fresh PostgreSQL database, and the parties use it the
way they would in production.

Only the first admin and the order system's service account and token are made with the
operator's CLI. Through HTTP: the admin logs in and opens the shop and its main account;
the order system pushes orders, reports fulfilment and provisions buyer accounts; the main
account creates a sub-account allowed to handle after-sales (R1.2), which handles every
case; the carrier integration reports return parcels delivered. The server runs on the
real clock, so orders are dated relative to now.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from tests.api.http_support import (
    Api,
    Buyer,
    LiveServer,
    Marketplace,
    Shop,
    ago,
    live_server,
    open_case,
    sf_tracking,
)

CJK = re.compile(r"[\u4e00-\u9fff]")
SORTS = (
    "created_at",
    "-created_at",
    "updated_at",
    "-updated_at",
    "deadline_at",
    "-deadline_at",
    "requested",
    "-requested",
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    with live_server(request.param, tmp_path_factory.mktemp(f"live-{request.param}")) as srv:
        yield srv


@pytest.fixture(scope="module")
def market(server: LiveServer) -> Iterator[Marketplace]:
    m = Marketplace(server)
    yield m
    m.close()
    assert server.alive(), server.log_tail()


@pytest.fixture
def shop(market: Marketplace) -> Shop:
    return market.open_shop()


def _steps(timeline: list[dict[str, Any]]) -> list[tuple[str, str | None, str, str]]:
    """(action, rule, actor kind, state after) for every timeline entry, oldest first."""
    assert [e["seq"] for e in timeline] == list(range(1, len(timeline) + 1))
    return [(e["action"], e["rule"], e["actor_kind"], e["to_state"]) for e in timeline]


def _money(case: dict[str, Any], field: str) -> int | None:
    value = case[field]
    if value is None:
        return None
    assert value["currency"] == "CNY"
    return int(value["amount"])


def _final_checks(
    shop: Shop, buyer: Buyer, number: str, state: str, close_reason: str
) -> dict[str, Any]:
    """Both parties read the same closed case; nobody has an action left."""
    seen_by_shop = shop.agent.case(number)
    seen_by_buyer = buyer.api.case(number)
    for case in (seen_by_shop, seen_by_buyer):
        assert case["state"] == state
        assert case["close_reason"] == close_reason
        assert case["closed_at"] is not None
        assert case["deadline"] is None
        assert case["actions"] == []
    assert seen_by_shop["version"] == seen_by_buyer["version"]
    return seen_by_shop


# --------------------------------------------------------------------------- R2.1
def test_refund_unshipped_is_refunded_in_full_with_freight_when_the_sub_account_approves(
    market: Marketplace, shop: Shop
) -> None:
    buyer, order = market.new_buyer(shop)  # paid, not shipped
    assert order["shipped_at"] is None
    case = open_case(buyer, order, "refund_unshipped", reason="ordered_by_mistake", amount=10_800)
    number = case["number"]
    assert re.fullmatch(r"AS\d{14}", number)
    assert case["state"] == "awaiting_merchant"
    assert case["shop"] == shop.code and case["order_number"] == order["number"]
    assert _money(case, "requested") == 10_800 and case["agreed"] is None
    assert case["deadline"]["kind"] == "merchant_response"
    assert "approve-refund" in shop.agent.case(number)["actions"]

    after = shop.agent.act(number, "approve-refund", note="refund before shipping")
    assert after["state"] == "refunded"
    assert _money(after, "agreed") == 10_800  # goods 100.00 + freight 8.00 (R5.2)

    final = _final_checks(shop, buyer, number, "refunded", "approve_refund")
    assert _money(final, "agreed") == 10_800
    timeline = buyer.api.timeline(number)
    assert _steps(timeline) == [
        ("open", "R2", "buyer", "awaiting_merchant"),
        ("approve_refund", "R5.2", "merchant", "refunded"),
    ]
    assert timeline[0]["actor_id"] == f"account:{buyer.api.account['id']}"
    assert timeline[1]["actor_id"] == f"account:{shop.agent.account['id']}"
    assert timeline[1]["note"] == "refund before shipping"
    assert timeline[1]["changes"]["agreed"]["after"] == {"amount": 10_800, "currency": "CNY"}


# --------------------------------------------------------------------------- R2.2 / R5.2
def test_refund_only_counter_offer_accepted_by_the_buyer_refunds_the_offered_amount(
    market: Marketplace, shop: Shop
) -> None:
    buyer, order = market.new_buyer(shop)
    shipped = market.fulfil(order["number"], shipped_at=ago(days=1))
    assert shipped["shipped_at"] is not None and shipped["signed_at"] is None
    case = open_case(buyer, order, "refund_only", reason="not_received", amount=10_800)
    number = case["number"]

    offered = shop.agent.act(number, "counter-offer", amount=6_000, note="half, keep it")
    assert offered["state"] == "awaiting_buyer"
    assert offered["offer"]["amount"] == {"amount": 6_000, "currency": "CNY"}
    assert offered["offer"]["return_required"] is False
    assert offered["deadline"]["kind"] == "buyer_offer_response"
    assert "accept-offer" in buyer.api.case(number)["actions"]

    accepted = buyer.api.act(number, "accept-offer")
    assert accepted["state"] == "refunded"
    assert _money(accepted, "agreed") == 6_000
    assert _money(accepted, "requested") == 10_800

    _final_checks(shop, buyer, number, "refunded", "accept_offer")
    assert _steps(shop.agent.timeline(number)) == [
        ("open", "R2", "buyer", "awaiting_merchant"),
        ("counter_offer", "R5.2", "merchant", "awaiting_buyer"),
        ("accept_offer", "R5.2", "buyer", "refunded"),
    ]


# --------------------------------------------------------------------------- R2.3 / R5
def test_return_refund_walks_approve_ship_carrier_delivered_receipt_refund(
    market: Marketplace, shop: Shop
) -> None:
    buyer, _ = market.new_buyer(shop)
    order = market.signed_order(shop, buyer)
    assert order["signed_at"] is not None
    case = open_case(buyer, order, "return_refund", reason="changed_mind", amount=10_000)
    number = case["number"]

    stale = shop.agent.post(f"/api/v1/cases/{number}/approve-return", {"expected_version": 9})
    assert stale.status_code == 409 and stale.json()["code"] == "case.conflict"
    approved = shop.agent.act(number, "approve-return", expected_version=case["version"])
    assert approved["state"] == "awaiting_return"
    assert approved["return_address"] == shop.return_address
    assert approved["deadline"]["kind"] == "return_shipment"
    assert approved["version"] == case["version"] + 1

    tracking = sf_tracking()
    shipped = buyer.api.act(
        number, "ship-return", carrier="SF", tracking_number=tracking, freight=1_200
    )
    assert shipped["state"] == "return_shipped"
    assert shipped["return_shipment"]["carrier"] == "SF"
    assert shipped["return_shipment"]["tracking_number"] == tracking
    assert shipped["return_shipment"]["freight"] == 1_200  # R16.3

    in_transit = market.carrier_event("SF", tracking, "in_transit")
    assert in_transit["case_number"] == number and in_transit["applied_action"] is None
    assert shop.agent.case(number)["state"] == "return_shipped"
    delivered = market.carrier_event("SF", tracking, "delivered")
    assert delivered["case_number"] == number
    assert delivered["applied_action"] == "return_delivered"
    assert delivered["duplicate"] is False
    at_shop = shop.agent.case(number)
    # The carrier retries its push: recognised, and the case does not move twice.
    event = delivered["occurred_at"]
    again = market.ordersys.post(
        "/api/v1/logistics/events",
        {"carrier": "SF", "tracking_number": tracking, "status": "delivered", "occurred_at": event},
    )
    assert again.status_code == 201 and again.json()["duplicate"] is True
    assert again.json()["id"] == delivered["id"]
    assert shop.agent.case(number)["version"] == at_shop["version"]
    assert at_shop["state"] == "return_delivered"
    assert at_shop["deadline"]["kind"] == "merchant_receipt"

    received = shop.agent.act(number, "confirm-receipt")
    assert received["state"] == "return_received"
    # R5.4: the receipt clock started at delivery keeps running.
    assert received["deadline"] == at_shop["deadline"]

    refunded = shop.agent.act(number, "refund")
    assert refunded["state"] == "refunded"
    assert _money(refunded, "agreed") == 10_000  # no-reason: the goods, not the freight

    _final_checks(shop, buyer, number, "refunded", "refund")
    timeline = buyer.api.timeline(number)
    assert _steps(timeline) == [
        ("open", "R4.1", "buyer", "awaiting_merchant"),
        ("approve_return", "R5.1", "merchant", "awaiting_return"),
        ("ship_return", "R5.3", "buyer", "return_shipped"),
        ("return_delivered", "R5.4", "carrier", "return_delivered"),
        ("confirm_receipt", "R5.4", "merchant", "return_received"),
        ("refund", "R5.4", "merchant", "refunded"),
    ]
    assert timeline[3]["actor_id"].endswith(":SF")


# --------------------------------------------------------------------------- R2.4
def test_exchange_walks_return_then_replacement_to_completed_without_money(
    market: Marketplace, shop: Shop
) -> None:
    buyer, _ = market.new_buyer(shop)
    order = market.signed_order(shop, buyer)
    case = open_case(buyer, order, "exchange", reason="size_colour_mismatch", amount=0)
    number = case["number"]

    assert shop.agent.act(number, "approve-return")["state"] == "awaiting_return"
    back = sf_tracking()
    buyer.api.act(number, "ship-return", carrier="SF", tracking_number=back)
    assert market.carrier_event("SF", back, "signed")["applied_action"] == "return_delivered"
    assert shop.agent.case(number)["state"] == "return_delivered"
    assert shop.agent.act(number, "confirm-receipt")["state"] == "return_received"

    out = sf_tracking()
    sent = shop.agent.act(number, "ship-replacement", carrier="SF", tracking_number=out)
    assert sent["state"] == "replacement_shipped"
    assert sent["replacement_shipment"]["tracking_number"] == out
    assert sent["deadline"]["kind"] == "replacement_confirm"
    assert "confirm-replacement" in buyer.api.case(number)["actions"]

    done = buyer.api.act(number, "confirm-replacement")
    assert done["state"] == "completed"
    assert done["agreed"] is None and _money(done, "requested") == 0

    _final_checks(shop, buyer, number, "completed", "confirm_replacement")
    assert _steps(shop.agent.timeline(number)) == [
        ("open", "R4.2", "buyer", "awaiting_merchant"),
        ("approve_return", "R5.1", "merchant", "awaiting_return"),
        ("ship_return", "R5.3", "buyer", "return_shipped"),
        ("return_delivered", "R5.4", "carrier", "return_delivered"),
        ("confirm_receipt", "R5.4", "merchant", "return_received"),
        ("ship_replacement", "R2.4", "merchant", "replacement_shipped"),
        ("confirm_replacement", "R2.4", "buyer", "completed"),
    ]


# --------------------------------------------------------------------------- R2.5
def test_reship_walks_approve_ship_replacement_confirm_to_completed(
    market: Marketplace, shop: Shop
) -> None:
    buyer, _ = market.new_buyer(shop)
    order = market.signed_order(shop, buyer)
    case = open_case(buyer, order, "reship", reason="missing_item", amount=0)
    number = case["number"]

    approved = shop.agent.act(number, "approve-reship", note="sending the missing part")
    assert approved["state"] == "awaiting_reship"
    out = sf_tracking()
    sent = shop.agent.act(number, "ship-replacement", carrier="SF", tracking_number=out)
    assert sent["state"] == "replacement_shipped"
    done = buyer.api.act(number, "confirm-replacement")
    assert done["state"] == "completed" and done["agreed"] is None

    _final_checks(shop, buyer, number, "completed", "confirm_replacement")
    assert _steps(buyer.api.timeline(number)) == [
        ("open", "R4.2", "buyer", "awaiting_merchant"),
        ("approve_reship", "R2.5", "merchant", "awaiting_reship"),
        ("ship_replacement", "R2.5", "merchant", "replacement_shipped"),
        ("confirm_replacement", "R2.4", "buyer", "completed"),
    ]


# --------------------------------------------------------------------------- R5.5 / R5.6
def test_R5_5_reject_rests_on_the_shops_evidence_items_then_resubmit_then_refund(
    market: Marketplace, shop: Shop
) -> None:
    buyer, _ = market.new_buyer(shop)
    order = market.signed_order(shop, buyer)
    case = open_case(buyer, order, "refund_only", reason="defect", amount=5_000)
    number = case["number"]

    # R5.5: the code needs evidence; without it nothing changes.
    bare = shop.agent.post(f"/api/v1/cases/{number}/reject", {"refusal_code": "no_quality_issue"})
    assert bare.status_code == 409, bare.text
    assert bare.json()["code"] == "refusal.evidence_missing"
    assert bare.json()["rule"] == "R5.5"
    assert bare.json()["errors"][0]["field"] == "evidence_ids"

    # Proof is a file: an item the shop added to this case, of a kind the code requires.
    qc = shop.agent.evidence(number, "qc_record")
    chat = shop.main.evidence(number, "chat_log")
    buyers = buyer.api.evidence(number, "photo")
    other_case = open_case(buyer, market.signed_order(shop, buyer), "refund_only",
                           reason="defect", amount=1_000)  # fmt: skip
    elsewhere = shop.agent.evidence(other_case["number"], "qc_record")
    refused = {
        "refusal.evidence_not_the_shops": [buyers["id"]],
        "refusal.evidence_not_on_case": [elsewhere["id"]],
        "refusal.evidence_wrong_kind": [qc["id"], chat["id"]],
        "refusal.evidence_repeated": [qc["id"], qc["id"]],
    }
    for code, ids in [*refused.items(), ("refusal.evidence_not_on_case", [2_147_483_000])]:
        res = shop.agent.post(
            f"/api/v1/cases/{number}/reject",
            {"refusal_code": "no_quality_issue", "evidence_ids": ids},
            lang="zh-CN",
        )
        assert res.status_code == 422, res.text
        doc = res.json()
        assert (doc["code"], doc["rule"]) == (code, "R5.5"), doc
        assert doc["errors"][0]["field"] == "evidence_ids"
        assert doc["detail"] != code and not doc["detail"].isascii()  # in the caller's language
    # Kinds the shop says it has (the old body) prove nothing.
    claimed = shop.agent.post(
        f"/api/v1/cases/{number}/reject",
        {"refusal_code": "no_quality_issue", "evidence": ["qc_record"]},
    )
    assert claimed.status_code == 409, claimed.text
    assert claimed.json()["code"] == "refusal.evidence_missing"
    assert shop.agent.case(number)["version"] == case["version"]

    rejected = shop.agent.act(
        number,
        "reject",
        refusal_code="no_quality_issue",
        evidence_ids=[qc["id"]],
        note="QC passed",
    )
    assert rejected["state"] == "rejected"
    assert rejected["refusal_code"] == "no_quality_issue"
    assert rejected["deadline"]["kind"] == "resubmit_window"
    assert "resubmit" in buyer.api.case(number)["actions"]

    again = buyer.api.act(number, "resubmit", amount=4_000, description="photos attached")
    assert again["state"] == "awaiting_merchant"
    assert _money(again, "requested") == 4_000
    assert again["description"] == "photos attached"

    refunded = shop.agent.act(number, "approve-refund")
    assert refunded["state"] == "refunded"
    assert _money(refunded, "agreed") == 4_000

    _final_checks(shop, buyer, number, "refunded", "approve_refund")
    timeline = [e for e in shop.agent.timeline(number) if e["action"] != "evidence_added"]
    assert [(e["action"], e["rule"], e["actor_kind"], e["to_state"]) for e in timeline] == [
        ("open", "R4.2", "buyer", "awaiting_merchant"),
        ("reject", "R5.5", "merchant", "rejected"),
        ("resubmit", "R5.6", "buyer", "awaiting_merchant"),
        ("approve_refund", "R5.2", "merchant", "refunded"),
    ]
    assert timeline[1]["changes"]["evidence"]["after"] == ["qc_record"]
    assert timeline[1]["changes"]["evidence_ids"]["after"] == [qc["id"]]
    assert timeline[1]["note"] == "QC passed"


@pytest.mark.parametrize(
    ("type", "reason", "amount", "before_cancel", "state_at_cancel"),
    [
        ("return_refund", "changed_mind", 10_000, [], "awaiting_merchant"),
        ("return_refund", "changed_mind", 10_000, ["approve-return"], "awaiting_return"),
        ("exchange", "defect", 0, ["reject"], "rejected"),
        ("reship", "wrong_item", 0, ["approve-reship"], "awaiting_reship"),
        ("refund_only", "defect", 3_000, ["counter-offer"], "awaiting_buyer"),
    ],
)
def test_buyer_cancel_closes_the_case_from_each_state_that_allows_it(
    market: Marketplace,
    shop: Shop,
    type: str,
    reason: str,
    amount: int,
    before_cancel: list[str],
    state_at_cancel: str,
) -> None:
    buyer, _ = market.new_buyer(shop)
    order = market.signed_order(shop, buyer)
    number = open_case(buyer, order, type, reason=reason, amount=amount)["number"]
    bodies: dict[str, Callable[[], dict[str, Any]]] = {
        "approve-return": dict,
        "approve-reship": dict,
        "reject": lambda: {
            "refusal_code": "no_quality_issue",
            "evidence_ids": [shop.agent.evidence(number, "photo")["id"]],
        },
        "counter-offer": lambda: {"amount": 1_000},
    }
    for action in before_cancel:
        shop.agent.act(number, action, **bodies[action]())
    assert buyer.api.case(number)["state"] == state_at_cancel
    assert "cancel" in buyer.api.case(number)["actions"]

    closed = buyer.api.act(number, "cancel", note="no longer needed")
    assert closed["state"] == "closed"
    assert closed["agreed"] is None

    _final_checks(shop, buyer, number, "closed", "cancel")
    steps = [s for s in _steps(buyer.api.timeline(number)) if s[0] != "evidence_added"]
    assert len(steps) == 2 + len(before_cancel)
    assert steps[-1] == ("cancel", "R2", "buyer", "closed")
    # A closed case takes no further action: the merchant cannot refund it any more.
    late = shop.agent.post(f"/api/v1/cases/{number}/approve-refund", {})
    assert late.status_code == 409 and late.json()["code"] == "transition.illegal"


def test_sub_account_without_handle_aftersales_is_refused_and_changes_nothing(
    market: Marketplace, shop: Shop
) -> None:
    buyer, order = market.new_buyer(shop)
    number = open_case(buyer, order, "refund_unshipped", reason="other", amount=5_000)["number"]
    login = f"{shop.code}-viewer".lower()
    shop.main.ok(
        shop.main.post(
            f"/api/v1/shops/{shop.code}/accounts",
            {"login": login, "password": "password-123", "permissions": ["view_analytics"]},
        ),
        201,
    )
    viewer = Api.login(market.server, login, "password-123")
    try:
        res = viewer.post(f"/api/v1/cases/{number}/approve-refund", {})
        assert res.status_code == 403, res.text
        assert res.json()["code"] == "auth.permission_missing"
        assert res.json()["rule"] == "R1.2"
        assert shop.agent.case(number)["state"] == "awaiting_merchant"
        # A cookie session must send its CSRF token with every change.
        csrf = shop.agent.http.headers.pop("X-CSRF-Token")
        try:
            res = shop.agent.post(f"/api/v1/cases/{number}/approve-refund", {})
        finally:
            shop.agent.http.headers["X-CSRF-Token"] = csrf
        assert res.status_code == 403 and res.json()["code"] == "auth.csrf_failed"
        assert shop.agent.case(number)["state"] == "awaiting_merchant"
    finally:
        viewer.close()


# --------------------------------------------------------------------------- i18n
def test_the_same_refusal_is_explained_in_chinese_or_english_per_accept_language(
    market: Marketplace, shop: Shop
) -> None:
    buyer, order = market.new_buyer(shop)
    number = open_case(buyer, order, "refund_unshipped", reason="other", amount=5_000)["number"]
    path = f"/api/v1/cases/{number}/confirm-receipt"  # not a move from awaiting_merchant

    answers = {lang: shop.agent.post(path, {}, lang=lang) for lang in ("zh-CN", "en")}
    for res in answers.values():
        assert res.status_code == 409, res.text
        assert res.headers["content-type"].startswith("application/problem+json")
    zh, en = answers["zh-CN"].json(), answers["en"].json()
    for body in (zh, en):
        assert body["code"] == "transition.illegal"
        assert body["type"].endswith("/transition.illegal")
        assert body["rule"] == "R5.4"
        assert body["status"] == 409
        assert body["instance"] == path
    assert CJK.search(zh["detail"]), zh
    assert not CJK.search(en["detail"]) and "cannot take action" in en["detail"], en
    assert zh["detail"] != en["detail"]
    assert shop.agent.case(number)["state"] == "awaiting_merchant"
    # Successful answers carry their labels in the caller's language too.
    zh_case = shop.agent.ok(shop.agent.get(f"/api/v1/cases/{number}", lang="zh-CN"))
    en_case = shop.agent.ok(shop.agent.get(f"/api/v1/cases/{number}", lang="en"))
    assert CJK.search(zh_case["state_label"]) and not CJK.search(en_case["state_label"])
    zh_timeline = shop.agent.ok(shop.agent.get(f"/api/v1/cases/{number}/timeline", lang="zh"))
    assert CJK.search(zh_timeline[0]["action_label"])


# --------------------------------------------------------------------------- lists
def _walk(api: Api, limit: int, **filters: Any) -> list[list[str]]:
    """Every page of the case list, following next_cursor to the end."""
    pages: list[list[str]] = []
    cursor = None
    while True:
        body = api.ok(api.get("/api/v1/cases", limit=limit, cursor=cursor, **filters))
        assert len(body["items"]) <= limit
        pages.append([item["number"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "the cursor does not advance"


def test_case_list_filters_by_state_type_shop_order_and_buyer_phone(
    market: Marketplace, shop: Shop
) -> None:
    other_shop = market.open_shop()
    ann, ann_order = market.new_buyer(shop)
    bob, bob_order = market.new_buyer(shop)
    ann_signed = market.signed_order(shop, ann)
    refunded = open_case(ann, ann_order, "refund_unshipped", reason="other", amount=3_000)
    shop.agent.act(refunded["number"], "approve-refund")
    ann_return = open_case(ann, ann_signed, "return_refund", reason="changed_mind", amount=10_000)
    bob_case = open_case(bob, bob_order, "refund_unshipped", reason="other", amount=2_000)
    elsewhere_buyer, elsewhere_order = market.new_buyer(other_shop)
    open_case(elsewhere_buyer, elsewhere_order, "refund_unshipped", reason="other", amount=1_000)
    mine = {refunded["number"], ann_return["number"], bob_case["number"]}

    def numbers(api: Api, **filters: Any) -> set[str]:
        body = api.ok(api.get("/api/v1/cases", limit=200, **filters))
        return {item["number"] for item in body["items"]}

    # The shop's accounts see exactly its cases; the admin filters by shop.
    assert numbers(shop.main) == mine
    assert numbers(shop.agent) == mine
    assert numbers(market.admin, shop=shop.code) == mine
    assert numbers(ann.api) == {refunded["number"], ann_return["number"]}

    assert numbers(market.admin, shop=shop.code, state="refunded") == {refunded["number"]}
    assert numbers(shop.agent, state="awaiting_merchant") == {
        ann_return["number"],
        bob_case["number"],
    }
    assert numbers(shop.agent, type="return_refund") == {ann_return["number"]}
    assert numbers(shop.agent, type=["return_refund", "refund_unshipped"]) == mine
    assert numbers(shop.agent, order_number=bob_order["number"]) == {bob_case["number"]}
    assert numbers(shop.agent, buyer_phone=ann.phone) == {
        refunded["number"],
        ann_return["number"],
    }
    assert numbers(market.admin, buyer_phone=bob.phone) == {bob_case["number"]}
    assert numbers(shop.agent, buyer_phone=ann.phone, state="refunded") == {refunded["number"]}
    assert numbers(shop.agent, shop=other_shop.code) == set()  # not its shop

    body = shop.agent.ok(shop.agent.get("/api/v1/cases", order_number=bob_order["number"]))
    (item,) = body["items"]
    assert item["buyer_name"] == bob.name and item["shop"] == shop.code
    assert item["requested"] == {"amount": 2_000, "currency": "CNY"}
    assert item["state"] == "awaiting_merchant" and item["type"] == "refund_unshipped"


def test_cursor_pagination_of_two_has_no_duplicates_or_gaps_and_is_stable_under_changes(
    market: Marketplace, shop: Shop
) -> None:
    opened: list[str] = []
    for amount in (1_000, 2_000, 1_000, 3_000, 2_000, 1_000):  # ties for sort=requested
        buyer, order = market.new_buyer(shop)
        opened.append(
            open_case(buyer, order, "refund_unshipped", reason="other", amount=amount)["number"]
        )
    everything = shop.agent.ok(shop.agent.get("/api/v1/cases", limit=200))["items"]
    newest_first = [item["number"] for item in everything]
    assert sorted(newest_first) == sorted(opened)
    assert newest_first == list(reversed(opened))  # default sort: -created_at

    pages = _walk(shop.agent, 2)
    assert [len(p) for p in pages] == [2, 2, 2]
    assert [n for p in pages for n in p] == newest_first
    assert _walk(market.admin, 2, shop=shop.code) == pages

    # Between pages a case is acted on and a new one opened: the walk neither repeats
    # nor skips a case that was there when it started.
    first = shop.agent.ok(shop.agent.get("/api/v1/cases", limit=2))
    shop.agent.act(first["items"][0]["number"], "approve-refund")
    shop.agent.act(newest_first[-1], "approve-refund")
    late_buyer, late_order = market.new_buyer(shop)
    late = open_case(late_buyer, late_order, "refund_unshipped", reason="other", amount=1_000)
    seen = [item["number"] for item in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        body = shop.agent.ok(shop.agent.get("/api/v1/cases", limit=2, cursor=cursor))
        seen += [item["number"] for item in body["items"]]
        cursor = body["next_cursor"]
    assert seen == newest_first
    assert late["number"] not in seen

    oldest_first = [n for p in _walk(shop.agent, 2, sort="created_at") for n in p]
    assert oldest_first == [*opened, late["number"]]
    refunded = [n for p in _walk(shop.agent, 2, state="refunded") for n in p]
    assert sorted(refunded) == sorted({first["items"][0]["number"], newest_first[-1]})

    # Every sort key, with ties (amounts) and cases without a deadline (refunded ones):
    # pages of 2 and 3 add up to the one-page list, in order.
    for sort in SORTS:
        full = shop.agent.ok(shop.agent.get("/api/v1/cases", limit=200, sort=sort))["items"]
        assert len(full) == 7
        key = sort.lstrip("-")
        values: list[Any]
        if key == "requested":
            values = [i["requested"]["amount"] for i in full]
        elif key == "deadline_at":
            dues = [(i["deadline"] or {}).get("due_at") for i in full]
            values = [datetime.fromisoformat(d) if d else None for d in dues]
        else:
            values = [datetime.fromisoformat(i[key]) for i in full]
        present = [v for v in values if v is not None]
        assert present == sorted(present, reverse=sort.startswith("-")), (sort, values)
        assert values[len(present) :] == [None] * (len(values) - len(present))  # nulls last
        for limit in (2, 3):
            walked = [n for p in _walk(shop.agent, limit, sort=sort) for n in p]
            assert walked == [i["number"] for i in full], (sort, limit)

    tampered = shop.agent.get("/api/v1/cases", limit=2, cursor="not-a-cursor")
    assert tampered.status_code == 422 and tampered.json()["code"] == "cursor.invalid"
    other_sort = shop.agent.get(
        "/api/v1/cases", limit=2, sort="requested", cursor=first["next_cursor"]
    )
    assert other_sort.status_code == 422 and other_sort.json()["code"] == "cursor.invalid"
