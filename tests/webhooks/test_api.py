"""The /api/v1/webhooks routes over HTTP (FastAPI's test client), with real API tokens."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from aftersales.api.app import create_app
from aftersales.domain.accounts import AccountKind
from aftersales.jobs.outbox import Dispatcher
from aftersales.services import accounts
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from tests.conftest import storage_free
from tests.factories import World, make_world
from tests.webhooks.conftest import Receiver, shop_code

PASSWORD = "correct horse battery"
BASE = "/api/v1/webhooks"


def _token(ctx: Context, login: str, kind: AccountKind, **kw: object) -> dict[str, str]:
    acc = accounts.create_account(ctx, None, kind=kind, login=login, password=PASSWORD, **kw)  # type: ignore[arg-type]
    tok = accounts.create_token(
        ctx, Actor.system(), name="test", scopes=["shop:admin"], account_id=acc.id
    )
    assert tok.token is not None
    return {"Authorization": f"Bearer {tok.token}", "Accept-Language": "en"}


@dataclass
class Api:
    """The client and a shop; callers' tokens are made when first used (hashing a
    password takes a while)."""

    client: TestClient
    ctx: Context
    world: World
    code: str
    other: str
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def _made(self, role: str, login: str, kind: AccountKind, **kw: object) -> dict[str, str]:
        if role not in self.tokens:
            self.tokens[role] = _token(self.ctx, login, kind, **kw)
        return self.tokens[role]

    @property
    def main(self) -> dict[str, str]:
        code = self.code
        return self._made("main", f"main-{code}", AccountKind.MERCHANT, shop_code=code, main=True)

    @property
    def sub(self) -> dict[str, str]:
        code = self.code
        perms = ["handle_aftersales"]
        return self._made(
            "sub", f"sub-{code}", AccountKind.MERCHANT, shop_code=code, permissions=perms
        )

    @property
    def stranger(self) -> dict[str, str]:
        other = self.other
        return self._made(
            "stranger", f"main-{other}", AccountKind.MERCHANT, shop_code=other, main=True
        )

    @property
    def admin(self) -> dict[str, str]:
        return self._made("admin", f"admin-{self.code}", AccountKind.ADMIN)


@pytest.fixture
def api(wctx: Context) -> Api:
    world = make_world(wctx)
    app = create_app(wctx, embedded_worker=False, embedded_dispatcher=False)
    return Api(
        TestClient(app),
        wctx,
        world,
        shop_code(wctx, world.shop_id),
        shop_code(wctx, world.other_shop_id),
    )


def test_api_create_endpoint_shows_the_secret_once_and_replays_with_idempotency_key(
    api: Api, receiver: Receiver
) -> None:
    body = {"shop": api.code, "url": receiver.url("/erp"), "description": "ERP"}
    headers = {**api.main, "Idempotency-Key": "create-erp-1"}
    first = api.client.post(f"{BASE}/endpoints", json=body, headers=headers)
    assert first.status_code == 201, first.text
    created = first.json()
    assert created["secret"].startswith("whsec_") and created["shop"] == api.code
    assert created["event_types"] is None
    assert created["deliveries"] == {"pending": 0, "delivered": 0, "failed": 0}
    again = api.client.post(f"{BASE}/endpoints", json=body, headers=headers)
    assert again.status_code == 201 and again.json() == created
    assert again.headers["Idempotent-Replayed"] == "true"
    listed = api.client.get(f"{BASE}/endpoints", headers=api.main).json()["items"]
    assert [e["id"] for e in listed] == [created["id"]]  # created once
    shown = api.client.get(f"{BASE}/endpoints/{created['id']}", headers=api.main).json()
    assert shown["secret"] is None and shown["url"] == receiver.url("/erp")


def test_api_delivery_log_rotate_and_disable(api: Api, wctx: Context, receiver: Receiver) -> None:
    ep = api.client.post(
        f"{BASE}/endpoints",
        json={"shop": api.code, "url": receiver.url("/log"), "event_types": ["case.open"]},
        headers=api.main,
    ).json()
    receiver.fail_first["/log"] = 1
    numbers = [api.world.open()]
    Dispatcher(wctx).run_until_idle()  # the first fails and waits for its retry
    numbers += [api.world.open() for _ in range(2)]
    Dispatcher(wctx).run_until_idle()
    url = f"{BASE}/endpoints/{ep['id']}/deliveries"
    page1 = api.client.get(url, params={"limit": 2}, headers=api.main).json()
    assert [d["payload"]["data"]["case_number"] for d in page1["items"]] == numbers[:0:-1]
    assert page1["next_cursor"]
    page2 = api.client.get(
        url, params={"limit": 2, "cursor": page1["next_cursor"]}, headers=api.main
    ).json()
    assert page2["next_cursor"] is None
    (oldest,) = page2["items"]
    assert oldest["payload"]["data"]["case_number"] == numbers[0]
    assert oldest["status"] == "pending" and oldest["last_status_code"] == 500
    assert [a["status_code"] for a in oldest["attempt_log"]] == [500]
    assert oldest["event_id"] == oldest["payload"]["id"]
    failed_only = api.client.get(url, params={"status": "delivered"}, headers=api.main).json()
    assert len(failed_only["items"]) == 2
    bad = api.client.get(url, params={"cursor": "bm9wZQ"}, headers=api.main)
    assert bad.status_code == 422 and bad.json()["code"] == "cursor.invalid"

    redo = api.client.post(
        f"{url}/{oldest['id']}/redeliver", headers={**api.main, "Idempotency-Key": "r1"}
    )
    assert redo.status_code == 202 and redo.json()["status"] == "pending"

    rotated = api.client.post(f"{BASE}/endpoints/{ep['id']}/rotate-secret", headers=api.main).json()
    assert rotated["secret"].startswith("whsec_")
    disabled = api.client.post(f"{BASE}/endpoints/{ep['id']}/disable", headers=api.main)
    assert disabled.status_code == 200 and disabled.json()["disabled_at"] is not None
    conflict = api.client.post(f"{BASE}/endpoints/{ep['id']}/rotate-secret", headers=api.main)
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "webhook.endpoint_disabled"


def test_api_authorization_404_for_other_shops_403_for_sub_accounts(
    api: Api, receiver: Receiver
) -> None:
    ep = api.client.post(
        f"{BASE}/endpoints", json={"shop": api.code, "url": receiver.url("/a")}, headers=api.main
    ).json()
    path = f"{BASE}/endpoints/{ep['id']}"
    hidden = api.client.get(path, headers=api.stranger)
    assert hidden.status_code == 404
    assert hidden.headers["content-type"].startswith("application/problem+json")
    assert hidden.json()["detail"] == f"Webhook endpoint {ep['id']} not found."
    assert api.client.post(f"{path}/disable", headers=api.stranger).status_code == 404
    assert api.client.get(f"{path}/deliveries", headers=api.stranger).status_code == 404
    sub = api.client.get(path, headers=api.sub)
    assert sub.status_code == 403 and sub.json()["code"] == "auth.main_account_only"
    assert api.client.post(f"{path}/disable", headers=api.sub).status_code == 403
    assert api.client.get(path, headers=api.admin).status_code == 200
    assert api.client.get(path).status_code == 401
    platform = api.client.post(
        f"{BASE}/endpoints", json={"url": receiver.url("/p")}, headers=api.main
    )
    assert platform.status_code == 403
    made = api.client.post(f"{BASE}/endpoints", json={"url": receiver.url("/p")}, headers=api.admin)
    assert made.status_code == 201 and made.json()["shop"] is None
    admin_list = api.client.get(f"{BASE}/endpoints", headers=api.admin).json()["items"]
    assert len(admin_list) == 2
    only = api.client.get(f"{BASE}/endpoints", params={"platform": True}, headers=api.admin)
    assert [e["id"] for e in only.json()["items"]] == [made.json()["id"]]


@storage_free()  # refused while the request is parsed
def test_api_rejects_huge_ids_and_bad_urls_with_422(
    api: Api, wctx: Context, receiver: Receiver
) -> None:
    for bad in ("0", "-1", str(2**31), "99999999999999999999999", "x"):
        res = api.client.get(f"{BASE}/endpoints/{bad}", headers=api.admin)
        assert res.status_code == 422, (bad, res.text)
    res = api.client.post(f"{BASE}/endpoints/1/deliveries/{2**40}/redeliver", headers=api.admin)
    assert res.status_code == 422
    wctx.settings = wctx.settings.model_copy(update={"webhook_allow_private_networks": False})
    res = api.client.post(
        f"{BASE}/endpoints", json={"url": "http://127.0.0.1:8000/x"}, headers=api.admin
    )
    assert res.status_code == 422
    assert res.json()["errors"][0]["field"] == "url"
    assert res.json()["code"] == "webhook.url_private"
    res = api.client.post(
        f"{BASE}/endpoints", json={"url": "https://x.example", "secret": "mine"}, headers=api.admin
    )
    assert res.status_code == 422  # unknown fields are refused
    types = api.client.get(f"{BASE}/event-types", headers=api.admin).json()["items"]
    assert "case.open" in types and "case.merchant_timeout" in types
