"""Managing webhook endpoints: who may, which URLs, the audit trail and the delivery log."""

from __future__ import annotations

import dataclasses

import pytest

from aftersales.domain.accounts import AccountKind, Permission, Scope
from aftersales.domain.case_types import ActorKind
from aftersales.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from aftersales.jobs.outbox import Dispatcher
from aftersales.services import webhooks as svc
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.store import accounts as audit_store
from aftersales.store import webhooks as webhook_store
from tests.conftest import FakeClock
from tests.factories import World, make_world
from tests.webhooks.conftest import ADMIN, Receiver, shop_code


def _sub_account(shop_id: int) -> Actor:
    return Actor(
        ActorKind.MERCHANT,
        f"shop:{shop_id}:sub",
        shop_id=shop_id,
        account_kind=AccountKind.MERCHANT,
        main=False,
        permissions=frozenset(Permission),
    )


# --------------------------------------------------------------------------- authorization
def test_shop_main_account_manages_its_own_endpoints(wctx: Context, receiver: Receiver) -> None:
    world = make_world(wctx)
    code = shop_code(wctx, world.shop_id)
    main = world.merchant
    ep = svc.create_endpoint(wctx, main, code, receiver.url("/a"), "ERP")
    assert ep.shop_code == code and ep.secret
    assert svc.get_endpoint(wctx, main, ep.id).secret is None  # shown once only
    assert [e.id for e in svc.list_endpoints(wctx, main)] == [ep.id]
    assert [e.id for e in svc.list_endpoints(wctx, main, code)] == [ep.id]
    rotated = svc.rotate_secret(wctx, main, ep.id)
    assert rotated.secret and rotated.secret != ep.secret
    assert svc.disable_endpoint(wctx, main, ep.id).disabled
    with pytest.raises(Conflict):
        svc.rotate_secret(wctx, main, ep.id)


def test_another_shops_main_account_gets_404_for_an_endpoint(
    wctx: Context, receiver: Receiver
) -> None:
    world = make_world(wctx)
    ep = svc.create_endpoint(
        wctx, world.merchant, shop_code(wctx, world.shop_id), receiver.url("/a"), ""
    )
    stranger = Actor.merchant(world.other_shop_id)
    for call in (
        lambda: svc.get_endpoint(wctx, stranger, ep.id),
        lambda: svc.disable_endpoint(wctx, stranger, ep.id),
        lambda: svc.rotate_secret(wctx, stranger, ep.id),
        lambda: svc.list_deliveries(wctx, stranger, ep.id),
        lambda: svc.get_endpoint(wctx, Actor.buyer(world.buyer_id), ep.id),
        lambda: svc.get_endpoint(wctx, Actor.platform("agent"), ep.id),
    ):
        with pytest.raises(NotFound) as err:
            call()
        assert err.value.code == "webhook.endpoint_not_found"
    for url in (receiver.url("/x"), "ftp://bad"):  # 404 before any check of the input
        with pytest.raises(NotFound) as shop_err:
            svc.create_endpoint(wctx, stranger, shop_code(wctx, world.shop_id), url)
        assert shop_err.value.code == "shop.not_found"
    with pytest.raises(NotFound):
        svc.list_endpoints(wctx, stranger, shop_code(wctx, world.shop_id))
    assert svc.list_endpoints(wctx, stranger) == []
    with pytest.raises(NotFound):
        svc.get_endpoint(wctx, ADMIN, 999_999)


def test_sub_account_of_the_shop_gets_403(wctx: Context, receiver: Receiver) -> None:
    world = make_world(wctx)
    code = shop_code(wctx, world.shop_id)
    ep = svc.create_endpoint(wctx, world.merchant, code, receiver.url("/a"), "")
    sub = _sub_account(world.shop_id)
    for call in (
        lambda: svc.get_endpoint(wctx, sub, ep.id),
        lambda: svc.disable_endpoint(wctx, sub, ep.id),
        lambda: svc.list_deliveries(wctx, sub, ep.id),
        lambda: svc.list_endpoints(wctx, sub),
        lambda: svc.create_endpoint(wctx, sub, code, receiver.url("/b")),
    ):
        with pytest.raises(Forbidden) as err:
            call()
        assert err.value.code == "auth.main_account_only"


def test_api_token_needs_the_shop_admin_scope(wctx: Context, receiver: Receiver) -> None:
    world = make_world(wctx)
    code = shop_code(wctx, world.shop_id)
    ep = svc.create_endpoint(wctx, world.merchant, code, receiver.url("/a"), "")
    narrow = dataclasses.replace(world.merchant, scopes=frozenset({Scope.CASES_READ}))
    with pytest.raises(Forbidden) as err:
        svc.get_endpoint(wctx, narrow, ep.id)
    assert err.value.code == "auth.scope_missing"
    wide = dataclasses.replace(world.merchant, scopes=frozenset({Scope.SHOP_ADMIN}))
    assert svc.get_endpoint(wctx, wide, ep.id).id == ep.id


