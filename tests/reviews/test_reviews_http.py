"""Reviews and R12.3 negative-review appeals over HTTP: pushed and written reviews, the
product's positive-review rate, filing (Idempotency-Key), the agent's one decision
(409 after), and refusals as problem+json naming R12.3."""

from __future__ import annotations

from typing import Any

from aftersales.domain.policy import NegativeReviewAppealRules
from aftersales.domain.reviews import Topic
from tests.api.support import (
    ADMIN,
    AGENT,
    BUYER_A,
    BUYER_B,
    REF_A,
    REF_B,
    SERVICE,
    SHOP_X,
    SHOP_Y,
    X_MAIN,
    X_SUB_HANDLE,
    Y_MAIN,
    ApiWorld,
)

PROBLEM = "application/problem+json"


def _rules(w: ApiWorld) -> NegativeReviewAppealRules:
    profile = w.ctx.profiles.current["tiktok"]
    assert profile.appeals is not None and profile.appeals.negative_review is not None
    return profile.appeals.negative_review


def _to_tiktok(w: ApiWorld, shop: str = SHOP_X) -> None:
    w.ok(ADMIN, "PATCH", f"/api/v1/shops/{shop}", {"profile": "tiktok"})


def _reviewed_order(
    w: ApiWorld, *, shop: str = SHOP_X, buyer: str = BUYER_A, rating: int, topic: str
) -> dict[str, Any]:
    """An order with a case and a buyer message on it, and the order system's review."""
    number, line = w.push_order(shop, REF_A if buyer == BUYER_A else REF_B)
    case = w.ok(
        buyer,
        "POST",
        "/api/v1/cases",
        {
            "order_number": number,
            "type": "return_refund",
            "lines": [{"order_line_id": line, "quantity": 1}],
            "reason": "changed_mind",
            "amount": 10000,
        },
    )
    msg = w.ok(buyer, "POST", f"/api/v1/cases/{case['number']}/messages", {"body": "Hello?"})
    review = w.ok(
        SERVICE,
        "POST",
        "/api/v1/reviews",
        {
            "order_number": number,
            "order_line_id": line,
            "rating": rating,
            "topic": topic,
            "text": "Never again.",
        },
    )
    return {"number": number, "line": line, "message": msg["id"], "review": review}


def _evidence(o: dict[str, Any], kinds: tuple[str, ...]) -> list[dict[str, str]]:
    refs = {"order": o["number"], "logistics": "SF1234567890123", "chat": f"message:{o['message']}"}
    return [{"kind": k, "ref": refs[k], "description": f"{k} proof"} for k in kinds]


def _appealable(r: NegativeReviewAppealRules) -> str:
    return next(t.value for t in Topic if t.value not in r.excluded_topics)


def test_R12_3_appeal_over_http_from_filing_to_an_upheld_decision(world: ApiWorld) -> None:
    _to_tiktok(world)
    r = _rules(world)
    o = _reviewed_order(world, rating=r.negative_max_rating, topic=_appealable(r))
    review = o["review"]
    assert (review["negative"], review["source"], review["removed"]) == (True, "platform", False)
    # Buyer A writes a positive review of another order of the same product.
    number, line = world.push_order(SHOP_X, REF_A)
    mine = world.ok(
        BUYER_A,
        "POST",
        "/api/v1/reviews",
        {"order_number": number, "order_line_id": line, "rating": 5, "topic": "price"},
    )
    assert (mine["source"], mine["negative"]) == ("buyer", False)
    listing = f"/api/v1/shops/{SHOP_X}/products/TEE/reviews"
    page = world.ok(X_MAIN, "GET", listing)
    assert (page["positive_rate"], page["counted"], len(page["items"])) == (0.5, 2, 2)

    path = f"/api/v1/reviews/{review['id']}/appeals"
    body = {
        "reason": "The buyer reviewed a parcel from another shop.",
        "evidence": _evidence(o, r.required_evidence),
    }
    key = {"Idempotency-Key": f"appeal-{review['id']}"}
    first = world.call(X_SUB_HANDLE, "POST", path, body, headers=key)
    assert first.status_code == 201, first.text
    appeal = first.json()
    assert (appeal["status"], appeal["attempt"], appeal["order_number"]) == (
        "pending",
        1,
        o["number"],
    )
    assert appeal["profile"].startswith("tiktok v")
    again = world.call(X_SUB_HANDLE, "POST", path, body, headers=key)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.content == first.content
    twice = world.call(X_MAIN, "POST", path, body)
    assert twice.status_code == 409 and twice.headers["content-type"].startswith(PROBLEM)
    assert (twice.json()["code"], twice.json()["rule"]) == (
        "review_appeal.already_pending",
        "R12.3",
    )

    queue = world.ok(AGENT, "GET", "/api/v1/review-appeals?status=pending")["items"]
    assert [a["id"] for a in queue] == [appeal["id"]]
    assert world.ok(Y_MAIN, "GET", "/api/v1/review-appeals")["items"] == []
    assert [a["id"] for a in world.ok(X_MAIN, "GET", "/api/v1/review-appeals")["items"]] == [
        appeal["id"]
    ]

    decision = f"/api/v1/review-appeals/{appeal['id']}/decision"
    refused = world.call(X_MAIN, "POST", decision, {"decision": "uphold", "note": "Please."})
    assert refused.status_code == 403, refused.text
    done = world.ok(AGENT, "POST", decision, {"decision": "uphold", "note": "Wrong parcel."})
    assert (done["status"], done["decision_note"]) == ("upheld", "Wrong parcel.")
    late = world.call(AGENT, "POST", decision, {"decision": "dismiss", "note": "No."})
    assert late.status_code == 409 and late.json()["code"] == "review_appeal.already_decided"

    page = world.ok(AGENT, "GET", listing)
    assert (page["positive_rate"], page["counted"], len(page["items"])) == (1.0, 1, 2)
    removed = next(i for i in page["items"] if i["id"] == review["id"])
    assert (removed["removed"], removed["removed_by_appeal"]) == (True, appeal["id"])
    assert world.ok(AGENT, "GET", "/api/v1/review-appeals?status=pending")["items"] == []


