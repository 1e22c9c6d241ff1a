"""Idempotency-Key on POST, with Stripe's semantics.

In-process (TestClient on SQLite and PostgreSQL, a FakeClock): the first result is stored
and replayed with ``Idempotent-Replayed: true``; the same key with other parameters is
refused (422) and changes nothing; a refusal is replayed like a success; keys belong to
one principal; after ``idempotency_hours`` a key runs anew; the claim, the effect and the
answer commit in one transaction, so a request that fails leaves its key free and a
concurrent one with the key never makes a second effect.

Over real HTTP (``aftersales serve`` as its own process): 1,000 concurrent POSTs with one
key make one case; a server SIGKILLed inside a request's transaction leaves nothing of it,
its key included, and the retry makes the one effect.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from aftersales.api.app import create_app
from aftersales.domain.accounts import AccountKind
from aftersales.services import accounts, orders, shops
from aftersales.services import cases as cases_svc
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.store import deadlines as deadline_store
from aftersales.store.db import Database
from aftersales.store.db import normalise_url as _normalise
from tests.api.http_support import (
    LiveServer,
    Marketplace,
    case_body,
    live_server,
    serve,
    unique,
)
from tests.conftest import FakeClock, make_context

PROBLEM = "application/problem+json"
REPLAYED = "Idempotent-Replayed"


# --------------------------------------------------------------------------- in-process
@dataclass
class Party:
    token: str
    order: dict[str, Any]  # number and first line id of an order of theirs

    def headers(self, key: str | None = None, **extra: str) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token}", "Accept-Language": "en", **extra}
        if key is not None:
            h["Idempotency-Key"] = key
        return h


@dataclass
class World:
    ctx: Context
    clock: FakeClock
    client: TestClient
    buyer: Party
    other_buyer: Party
    merchant: Party

    def open_body(self, party: Party | None = None, **over: Any) -> dict[str, Any]:
        order = (party or self.buyer).order
        body = case_body(order, "return_refund", reason="changed_mind", amount=10_000)
        return {**body, **over}

    def cases_of(self, party: Party) -> list[dict[str, Any]]:
        res = self.client.get(
            "/api/v1/cases",
            params={"order_number": party.order["number"], "limit": 200},
            headers=party.headers(),
        )
        assert res.status_code == 200, res.text
        items: list[dict[str, Any]] = res.json()["items"]
        return items


def _buyer(ctx: Context, shop: str, ref: str, quantity: int = 2) -> Party:
    now = ctx.now()
    view = orders.push_order(
        ctx,
        Actor.system("ordersys"),
        number=f"O-{ref}",
        shop_code=shop,
        buyer=orders.BuyerIn(ref, f"Buyer {ref}", f"139{abs(hash(ref)) % 10**8:08d}"),
        currency="CNY",
        lines=[orders.LineIn("TEE", "T-shirt", quantity, 10_000, 10_000 * quantity)],
        paid_at=now - timedelta(days=3),
        freight=800,
        shipped_at=now - timedelta(days=2),
        signed_at=now - timedelta(days=1),
    )
    account = accounts.create_account(
        ctx, None, kind=AccountKind.BUYER, login=ref, password="password-123", buyer_ref=ref
    )
    token = accounts.create_token(
        ctx,
        Actor.system("operator"),
        name="app",
        scopes=["cases:read", "cases:write"],
        account_id=account.id,
    ).token
    assert token is not None
    order = {"number": view.order.number, "lines": [{"id": view.order.lines[0].id}]}
    return Party(token, order)


@pytest.fixture
def world(db: Database, clock: FakeClock) -> Iterator[World]:
    ctx = make_context(db, clock)
    shops.create_shop(
        ctx, Actor.system("operator"), code="S1", name="Shop 1", return_address="1 Return Rd"
    )
    merchant = accounts.create_account(
        ctx,
        None,
        kind=AccountKind.MERCHANT,
        login="s1-main",
        password="password-123",
        shop_code="S1",
        main=True,
    )
    merchant_token = accounts.create_token(
        ctx,
        Actor.system("operator"),
        name="workbench",
        scopes=["cases:read", "cases:write"],
        account_id=merchant.id,
    ).token
    assert merchant_token is not None
    app = create_app(ctx, embedded_worker=False, embedded_dispatcher=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield World(
            ctx,
            clock,
            client,
            _buyer(ctx, "S1", "buyer-a"),
            _buyer(ctx, "S1", "buyer-b"),
            Party(merchant_token, {}),
        )


def test_replay_returns_the_identical_response_marked_idempotent_replayed(
    world: World,
) -> None:
    c, buyer = world.client, world.buyer
    first = c.post("/api/v1/cases", json=world.open_body(), headers=buyer.headers("open-1"))
    assert first.status_code == 201, first.text
    assert REPLAYED not in first.headers
    number = first.json()["number"]

    world.clock.advance(hours=1)
    again = c.post("/api/v1/cases", json=world.open_body(), headers=buyer.headers("open-1"))
    assert again.status_code == 201
    assert again.headers[REPLAYED] == "true"
    assert again.headers["content-type"].startswith("application/json")
    assert again.content == first.content  # byte for byte, not re-rendered an hour later
    assert [item["number"] for item in world.cases_of(buyer)] == [number]

    # An action route too: the merchant's retried approval is one timeline event.
    path = f"/api/v1/cases/{number}/approve-return"
    approve = [c.post(path, json={}, headers=world.merchant.headers("approve-1")) for _ in "ab"]
    assert [r.status_code for r in approve] == [200, 200]
    assert approve[1].headers[REPLAYED] == "true" and approve[1].content == approve[0].content
    timeline = c.get(f"/api/v1/cases/{number}/timeline", headers=buyer.headers()).json()
    assert [e["action"] for e in timeline] == ["open", "approve_return"]


def test_same_key_with_other_parameters_is_refused_422_key_reused_and_changes_nothing(
    world: World,
) -> None:
    c, buyer = world.client, world.buyer
    first = c.post("/api/v1/cases", json=world.open_body(), headers=buyer.headers("k"))
    assert first.status_code == 201, first.text
    number = first.json()["number"]

    other_body = c.post(
        "/api/v1/cases", json=world.open_body(amount=9_000), headers=buyer.headers("k")
    )
    assert other_body.status_code == 422, other_body.text
    assert other_body.headers["content-type"].startswith(PROBLEM)
    problem = other_body.json()
    assert problem["code"] == "idempotency.key_reused"
    assert problem["errors"][0]["field"] == "Idempotency-Key"
    assert REPLAYED not in other_body.headers

    other_path = c.post(
        f"/api/v1/cases/{number}/cancel", json={"note": ""}, headers=buyer.headers("k")
    )
    assert other_path.status_code == 422
    assert other_path.json()["code"] == "idempotency.key_reused"

    (case,) = world.cases_of(buyer)
    assert case["state"] == "awaiting_merchant"
    assert case["requested"]["amount"] == 10_000
    assert case["version"] == first.json()["version"]
    # The first result is still what the key replays.
    replay = c.post("/api/v1/cases", json=world.open_body(), headers=buyer.headers("k"))
    assert replay.headers[REPLAYED] == "true" and replay.content == first.content


def test_a_refused_first_request_is_replayed_as_the_same_refusal_even_once_it_would_succeed(
    world: World,
) -> None:
    c, buyer = world.client, world.buyer
    number = c.post("/api/v1/cases", json=world.open_body(), headers=buyer.headers()).json()[
        "number"
    ]
    accept = f"/api/v1/cases/{number}/accept-offer"
    refused = c.post(accept, json={}, headers=buyer.headers("accept-1"))
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith(PROBLEM)
    assert refused.json()["code"] == "transition.illegal"
    assert refused.json()["rule"] == "R5.2"

    offer = c.post(
        f"/api/v1/cases/{number}/counter-offer",
        json={"amount": 6_000},
        headers=world.merchant.headers(),
    )
    assert offer.status_code == 200 and offer.json()["state"] == "awaiting_buyer"

    replayed = c.post(accept, json={}, headers=buyer.headers("accept-1"))
    assert replayed.status_code == 409
    assert replayed.headers[REPLAYED] == "true"
    assert replayed.headers["content-type"].startswith(PROBLEM)
    assert replayed.content == refused.content
    assert c.get(f"/api/v1/cases/{number}", headers=buyer.headers()).json()["state"] == (
        "awaiting_buyer"
    )
    # A new key is a new request: now it succeeds.
    fresh = c.post(accept, json={}, headers=buyer.headers("accept-2"))
    assert fresh.status_code == 200 and fresh.json()["state"] == "refunded"


def test_a_request_refused_by_body_validation_stores_nothing_under_its_key(
    world: World,
) -> None:
    c, buyer = world.client, world.buyer
    bad = c.post("/api/v1/cases", json=world.open_body(amount=-1), headers=buyer.headers("v"))
    assert bad.status_code == 422 and bad.json()["code"] == "request.invalid"
    good = c.post("/api/v1/cases", json=world.open_body(), headers=buyer.headers("v"))
    assert good.status_code == 201, good.text
    assert REPLAYED not in good.headers


def test_keys_belong_to_one_principal_two_buyers_use_the_same_key_independently(
    world: World,
) -> None:
    c = world.client
    a = c.post("/api/v1/cases", json=world.open_body(), headers=world.buyer.headers("same"))
    b = c.post(
        "/api/v1/cases",
        json=world.open_body(world.other_buyer),
        headers=world.other_buyer.headers("same"),
    )
    assert a.status_code == 201 and b.status_code == 201, (a.text, b.text)
    assert REPLAYED not in a.headers and REPLAYED not in b.headers
    assert a.json()["number"] != b.json()["number"]
    assert a.json()["order_number"] != b.json()["order_number"]
    # Buyer B replaying the key gets B's case, never A's.
    again = c.post(
        "/api/v1/cases",
        json=world.open_body(world.other_buyer),
        headers=world.other_buyer.headers("same"),
    )
    assert again.headers[REPLAYED] == "true" and again.json()["number"] == b.json()["number"]
    # Buyer B sending A's body under the shared key: B's key, other parameters -> 422.
    cross = c.post(
        "/api/v1/cases", json=world.open_body(), headers=world.other_buyer.headers("same")
    )
    assert cross.status_code == 422 and cross.json()["code"] == "idempotency.key_reused"


def test_after_the_replay_window_the_same_key_runs_anew(world: World) -> None:
    c, buyer = world.client, world.buyer
    body = world.open_body(lines=[{"order_line_id": buyer.order["lines"][0]["id"], "quantity": 1}])
    first = c.post("/api/v1/cases", json=body, headers=buyer.headers("window"))
    assert first.status_code == 201, first.text
    hours = world.ctx.settings.idempotency_hours

    world.clock.advance(hours=hours, seconds=-1)
    inside = c.post("/api/v1/cases", json=body, headers=buyer.headers("window"))
    assert inside.headers.get(REPLAYED) == "true" and inside.content == first.content

    world.clock.advance(seconds=2)
    after = c.post("/api/v1/cases", json=body, headers=buyer.headers("window"))
    assert after.status_code == 201, after.text
    assert REPLAYED not in after.headers
    assert after.json()["number"] != first.json()["number"]
    assert len(world.cases_of(buyer)) == 2  # the order has 2 units: one case each
    # The new result is what the key replays now.
    again = c.post("/api/v1/cases", json=body, headers=buyer.headers("window"))
    assert again.headers[REPLAYED] == "true" and again.json()["number"] == after.json()["number"]


def _fail_once(monkeypatch: pytest.MonkeyPatch, target: Any, name: str) -> list[int]:
    """Make ``target.name`` raise RuntimeError on its first call only."""
    original: Callable[..., Any] = getattr(target, name)
    calls: list[int] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("injected fault")
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, flaky)
    return calls


@pytest.mark.parametrize(
    ("target", "name"),
    [
        (cases_svc, "open_case"),  # before the transaction
        (deadline_store, "schedule_deadline"),  # inside it, after the case row is written
    ],
    ids=["before-transaction", "mid-transaction"],
)
def test_a_request_that_crashes_before_its_effect_releases_the_key_and_the_retry_runs(
    world: World, monkeypatch: pytest.MonkeyPatch, target: Any, name: str
) -> None:
    c, buyer = world.client, world.buyer
    calls = _fail_once(monkeypatch, target, name)
    crashed = c.post("/api/v1/cases", json=world.open_body(), headers=buyer.headers("crash"))
    assert crashed.status_code == 500, crashed.text
    assert crashed.headers["content-type"].startswith(PROBLEM)
    assert crashed.json()["code"] == "internal"
    assert world.cases_of(buyer) == []  # nothing was committed

    retry = c.post("/api/v1/cases", json=world.open_body(), headers=buyer.headers("crash"))
    assert retry.status_code == 201, retry.text
    assert REPLAYED not in retry.headers
    assert len(calls) == 2
    assert [item["number"] for item in world.cases_of(buyer)] == [retry.json()["number"]]
    again = c.post("/api/v1/cases", json=world.open_body(), headers=buyer.headers("crash"))
    assert again.headers[REPLAYED] == "true" and again.content == retry.content


def test_a_request_that_crashes_while_rendering_its_answer_commits_nothing_and_the_retry_runs(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer is built and stored in the transaction of the effect: a crash after the
    effect but before the answer is stored rolls the effect back with it, so the retry
    makes the one effect (an earlier version committed the effect first and answered the
    retry ``idempotency.response_lost``)."""
    c, buyer = world.client, world.buyer
    _fail_once(monkeypatch, cases_svc, "card_after_move")  # after the effect, same transaction
    crashed = c.post("/api/v1/cases", json=world.open_body(), headers=buyer.headers("late"))
    assert crashed.status_code == 500, crashed.text
    assert world.cases_of(buyer) == []  # the effect rolled back with the answer

    retry = c.post("/api/v1/cases", json=world.open_body(), headers=buyer.headers("late"))
    assert retry.status_code == 201, retry.text
    assert REPLAYED not in retry.headers
    assert [item["number"] for item in world.cases_of(buyer)] == [retry.json()["number"]]
    again = c.post("/api/v1/cases", json=world.open_body(), headers=buyer.headers("late"))
    assert again.headers[REPLAYED] == "true" and again.content == retry.content