def test_platform_endpoints_are_for_admins_only(wctx: Context, receiver: Receiver) -> None:
    world = make_world(wctx)
    code = shop_code(wctx, world.shop_id)
    platform = svc.create_endpoint(wctx, ADMIN, None, receiver.url("/p"), "data warehouse")
    assert platform.shop_code is None
    shop_ep = svc.create_endpoint(wctx, ADMIN, code, receiver.url("/s"), "set up by ops")
    for actor in (world.merchant, Actor.platform("agent"), Actor.buyer(world.buyer_id)):
        with pytest.raises(Forbidden):
            svc.create_endpoint(wctx, actor, None, receiver.url("/p2"))
        with pytest.raises(NotFound):
            svc.get_endpoint(wctx, actor, platform.id)
    with pytest.raises(Forbidden):
        svc.list_endpoints(wctx, world.merchant, platform=True)
    assert [e.id for e in svc.list_endpoints(wctx, world.merchant)] == [shop_ep.id]
    assert [e.id for e in svc.list_endpoints(wctx, ADMIN)] == [platform.id, shop_ep.id]
    assert [e.id for e in svc.list_endpoints(wctx, ADMIN, platform=True)] == [platform.id]
    assert [e.id for e in svc.list_endpoints(wctx, ADMIN, code)] == [shop_ep.id]
    assert svc.disable_endpoint(wctx, ADMIN, shop_ep.id).disabled


def test_every_change_is_in_the_audit_log(
    wctx: Context, clock: FakeClock, receiver: Receiver
) -> None:
    world = make_world(wctx)
    ep = svc.create_endpoint(
        wctx,
        world.merchant,
        shop_code(wctx, world.shop_id),
        receiver.url("/a"),
        "ERP",
        ["case.open"],
    )
    svc.rotate_secret(wctx, world.merchant, ep.id)
    world.open()
    Dispatcher(wctx).run_until_idle()
    (delivery,) = svc.list_deliveries(wctx, world.merchant, ep.id).items
    svc.redeliver(wctx, world.merchant, ep.id, delivery.id)
    svc.disable_endpoint(wctx, world.merchant, ep.id)
    svc.disable_endpoint(wctx, world.merchant, ep.id)
    with wctx.db.read() as conn:
        rows = audit_store.audit_of(conn, f"webhook_endpoint:{ep.id}")
    assert [r.action for r in rows] == [
        "created",
        "secret_rotated",
        "redelivery_requested",
        "disabled",
    ]
    assert {r.actor for r in rows} == {world.merchant.id}
    assert rows[0].details["url"] == receiver.url("/a")
    assert rows[0].details["event_types"] == ["case.open"]
    assert all("whsec_" not in str(r.details) for r in rows)  # secrets never logged


# --------------------------------------------------------------------------- validation
PRIVATE = [
    "http://127.0.0.1/hook",
    "http://localhost:8080/hook",
    "http://10.1.2.3/hook",
    "https://192.168.0.10/hook",
    "http://172.16.5.4/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://100.64.0.1/hook",
    "http://0.0.0.0/hook",
    "http://2130706433/hook",  # 127.0.0.1 as one number
]


def test_private_network_url_refused_when_not_allowed(wctx: Context) -> None:
    wctx.settings = wctx.settings.model_copy(update={"webhook_allow_private_networks": False})
    for url in PRIVATE[:3]:
        with pytest.raises(ValidationFailed) as err:
            svc.create_endpoint(wctx, ADMIN, None, url, "")
        assert err.value.code == "webhook.url_private"
        assert err.value.params["field"] == "url"
    with wctx.db.read() as conn:
        assert webhook_store.list_endpoints(conn) == []


@pytest.mark.parametrize("url", PRIVATE)
def test_private_network_addresses_are_recognised(url: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        svc.check_url(url, allow_private=False)
    assert err.value.code == "webhook.url_private"
    assert (svc.destination_refusal(url, False) or "").startswith("refused: ")
    assert svc.check_url(url, allow_private=True) == url
    assert svc.destination_refusal(url, True) is None


def test_public_address_is_accepted_when_private_networks_are_not(wctx: Context) -> None:
    wctx.settings = wctx.settings.model_copy(update={"webhook_allow_private_networks": False})
    ep = svc.create_endpoint(wctx, ADMIN, None, "https://93.184.216.34:8443/hooks?x=1", "")
    assert ep.url == "https://93.184.216.34:8443/hooks?x=1"
    assert svc.destination_refusal(ep.url, False) is None


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fc00::5", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped
        ("::ffff:93.184.216.34", True),
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("ff02::1", False),
        ("224.0.0.1", False),
        ("198.18.0.1", False),
    ],
)
def test_addresses_a_host_name_resolves_to_are_classified(address: str, public: bool) -> None:
    assert svc.is_public_address(address) is public