def test_R12_3_douyin_shop_is_refused_naming_the_rule(world: ApiWorld) -> None:
    o = _reviewed_order(world, shop=SHOP_Y, buyer=BUYER_B, rating=1, topic="logistics")
    assert o["review"]["negative"] is None
    resp = world.call(
        Y_MAIN,
        "POST",
        f"/api/v1/reviews/{o['review']['id']}/appeals",
        {"reason": "Wrong parcel.", "evidence": _evidence(o, ("order", "logistics", "chat"))},
        headers={"Accept-Language": "en"},
    )
    assert resp.status_code == 409 and resp.headers["content-type"].startswith(PROBLEM)
    doc = resp.json()
    assert (doc["code"], doc["rule"]) == ("review_appeal.not_offered", "R12.3")
    assert doc["detail"] == "Negative-review appeals are not offered on this marketplace."


def test_R12_3_refusals_are_problems_naming_the_rule(world: ApiWorld) -> None:
    _to_tiktok(world)
    r = _rules(world)
    excluded = _reviewed_order(world, rating=1, topic=r.excluded_topics[0])
    resp = world.call(
        X_MAIN,
        "POST",
        f"/api/v1/reviews/{excluded['review']['id']}/appeals",
        {"reason": "x", "evidence": _evidence(excluded, r.required_evidence)},
    )
    assert resp.status_code == 409
    assert (resp.json()["code"], resp.json()["rule"]) == ("review_appeal.topic_excluded", "R12.3")

    o = _reviewed_order(world, rating=r.negative_max_rating, topic=_appealable(r))
    path = f"/api/v1/reviews/{o['review']['id']}/appeals"
    without_chat = tuple(k for k in r.required_evidence if k != "chat")
    resp = world.call(X_MAIN, "POST", path, {"reason": "x", "evidence": _evidence(o, without_chat)})
    assert resp.status_code == 422 and resp.headers["content-type"].startswith(PROBLEM)
    doc = resp.json()
    assert (doc["code"], doc["rule"], doc["errors"][0]["field"]) == (
        "review_appeal.evidence_missing",
        "R12.3",
        "evidence",
    )
    world.clock.advance(days=r.window_days + 1)
    resp = world.call(
        X_MAIN, "POST", path, {"reason": "x", "evidence": _evidence(o, r.required_evidence)}
    )
    assert resp.status_code == 409 and resp.json()["code"] == "review_appeal.window_closed"


def test_reviews_are_validated_and_recorded_once_per_line(world: ApiWorld) -> None:
    number, line = world.push_order(SHOP_X, REF_A)
    base = {"order_number": number, "order_line_id": line, "rating": 3, "topic": "other"}
    for bad in ({"rating": 0}, {"rating": 6}, {"topic": "weather"}, {"stars": 5}):
        resp = world.call(SERVICE, "POST", "/api/v1/reviews", {**base, **bad})
        assert resp.status_code == 422, (bad, resp.text)
    assert world.call(SERVICE, "POST", "/api/v1/reviews", base).status_code == 201
    again = world.call(BUYER_A, "POST", "/api/v1/reviews", base)
    assert again.status_code == 409 and again.json()["code"] == "review.already_recorded"
    hidden = world.call(BUYER_B, "POST", "/api/v1/reviews", base)
    assert hidden.status_code == 404 and hidden.json()["code"] == "order.not_found"
    assert world.call(X_MAIN, "POST", "/api/v1/reviews", base).status_code == 403
    missing = world.call(X_MAIN, "GET", f"/api/v1/shops/{SHOP_X}/products/NOPE/reviews")
    assert missing.status_code == 404 and missing.json()["code"] == "product.not_found"
    assert (
        world.call(Y_MAIN, "GET", f"/api/v1/shops/{SHOP_X}/products/TEE/reviews").status_code == 404
    )