@contextmanager
def _first_request_held(
    world: World, monkeypatch: pytest.MonkeyPatch, target: Any, name: str, key: str
) -> Iterator[list[httpx.Response]]:
    """Send the buyer's ``POST /cases`` with ``key`` from a thread and hold it inside
    ``target.name`` (its first call) until the block ends; its answer is in the list after."""
    original: Callable[..., Any] = getattr(target, name)
    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            entered.set()
            assert release.wait(30)
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, slow)
    results: list[httpx.Response] = []
    body, headers = world.open_body(), world.buyer.headers(key)

    def send() -> None:
        results.append(world.client.post("/api/v1/cases", json=body, headers=headers))

    first = threading.Thread(target=send)
    first.start()
    try:
        assert entered.wait(30)
        yield results
    finally:
        release.set()
        first.join(30)


def _send_from_thread(world: World, key: str) -> tuple[threading.Thread, list[httpx.Response]]:
    """The buyer's ``POST /cases`` with ``key``, sent from a thread; its answer in the list."""
    got: list[httpx.Response] = []
    body, headers = world.open_body(), world.buyer.headers(key)
    thread = threading.Thread(
        target=lambda: got.append(world.client.post("/api/v1/cases", json=body, headers=headers))
    )
    thread.start()
    return thread, got