@pytest.mark.parametrize(
    "url", ["http://nowhere.invalid/hook", "https://" + ("a" * 63 + ".") * 5 + "invalid/"]
)
def test_unresolvable_host_refused_when_private_networks_are_not_allowed(url: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        svc.check_url(url, allow_private=False)
    assert err.value.code == "webhook.url_unresolvable"
    assert (svc.destination_refusal(url, False) or "").startswith("host does not resolve")


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://example.com/hook", "webhook.url_invalid"),
        ("file:///etc/passwd", "webhook.url_invalid"),
        ("example.com/hook", "webhook.url_invalid"),
        ("http:///nohost", "webhook.url_invalid"),
        ("http://example.com:99999/", "webhook.url_invalid"),
        ("http://[::1/", "webhook.url_invalid"),
        ("http://[2606:4700::1111]/hook", "webhook.url_invalid"),  # no IPv6 literals
        ("HTTPS://EXAMPLE.COM/", "webhook.url_invalid"),
        ("http://bücher.example/", "webhook.url_invalid"),  # punycode: xn--bcher-kva
        ("http://example.com:0/", "webhook.url_invalid"),
        ("http://-bad.example/", "webhook.url_invalid"),
        ("http://" + "a" * 64 + ".example.com/", "webhook.url_invalid"),
        ("http://x..y/", "webhook.url_invalid"),
        ("http://example.com/ü", "webhook.url_invalid"),
        ("http://exa mple.com/", "webhook.url_invalid"),
        ("http://example.com/\x00", "webhook.url_invalid"),
        ("https://user:pass@example.com/hook", "webhook.url_credentials"),
        ("https://token@example.com/hook", "webhook.url_credentials"),
        ("https://example.com/" + "a" * 2000, "webhook.url_too_long"),
    ],
)
def test_malformed_url_refused(url: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        svc.check_url(url, allow_private=True)
    assert err.value.code == code


def test_event_types_and_description_are_validated(wctx: Context, receiver: Receiver) -> None:
    for types, code in (
        (["case.nope"], "webhook.event_type_unknown"),
        (["*"], "webhook.event_type_unknown"),
        (["nothing.*"], "webhook.event_type_unknown"),
        ([], "webhook.event_types_empty"),
    ):
        with pytest.raises(ValidationFailed) as err:
            svc.create_endpoint(wctx, ADMIN, None, receiver.url("/x"), "", types)
        assert err.value.code == code
    with pytest.raises(ValidationFailed) as long_err:
        svc.create_endpoint(wctx, ADMIN, None, receiver.url("/x"), "d" * 201)
    assert long_err.value.code == "webhook.description_too_long"
    ep = svc.create_endpoint(
        wctx, ADMIN, None, receiver.url("/x"), "", ["order.*", "case.open", "case.open"]
    )
    assert ep.event_types == ["case.open", "order.*"]


# --------------------------------------------------------------------------- the log
def _case_endpoint(wctx: Context, world: World, url: str) -> svc.EndpointView:
    """The shop's endpoint for its case events (a factory order is recorded too, as
    ``order.recorded``, which these tests do not follow)."""
    return svc.create_endpoint(
        wctx, world.merchant, shop_code(wctx, world.shop_id), url, "", event_types=["case.*"]
    )


def test_delivery_log_pages_newest_first_with_attempts(
    wctx: Context, clock: FakeClock, receiver: Receiver
) -> None:
    world = make_world(wctx)
    ep = _case_endpoint(wctx, world, receiver.url("/log"))
    numbers = [world.open() for _ in range(5)]
    Dispatcher(wctx).run_until_idle()
    seen: list[str] = []
    before = None
    pages = 0
    while True:
        page = svc.list_deliveries(wctx, world.merchant, ep.id, before=before, limit=2)
        pages += 1
        seen += [d.payload["data"]["case_number"] for d in page.items]
        assert all(len(d.attempt_log) == 1 for d in page.items)
        if page.next_before is None:
            break
        before = page.next_before
    assert pages == 3 and seen == numbers[::-1]
    assert svc.list_deliveries(wctx, world.merchant, ep.id, status="failed").items == []
    with pytest.raises(ValidationFailed):
        svc.list_deliveries(wctx, world.merchant, ep.id, status="lost")


def test_redeliver_sends_again_with_the_same_webhook_id(
    wctx: Context, clock: FakeClock, receiver: Receiver
) -> None:
    world = make_world(wctx)
    ep = _case_endpoint(wctx, world, receiver.url("/again"))
    world.open()
    d = Dispatcher(wctx)
    d.run_until_idle()
    (delivery,) = svc.list_deliveries(wctx, world.merchant, ep.id).items
    again = svc.redeliver(wctx, world.merchant, ep.id, delivery.id)
    assert again.status == "pending" and again.delivered_at is None
    d.run_until_idle()
    first, second = receiver.to("/again")
    assert first.webhook_id == second.webhook_id == delivery.event_id
    (after,) = svc.list_deliveries(wctx, world.merchant, ep.id).items
    assert after.status == "delivered" and after.attempts == 2
    other = svc.create_endpoint(
        wctx, world.merchant, shop_code(wctx, world.shop_id), receiver.url("/other"), ""
    )
    with pytest.raises(NotFound):
        svc.redeliver(wctx, world.merchant, other.id, delivery.id)
