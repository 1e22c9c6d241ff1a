"""The outbox dispatcher against a real HTTP receiver, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from aftersales.jobs.outbox import Dispatcher
from aftersales.services import cases as case_svc
from aftersales.services import webhooks as svc
from aftersales.services.context import Context
from aftersales.store.schema import outbox_events, webhook_deliveries
from tests.conftest import FakeClock
from tests.factories import make_world
from tests.webhooks.conftest import ADMIN, Receiver, shop_code, webhook_context


def _endpoint(
    ctx: Context, receiver: Receiver, path: str, shop: str | None, **kw: object
) -> svc.EndpointView:
    """An endpoint for the case events these tests follow: a factory order is a pushed
    order, whose ``order.recorded`` event an endpoint subscribed to everything also gets
    (checked by the event-type tests, which pass their own ``event_types``)."""
    kw.setdefault("event_types", ["case.*"])
    return svc.create_endpoint(ctx, ADMIN, shop, receiver.url(path), f"test {path}", **kw)  # type: ignore[arg-type]


def _deliveries(ctx: Context, endpoint_id: int) -> list[svc.DeliveryView]:
    return svc.list_deliveries(ctx, ADMIN, endpoint_id, limit=200).items


# --------------------------------------------------------------------------- signing
def test_signature_matches_the_standard_webhooks_test_vector() -> None:
    # The example from the Standard Webhooks reference libraries.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    sig = svc.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": f"v1,bm90IHRoaXMgb25l {sig}",  # several signatures: any may match
    }
    assert svc.verify_signature(secret, headers, body, now=1614265330 + 299)
    assert not svc.verify_signature(secret, headers, body, now=1614265330 + 301)


def test_webhook_signed_per_standard_webhooks(
    wctx: Context, clock: FakeClock, receiver: Receiver
) -> None:
    world = make_world(wctx)
    ep = _endpoint(wctx, receiver, "/shop", shop_code(wctx, world.shop_id))
    assert ep.secret is not None and ep.secret.startswith("whsec_")
    assert len(base64.b64decode(ep.secret.removeprefix("whsec_"))) == 24
    number = world.open()
    Dispatcher(wctx).run_until_idle()

    (got,) = receiver.to("/shop")
    payload = json.loads(got.body)
    assert payload["type"] == "case.open"
    assert payload["data"]["case_number"] == number
    assert payload["data"]["shop"] == shop_code(wctx, world.shop_id)
    assert got.webhook_id == payload["id"] and got.webhook_id.startswith("evt_")
    assert got.headers["content-type"] == "application/json"
    assert int(got.headers["webhook-timestamp"]) == int(clock.now.timestamp())
    # Computed by hand from the specification, not with our own helper.
    key = base64.b64decode(ep.secret.removeprefix("whsec_"))
    signed = f"{got.webhook_id}.{got.headers['webhook-timestamp']}.".encode() + got.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert got.headers["webhook-signature"] == f"v1,{expected}"

    now = clock.now.timestamp()
    assert svc.verify_signature(ep.secret, got.headers, got.body, now=now)
    assert not svc.verify_signature(ep.secret, got.headers, got.body + b" ", now=now)
    tampered = got.body.replace(number.encode(), b"AS00000000000000")
    assert not svc.verify_signature(ep.secret, got.headers, tampered, now=now)
    assert not svc.verify_signature(
        ep.secret, {**got.headers, "webhook-id": "evt_other"}, got.body, now=now
    )
    assert not svc.verify_signature(svc.new_secret(), got.headers, got.body, now=now)
    assert not svc.verify_signature(ep.secret, got.headers, got.body, now=now + 301)  # replay


# --------------------------------------------------------------------------- routing
def test_shop_endpoint_gets_only_its_shops_events_and_platform_endpoint_gets_all(
    wctx: Context, receiver: Receiver
) -> None:
    one, two = make_world(wctx), make_world(wctx)
    _endpoint(wctx, receiver, "/one", shop_code(wctx, one.shop_id))
    _endpoint(wctx, receiver, "/two", shop_code(wctx, two.shop_id))
    _endpoint(wctx, receiver, "/platform", None)
    first = one.open()
    case_svc.approve_return(wctx, one.merchant, first)
    second = two.open()
    Dispatcher(wctx).run_until_idle()

    def seen(path: str) -> list[tuple[str, str]]:
        out = []
        for r in receiver.to(path):
            p = json.loads(r.body)
            out.append((p["data"]["case_number"], p["type"]))
        return out

    # Deliveries are sent in parallel: arrival order is not guaranteed.
    assert sorted(seen("/one")) == [(first, "case.approve_return"), (first, "case.open")]
    assert seen("/two") == [(second, "case.open")]
    assert sorted(seen("/platform")) == sorted(seen("/one") + seen("/two"))
    # The platform endpoint gets the very same event ids the shops got.
    assert {r.webhook_id for r in receiver.to("/platform")} == {
        r.webhook_id for r in receiver.to("/one") + receiver.to("/two")
    }


def test_event_types_filter_picks_what_an_endpoint_receives(
    wctx: Context, receiver: Receiver
) -> None:
    world = make_world(wctx)
    code = shop_code(wctx, world.shop_id)
    _endpoint(wctx, receiver, "/approvals", code, event_types=["case.approve_return"])
    _endpoint(wctx, receiver, "/cases", code, event_types=["case.*"])
    number = world.open()
    case_svc.approve_return(wctx, world.merchant, number)
    Dispatcher(wctx).run_until_idle()
    assert [json.loads(r.body)["type"] for r in receiver.to("/approvals")] == [
        "case.approve_return"
    ]
    assert sorted(json.loads(r.body)["type"] for r in receiver.to("/cases")) == [
        "case.approve_return",
        "case.open",
    ]
    assert svc.matches(["case.*"], "case.merchant_timeout")
    assert not svc.matches(["case.*"], "order.recorded")
    assert svc.matches(None, "order.recorded")


def test_endpoint_receives_only_events_after_it_was_registered(
    wctx: Context, clock: FakeClock, receiver: Receiver
) -> None:
    world = make_world(wctx)
    before = world.open()
    clock.advance(seconds=1)
    _endpoint(wctx, receiver, "/late", shop_code(wctx, world.shop_id))
    after = world.open()
    Dispatcher(wctx).run_until_idle()
    numbers = [json.loads(r.body)["data"]["case_number"] for r in receiver.to("/late")]
    assert numbers == [after] and before not in numbers


# --------------------------------------------------------------------------- retries
def test_failed_attempts_are_retried_with_exponential_backoff_then_delivered(
    wctx: Context, clock: FakeClock, receiver: Receiver
) -> None:
    world = make_world(wctx)
    ep = _endpoint(wctx, receiver, "/flaky", shop_code(wctx, world.shop_id))
    receiver.fail_first["/flaky"] = 2
    world.open()
    d = Dispatcher(wctx)
    start = clock.now

    d.run_until_idle()
    (log,) = _deliveries(wctx, ep.id)
    assert (log.status, log.attempts, log.last_status_code) == ("pending", 1, 500)
    assert log.next_attempt_at == start + timedelta(seconds=30)
    clock.advance(seconds=29)
    assert d.run_until_idle() == 0  # not yet due

    clock.advance(seconds=1)
    d.run_until_idle()
    (log,) = _deliveries(wctx, ep.id)
    assert (log.status, log.attempts) == ("pending", 2)
    assert log.next_attempt_at == clock.now + timedelta(seconds=60)  # doubled
    clock.advance(seconds=59)
    assert d.run_until_idle() == 0

    clock.advance(seconds=1)
    d.run_until_idle()
    (log,) = _deliveries(wctx, ep.id)
    assert (log.status, log.attempts, log.last_status_code, log.last_error) == (
        "delivered",
        3,
        204,
        None,
    )
    assert log.delivered_at == clock.now and log.next_attempt_at is None
    assert [(a.attempt, a.status_code) for a in log.attempt_log] == [(1, 500), (2, 500), (3, 204)]
    assert [a.at - start for a in log.attempt_log] == [
        timedelta(0),
        timedelta(seconds=30),
        timedelta(seconds=90),
    ]
    assert log.attempt_log[0].error == "HTTP 500"
    # Every attempt carried the same webhook-id: the event id.
    assert {r.webhook_id for r in receiver.to("/flaky")} == {log.event_id}
    assert len(receiver.to("/flaky")) == 3
    clock.advance(days=1)
    assert d.run_until_idle() == 0


def test_backoff_doubles_up_to_the_cap(wctx: Context) -> None:
    d = Dispatcher(wctx)
    waits = [d.backoff(n).total_seconds() for n in range(1, 10)]
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    d.close()


def test_a_claimed_batch_can_be_sent_within_its_lease(wctx: Context) -> None:
    wctx.settings = wctx.settings.model_copy(
        update={"webhook_lease_seconds": 60, "webhook_timeout_seconds": 10}
    )
    d = Dispatcher(wctx, batch=500)
    assert d.claim_limit() == 5 * 8  # 5 rounds of 8 parallel sends fit in 60 s of lease
    wctx.settings = wctx.settings.model_copy(update={"webhook_timeout_seconds": 60})
    assert d.claim_limit() == 8
    d.close()


def test_delivery_fails_after_max_attempts(
    db: object, clock: FakeClock, receiver: Receiver
) -> None:
    ctx = webhook_context(db, clock, webhook_max_attempts=3)  # type: ignore[arg-type]
    world = make_world(ctx)
    ep = _endpoint(ctx, receiver, "/down", shop_code(ctx, world.shop_id))
    receiver.fail_first["/down"] = 100
    world.open()
    d = Dispatcher(ctx)
    for _ in range(10):
        d.run_until_idle()
        clock.advance(hours=2)
    (log,) = _deliveries(ctx, ep.id)
    assert (log.status, log.attempts, log.next_attempt_at) == ("failed", 3, None)
    assert len(log.attempt_log) == 3 and len(receiver.to("/down")) == 3
    assert svc.get_endpoint(ctx, ADMIN, ep.id).deliveries == {
        "pending": 0,
        "delivered": 0,
        "failed": 1,
    }


def test_unreachable_endpoint_is_logged_as_a_failed_attempt(
    wctx: Context, receiver: Receiver
) -> None:
    world = make_world(wctx)
    ep = svc.create_endpoint(
        wctx,
        ADMIN,
        shop_code(wctx, world.shop_id),
        "http://127.0.0.1:9/closed",
        "closed port",
        event_types=["case.*"],  # the case's event, not its factory order's
    )
    world.open()
    Dispatcher(wctx).run_until_idle()
    (log,) = _deliveries(wctx, ep.id)
    assert log.status == "pending" and log.attempts == 1
    assert log.last_status_code is None and log.attempt_log[0].error
    assert "ConnectError" in (log.last_error or "")


def test_disabled_endpoint_gets_nothing_new(
    wctx: Context, clock: FakeClock, receiver: Receiver
) -> None:
    world = make_world(wctx)
    ep = _endpoint(wctx, receiver, "/gone", shop_code(wctx, world.shop_id))
    first = world.open()
    d = Dispatcher(wctx)
    d.run_until_idle()
    assert len(receiver.to("/gone")) == 1
    second = world.open()
    d.fan_out()  # a delivery is waiting when the endpoint is disabled
    disabled = svc.disable_endpoint(wctx, ADMIN, ep.id)
    assert disabled.disabled_at == clock.now
    case_svc.approve_return(wctx, world.merchant, first)
    for _ in range(3):
        d.run_until_idle()
        clock.advance(hours=1)
    assert len(receiver.to("/gone")) == 1
    log = _deliveries(wctx, ep.id)
    assert [(x.payload["data"]["case_number"], x.status) for x in log] == [
        (second, "failed"),
        (first, "delivered"),
    ]
    assert log[0].last_error == "endpoint disabled" and log[0].attempts == 0
    # Disabling again changes nothing.
    assert svc.disable_endpoint(wctx, ADMIN, ep.id).disabled_at == disabled.disabled_at


def test_private_address_is_refused_again_at_delivery_time(
    wctx: Context, receiver: Receiver
) -> None:
    world = make_world(wctx)
    ep = _endpoint(wctx, receiver, "/internal", shop_code(wctx, world.shop_id))
    world.open()
    wctx.settings = wctx.settings.model_copy(update={"webhook_allow_private_networks": False})
    Dispatcher(wctx).run_until_idle()
    assert receiver.to("/internal") == []
    (log,) = _deliveries(wctx, ep.id)
    assert log.status == "pending" and log.attempts == 1
    assert log.attempt_log[0].error == "refused: 127.0.0.1 is not a public address"


# --------------------------------------------------------------------------- crashes
def test_crash_after_claim_resends_with_same_webhook_id_after_the_lease(
    wctx: Context, clock: FakeClock, receiver: Receiver
) -> None:
    world = make_world(wctx)
    ep = _endpoint(wctx, receiver, "/crash", shop_code(wctx, world.shop_id))
    world.open()
    crashed = Dispatcher(wctx, "crashed")
    crashed.fan_out()
    (claimed,) = crashed.claim()
    crashed.send(claimed)  # sent, then the process dies before recording the result
    crashed.close()
    (first,) = receiver.to("/crash")

    d = Dispatcher(wctx, "survivor")
    assert d.run_until_idle() == 0  # leased: nobody else sends it meanwhile
    clock.advance(seconds=59)
    assert d.run_until_idle() == 0
    clock.advance(seconds=1)
    assert d.run_until_idle() == 1
    again = receiver.to("/crash")
    assert len(again) == 2
    assert again[1].webhook_id == first.webhook_id == claimed.event_id
    assert again[1].body == first.body
    (log,) = _deliveries(wctx, ep.id)
    assert (log.status, log.attempts) == ("delivered", 1)


def test_crash_after_claim_before_send_delivers_once(
    wctx: Context, clock: FakeClock, receiver: Receiver
) -> None:
    world = make_world(wctx)
    _endpoint(wctx, receiver, "/early", shop_code(wctx, world.shop_id))
    world.open()
    crashed = Dispatcher(wctx, "crashed")
    crashed.fan_out()
    assert len(crashed.claim()) == 1  # and nothing else: the process dies here
    clock.advance(seconds=60)
    Dispatcher(wctx).run_until_idle()
    assert len(receiver.to("/early")) == 1


def test_a_dispatcher_that_lost_its_lease_does_not_reschedule(
    wctx: Context, clock: FakeClock, receiver: Receiver
) -> None:
    world = make_world(wctx)
    ep = _endpoint(wctx, receiver, "/slow", shop_code(wctx, world.shop_id))
    world.open()
    slow = Dispatcher(wctx, "slow")
    slow.fan_out()
    (mine,) = slow.claim()
    clock.advance(seconds=61)  # the lease ran out while "slow" was stuck
    fast = Dispatcher(wctx, "fast")
    assert fast.deliver_due() == 1
    receiver.fail_first["/slow"] = 1
    assert slow.deliver(mine) == "delivered"  # its late failure does not undo the delivery
    (log,) = _deliveries(wctx, ep.id)
    assert log.status == "delivered" and log.last_status_code == 204
    assert [a.status_code for a in log.attempt_log] == [204, 500]


def test_two_dispatchers_deliver_each_event_once(
    db: object, clock: FakeClock, receiver: Receiver
) -> None:
    ctx = webhook_context(db, clock)  # type: ignore[arg-type]
    world = make_world(ctx)
    _endpoint(ctx, receiver, "/both", shop_code(ctx, world.shop_id))
    _endpoint(ctx, receiver, "/platform", None)
    for _ in range(12):
        world.open()
    dispatchers = [Dispatcher(ctx, f"d{i}", batch=3) for i in range(3)]
    threads = [threading.Thread(target=d.run_until_idle) for d in dispatchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for path in ("/both", "/platform"):
        ids = [r.webhook_id for r in receiver.to(path)]
        assert len(ids) == 12 and len(set(ids)) == 12
    with ctx.db.read() as conn:
        assert (
            conn.execute(
                select(outbox_events.c.id).where(outbox_events.c.fanned_out_at.is_(None))
            ).all()
            == []
        )
        statuses = conn.execute(select(webhook_deliveries.c.status)).scalars().all()
    assert sorted(set(statuses)) == ["delivered"] and len(statuses) == 24


def test_docs_example_delivery_verifies_with_the_docs_snippet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """docs/webhooks.md: its example request is correctly signed, and its Python snippet
    verifies it (and refuses a tampered body)."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
    secret = re.search(r"secret is `(whsec_[^`]+)`", text)
    http = re.search(r"```http\n(.*?)```", text, re.S)
    snippet = re.search(r"```python\n(.*?)```", text, re.S)
    assert secret and http and snippet
    head, body = http.group(1).split("\n\n", 1)
    headers = dict(line.split(": ", 1) for line in head.splitlines()[1:])
    raw = body.strip().encode()
    stamp = int(headers["webhook-timestamp"])
    assert svc.verify_signature(secret.group(1), headers, raw, now=stamp)
    scope: dict[str, object] = {}
    exec(snippet.group(1), scope)
    verify = scope["verify"]
    monkeypatch.setattr(time, "time", lambda: float(stamp))  # the snippet reads the clock
    assert verify(secret.group(1), headers, raw)  # type: ignore[operator]
    assert not verify(secret.group(1), headers, raw.replace(b"R5.1", b"R5.2"))  # type: ignore[operator]