def _in_progress_or_replayed(again: httpx.Response, done: httpx.Response) -> None:
    """PostgreSQL answers a concurrent request with the key 409 ``idempotency.in_progress``
    at once; SQLite's writers queue, so there it waits for the first and replays its answer."""
    if again.status_code == 409:
        assert again.json()["code"] == "idempotency.in_progress", again.json()
    else:
        assert again.headers.get(REPLAYED) == "true" and again.content == done.content


def test_a_second_request_while_the_first_is_in_flight_gets_409_in_progress_or_its_answer(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim, the effect and the answer commit in one transaction: a second request with
    the key never runs the effect again (PostgreSQL: 409 while the first runs; SQLite: it
    waits for the first and replays its answer)."""
    c, buyer = world.client, world.buyer
    with _first_request_held(world, monkeypatch, cases_svc, "open_case", "busy") as results:
        second, busy = _send_from_thread(world, "busy")
        second.join(0.5 if world.ctx.db.is_sqlite else 30)  # PostgreSQL answers at once
        if not world.ctx.db.is_sqlite:
            (answer,) = busy
            assert answer.status_code == 409, answer.text
            assert answer.json()["code"] == "idempotency.in_progress"
    second.join(30)
    (done,) = results
    assert done.status_code == 201, done.text
    _in_progress_or_replayed(busy[0], done)
    assert len(world.cases_of(buyer)) == 1
    assert c.post("/api/v1/cases", json=world.open_body(), headers=buyer.headers("busy")).headers[
        REPLAYED
    ] == ("true")


def test_a_retry_while_the_first_request_renders_its_answer_never_makes_a_second_effect(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first request is past its effect, rendering its answer in the same transaction.
    A retry then gets 409 ``idempotency.in_progress`` (PostgreSQL: the key's advisory lock
    is held by the first) or, where writers queue (SQLite's one write lock), waits for the
    first to commit and gets its answer replayed; never a second effect."""
    c, buyer = world.client, world.buyer
    original: Callable[..., Any] = cases_svc.card_after_move
    entered, release = threading.Event(), threading.Event()

    def slow(*args: Any, **kwargs: Any) -> Any:
        if not entered.is_set():
            entered.set()
            assert release.wait(30)
        return original(*args, **kwargs)

    monkeypatch.setattr(cases_svc, "card_after_move", slow)
    results: dict[str, httpx.Response] = {}
    body = world.open_body()

    def send(name: str) -> None:
        results[name] = c.post("/api/v1/cases", json=body, headers=buyer.headers("slow"))

    first = threading.Thread(target=send, args=("first",))
    first.start()
    assert entered.wait(30)
    retry = threading.Thread(target=send, args=("retry",))
    retry.start()
    retry.join(0.5)  # PostgreSQL answers at once; SQLite waits for the write lock
    release.set()
    first.join(30)
    retry.join(30)
    done, again = results["first"], results["retry"]
    assert done.status_code == 201, done.text
    _in_progress_or_replayed(again, done)
    assert [item["number"] for item in world.cases_of(buyer)] == [done.json()["number"]]


def test_hardening_a_request_slower_than_its_lease_keeps_its_key_and_makes_the_one_effect(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its claim is part of its own transaction, so no retry can take the key over while it
    runs, however long it takes (an earlier version committed the claim first and let a
    retry claim it again after the lease, rolling the slow request back): a retry during it
    and after its lease gets 409 or waits (see above), never a second effect."""
    c, buyer = world.client, world.buyer
    with _first_request_held(world, monkeypatch, cases_svc, "open_case", "lease") as results:
        world.clock.advance(seconds=world.ctx.settings.idempotency_lease_seconds + 1)
        retry, got = _send_from_thread(world, "lease")
        retry.join(0.5 if world.ctx.db.is_sqlite else 30)
        if not world.ctx.db.is_sqlite:
            (late,) = got
            assert late.status_code == 409 and late.json()["code"] == "idempotency.in_progress"
    retry.join(30)
    (done,) = results
    assert done.status_code == 201, done.text
    assert REPLAYED not in done.headers
    _in_progress_or_replayed(got[0], done)
    assert [item["number"] for item in world.cases_of(buyer)] == [done.json()["number"]]
    other = c.post(
        "/api/v1/cases", json=world.open_body(amount=9_000), headers=buyer.headers("lease")
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency.key_reused"
    again = c.post("/api/v1/cases", json=world.open_body(), headers=buyer.headers("lease"))
    assert again.headers[REPLAYED] == "true" and again.content == done.content


# --------------------------------------------------------------------------- real HTTP
@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    tmp: Path = tmp_path_factory.mktemp(f"idem-{request.param}")
    with live_server(request.param, tmp) as srv:
        yield srv


TRANSPORT_RETRIES = 3


async def _storm(
    base_url: str, token: str, body: dict[str, Any], key: str, n: int
) -> list[httpx.Response | BaseException]:
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    timeout = httpx.Timeout(300.0, pool=None)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key, "Accept-Language": "en"}
    retried = 0

    async def post(client: httpx.AsyncClient) -> httpx.Response | BaseException:
        # A transport error (a pooled keep-alive connection reset by the server as the
        # request went out) leaves the client not knowing whether the effect happened:
        # it does what the Idempotency-Key contract is for and retries with the same key.
        nonlocal retried
        for attempt in range(TRANSPORT_RETRIES + 1):
            try:
                return await client.post("/api/v1/cases", json=body)
            except httpx.TransportError as exc:
                if attempt == TRANSPORT_RETRIES:
                    return exc
                retried += 1
        raise AssertionError("unreachable")

    async with httpx.AsyncClient(
        base_url=base_url, limits=limits, timeout=timeout, headers=headers
    ) as client:
        results = await asyncio.gather(*(post(client) for _ in range(n)))
    print(f"transport retries: {retried}")
    return results


@pytest.mark.slow
def test_1000_concurrent_posts_with_one_idempotency_key_make_exactly_one_case(
    server: LiveServer,
) -> None:
    market = Marketplace(server)
    try:
        shop = market.open_shop()
        buyer, _ = market.new_buyer(shop)
        order = market.signed_order(shop, buyer)
        token = buyer.api.ok(
            buyer.api.post(
                "/api/v1/tokens", {"name": "mobile app", "scopes": ["cases:read", "cases:write"]}
            ),
            201,
        )["token"]
        body = case_body(order, "return_refund", reason="changed_mind", amount=10_000)
        key = unique("storm-")

        started = time.monotonic()
        responses = asyncio.run(_storm(server.base_url, token, body, key, 1000))
        elapsed = time.monotonic() - started
        print(f"\n1000 concurrent POSTs on {server.dialect}: {elapsed:.1f} s")

        errors = [r for r in responses if isinstance(r, BaseException)]
        assert not errors, f"{len(errors)} transport errors, first: {errors[0]!r}"
        answers = [r for r in responses if isinstance(r, httpx.Response)]
        outcomes = Counter(
            (r.status_code, r.json().get("code") if r.status_code >= 400 else None) for r in answers
        )
        assert not [r for r in answers if r.status_code >= 500], (outcomes, server.log_tail())
        created = [r for r in answers if r.status_code == 201]
        assert created, outcomes
        numbers = {r.json()["number"] for r in created}
        assert len(numbers) == 1, numbers
        assert sum(1 for r in created if REPLAYED not in r.headers) == 1, outcomes
        assert {r.content for r in created} == {created[0].content}
        lost = outcomes.pop((409, "idempotency.response_lost"), 0)
        assert set(outcomes) <= {(201, None), (409, "idempotency.in_progress")}, outcomes

        listed = buyer.api.ok(
            buyer.api.get("/api/v1/cases", order_number=order["number"], limit=200)
        )["items"]
        assert [item["number"] for item in listed] == list(numbers)
        timeline = shop.agent.timeline(next(iter(numbers)))
        assert [e["action"] for e in timeline] == ["open"]
        # Once the storm is over, the key replays the one result to the same account (its
        # login session is the same principal as its token).
        replay = buyer.api.post("/api/v1/cases", body, key=key)
        assert replay.status_code == 201, replay.text
        assert replay.headers[REPLAYED] == "true" and replay.content == created[0].content
    finally:
        market.close()
    assert server.alive(), server.log_tail()
    assert lost == 0, outcomes


# --------------------------------------------------------------------------- SIGKILL
LEASE_SECONDS = 1  # the served process's lease: short, so the test need not wait long


class _EffectBlocker:
    """Holds a request inside its effect, from outside the server (nothing of it ships):
    PostgreSQL: this test holds an EXCLUSIVE lock on ``cases``, so the INSERT of the case
    waits; SQLite: a trigger (added by this test) makes that INSERT compute for ever."""

    def __init__(self, db_url: str, dialect: str):
        self.dialect = dialect
        self.path = db_url.removeprefix("sqlite:///")
        self.engine = create_engine(_normalise(db_url)) if dialect == "postgresql" else None
        self.conn: Any = None

    def block(self) -> None:
        if self.engine is not None:
            self.conn = self.engine.connect()
            self.conn.execute(text("LOCK TABLE cases IN EXCLUSIVE MODE"))
            return
        with sqlite3.connect(self.path) as db:
            db.execute("CREATE TABLE slow_rows (x INTEGER)")
            db.executemany("INSERT INTO slow_rows VALUES (?)", [(i,) for i in range(2000)])
            db.execute(
                "CREATE TRIGGER slow_case BEFORE INSERT ON cases BEGIN "
                "SELECT count(*) FROM slow_rows a, slow_rows b, slow_rows c; END"
            )

    def effect_waiting(self) -> bool:
        """The effect's transaction is under way (and cannot commit)."""
        if self.engine is not None:
            with self.engine.connect() as conn:
                waiting = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                        "WHERE c.relname = 'cases' AND NOT l.granted"
                    )
                ).scalar_one()
            return bool(waiting)
        db = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")  # fails while the server's writer holds the lock
            db.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            db.close()

    def unblock(self) -> None:
        if self.conn is not None:
            self.conn.rollback()
            self.conn.close()
            return
        with sqlite3.connect(self.path, timeout=30) as db:
            db.execute("DROP TRIGGER slow_case")
            db.execute("DROP TABLE slow_rows")

    def key_status(self, key: str) -> list[str]:
        query = "SELECT status FROM idempotency_keys WHERE key = :k"
        if self.engine is not None:
            with self.engine.connect() as conn:
                return [r[0] for r in conn.execute(text(query), {"k": key})]
        with sqlite3.connect(self.path) as db:
            return [r[0] for r in db.execute(query.replace(":k", "?"), (key,))]

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def _wait_for(check: Callable[[], bool], what: str, log: Callable[[], str]) -> None:
    deadline = time.monotonic() + 60
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}:\n{log()}")
        time.sleep(0.05)


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_hardening_a_sigkilled_request_leaves_its_idempotency_key_free_for_the_retry(
    dialect: str, tmp_path: Path
) -> None:
    lease = {"AFTERSALES_IDEMPOTENCY_LEASE_SECONDS": str(LEASE_SECONDS)}
    with live_server(dialect, tmp_path, **lease) as srv:
        market = Marketplace(srv)
        try:
            shop = market.open_shop()
            buyer, order = market.new_buyer(shop)  # paid, not shipped
            token = buyer.api.ok(
                buyer.api.post("/api/v1/tokens", {"name": "app", "scopes": ["cases:write"]}),
                201,
            )["token"]
        finally:
            market.close()
        body = case_body(order, "refund_unshipped", reason="ordered_by_mistake", amount=10_000)
        key = unique("killed-")
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
        blocker = _EffectBlocker(srv.db_url, dialect)
        blocker.block()
        try:
            outcome: list[object] = []

            def post() -> None:
                try:
                    outcome.append(
                        httpx.post(
                            f"{srv.base_url}/api/v1/cases", json=body, headers=headers, timeout=120
                        )
                    )
                except httpx.TransportError as exc:  # the server died under the request
                    outcome.append(exc)

            request = threading.Thread(target=post)
            request.start()
            _wait_for(blocker.effect_waiting, "the effect", srv.log_tail)
            assert srv.proc is not None
            os.kill(srv.proc.pid, signal.SIGKILL)
            srv.proc.wait(timeout=30)
            request.join(60)
            assert [type(o) for o in outcome] != [httpx.Response], outcome  # no answer came
        finally:
            blocker.unblock()
        try:
            # The killed request's claim was in its transaction: nothing of it committed.
            assert blocker.key_status(key) == []
        finally:
            blocker.close()

        with (
            serve(srv.db_url, srv.log, **lease) as (base_url, _),
            httpx.Client(base_url=base_url, headers={"Accept-Language": "en"}) as http,
        ):

            def cases() -> list[str]:
                res = http.get(
                    "/api/v1/cases",
                    params={"order_number": order["number"]},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert res.status_code == 200, res.text
                return [c["number"] for c in res.json()["items"]]

            assert cases() == []
            retry = http.post("/api/v1/cases", json=body, headers=headers)
            assert retry.status_code == 201, retry.text
            assert REPLAYED not in retry.headers
            assert cases() == [retry.json()["number"]]
            again = http.post("/api/v1/cases", json=body, headers=headers)
            assert again.status_code == 201 and again.headers[REPLAYED] == "true"
            assert again.content == retry.content
            assert cases() == [retry.json()["number"]]
