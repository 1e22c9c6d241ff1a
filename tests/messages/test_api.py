"""R5.7 through the JSON API: held messages explained, the sender's edit, templates,
statistics, problem documents for refusals and malformed input."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from aftersales.api.app import create_app
from aftersales.domain.accounts import AccountKind
from aftersales.services import messages as msg
from tests.factories import World, make_world
from tests.messages.support import account, buyer_with_ref, open_for, shop_code, token

MESSAGES = ("cases:read", "cases:write", "messages:write")


@dataclass
class Api:
    client: TestClient
    world: World
    shop: str
    case: str
    buyer: dict[str, str]
    shop_main: dict[str, str]

    @staticmethod
    def auth(tok: str, lang: str = "en") -> dict[str, str]:
        return {"Authorization": f"Bearer {tok}", "Accept-Language": lang}


@pytest.fixture
def api(ctx) -> Iterator[Api]:
    w = make_world(ctx)
    buyer_id, ref = buyer_with_ref(w)
    number = open_for(w, buyer_id)
    buyer_acc, _ = account(ctx, AccountKind.BUYER, buyer_ref=ref)
    main_acc, _ = account(ctx, AccountKind.MERCHANT, shop_id=w.shop_id, main=True)
    app = create_app(ctx, embedded_worker=False, embedded_dispatcher=False)
    with TestClient(app) as client:
        yield Api(
            client,
            w,
            shop_code(ctx, w.shop_id),
            number,
            Api.auth(token(ctx, buyer_acc, MESSAGES)),
            Api.auth(token(ctx, main_acc, (*MESSAGES, "shop:admin"))),
        )


def test_R5_7_api_a_held_message_is_explained_hidden_from_the_buyer_and_edited(api: Api):
    c, path = api.client, f"/api/v1/cases/{api.case}/messages"
    body = "加我微信 lily_shop88，或打 138-1234-5678"
    r = c.post(path, json={"body": body}, headers=api.shop_main)
    assert r.status_code == 201, r.text
    held = r.json()
    assert (held["status"], held["rule"]) == ("held", "R5.7")
    assert {f["kind"] for f in held["flags"]} == {
        "advertising",
        "third_party_link",
        "phone_number",
    }
    for f in held["flags"]:
        assert body[f["start"] : f["end"]] == f["text"]
    assert "phone number" in held["notice"]

    assert c.get(path, headers=api.buyer).json() == []
    r = c.post(
        f"/api/v1/messages/{held['id']}/edit",
        json={"body": "有问题请在这里留言"},
        headers=api.buyer,
    )
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"

    r = c.post(
        f"/api/v1/messages/{held['id']}/edit",
        json={"body": "有问题请在这里留言"},
        headers=api.shop_main,
    )
    assert r.status_code == 201 and r.json()["status"] == "published"
    [seen] = c.get(path, headers=api.buyer).json()
    assert (seen["body"], seen["flags"], seen["revises_id"]) == ("有问题请在这里留言", None, None)

    r = c.post(f"/api/v1/messages/{held['id']}/edit", json={"body": "again"}, headers=api.shop_main)
    assert (r.status_code, r.json()["rule"]) == (409, "R5.7")


def test_R5_7_api_a_buyer_message_posted_twice_with_one_key_is_stored_once(api: Api):
    c, path = api.client, f"/api/v1/cases/{api.case}/messages"
    headers = {**api.buyer, "Idempotency-Key": "msg-1"}
    first = c.post(path, json={"body": "什么时候退款？"}, headers=headers)
    again = c.post(path, json={"body": "什么时候退款？"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.json()["id"] == again.json()["id"]
    assert len(c.get(path, headers=api.shop_main).json()) == 1


def test_R5_7_api_reply_templates_and_message_stats(api: Api, clock):
    c, base = api.client, f"/api/v1/shops/{api.shop}"
    r = c.post(
        f"{base}/reply-templates",
        json={"title": "开场白", "body": "亲，已收到您的申请。"},
        headers=api.shop_main,
    )
    assert r.status_code == 201, r.text
    tpl = r.json()
    r = c.post(
        f"{base}/reply-templates",
        json={"title": "bad", "body": "联系 13812345678"},
        headers=api.shop_main,
    )
    assert (r.status_code, r.json()["rule"], r.json()["errors"][0]["field"]) == (
        422,
        "R5.7",
        "body",
    )
    r = c.post(
        f"/api/v1/cases/{api.case}/messages",
        json={"template_id": tpl["id"]},
        headers=api.shop_main,
    )
    assert r.status_code == 201 and r.json()["template_id"] == tpl["id"]

    r = c.post(f"{base}/reply-templates/{tpl['id']}/archive", headers=api.shop_main)
    assert r.status_code == 200 and r.json()["archived"] is True
    assert c.get(f"{base}/reply-templates", headers=api.shop_main).json() == []
    listed = c.get(f"{base}/reply-templates?include_archived=true", headers=api.shop_main)
    assert [t["id"] for t in listed.json()] == [tpl["id"]]
    assert c.get(f"{base}/reply-templates", headers=api.buyer).status_code == 404

    clock.advance(minutes=1)  # the default period is the 30 days up to now, end exclusive
    r = c.get(f"{base}/message-stats", headers=api.shop_main)
    assert r.status_code == 200, r.text
    stats = r.json()
    assert stats["shop"] == api.shop and "from" in stats
    assert stats["first_response"]["cases"] == 1
    assert stats["first_response"]["responded"] == 1
    assert stats["slowest_cases"][0]["case_number"] == api.case
    assert c.get(f"{base}/message-stats", headers=api.buyer).status_code == 404
    r = c.get(
        f"{base}/message-stats",
        params={"from": "2026-11-20T00:00:00+00:00", "to": "2026-11-19T00:00:00+00:00"},
        headers=api.shop_main,
    )
    assert r.status_code == 422


MALFORMED = [
    ("get", "/api/v1/cases/not-a-case/messages", None),
    ("post", "/api/v1/cases/AS2026/messages", {"body": "x"}),
    ("post", "/api/v1/messages/0/edit", {"body": "x"}),
    ("post", f"/api/v1/messages/{2**31}/edit", {"body": "x"}),
    ("post", "/api/v1/messages/1/edit", {"body": ""}),
    ("post", "/api/v1/shops/S1/reply-templates/0/archive", None),
    ("post", "/api/v1/shops/S1/reply-templates", {"title": "", "body": "x"}),
    ("get", "/api/v1/shops/S1/message-stats?from=yesterday", None),
    ("get", "/api/v1/shops/S1/message-stats?to=2026-11-20T00:00:00", None),
    ("get", "/api/v1/shops/S1/message-stats?limit=100000", None),
    ("get", "/api/v1/shops/S1/message-stats?from=0.5", None),
    ("get", "/api/v1/shops/S1/message-stats?to=1700000000", None),
]


def test_R5_7_api_malformed_input_is_a_422_problem(api: Api):
    for method, path, payload in [
        *MALFORMED,
        ("post", f"/api/v1/cases/{api.case}/messages", {"body": "x" * (msg.BODY_MAX_CHARS + 1)}),
        ("post", f"/api/v1/cases/{api.case}/messages", {"body": "a\u0000b"}),
    ]:
        kw = {"json": payload} if payload is not None else {}
        r = getattr(api.client, method)(path, headers=api.shop_main, **kw)
        assert r.status_code == 422, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
