"""The outbox guarantee end to end: the server is killed (SIGKILL) after the change
committed and before any webhook was sent; a server started later delivers every event,
once per event id (``webhook-id``), to every endpoint."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from aftersales.domain.accounts import AccountKind
from aftersales.profiles import load_profiles
from aftersales.services import accounts, orders, shops
from aftersales.services import webhooks as svc
from aftersales.services.actors import Actor
from aftersales.services.context import Context, ProfileStore, system_clock
from aftersales.settings import Settings
from aftersales.store.db import Database
from aftersales.store.schema import outbox_events, webhook_deliveries
from tests.conftest import _pg_admin_url
from tests.webhooks.conftest import ADMIN, Receiver

CLI = [sys.executable, "-m", "aftersales.cli"]
PASSWORD = "correct horse battery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "AFTERSALES_DATABASE_URL": url,
        "AFTERSALES_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        **extra,
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own (migrated below by the CLI, as an operator would)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kill.db'}"
        return
    request.getfixturevalue("pg_url")  # skips (or fails under CI) without PostgreSQL
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    name = f"aftersales_kill_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _serve(url: str, port: int, **env: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=_env(url, **env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    for _ in range(150):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"the server on port {port} did not start")


def _setup(
    url: str, receiver: Receiver
) -> tuple[dict[str, str], list[tuple[str, int]], dict[str, str | None]]:
    """Shop, endpoints, orders and a buyer with an API token, through the services."""
    settings = Settings(database_url=url, webhook_allow_private_networks=True)
    db = Database(url)
    ctx = Context(db, ProfileStore(load_profiles()), settings, system_clock)
    try:
        shops.create_shop(
            ctx, Actor.system(), code="KILL", name="Kill shop", return_address="1 Road"
        )
        secrets = {
            "/shop": svc.create_endpoint(ctx, ADMIN, "KILL", receiver.url("/shop")).secret,
            "/platform": svc.create_endpoint(ctx, ADMIN, None, receiver.url("/platform")).secret,
        }
        lines: list[tuple[str, int]] = []
        for n in range(2):
            view = orders.push_order(
                ctx,
                Actor.system(),
                number=f"OKILL{n}",
                shop_code="KILL",
                buyer=orders.BuyerIn(ref="buyer-kill", name="Li Lei", phone="13800000000"),
                currency="CNY",
                lines=[
                    orders.LineIn(sku=f"SKU{n}", title="Tee", quantity=1, unit_price=100, paid=100)
                ],
                paid_at=ctx.now() - timedelta(hours=2),
            )
            lines.append((view.order.number, view.order.lines[0].id))
        account = accounts.create_account(
            ctx,
            None,
            kind=AccountKind.BUYER,
            login="buyer-kill",
            password=PASSWORD,
            buyer_ref="buyer-kill",
        )
        token = accounts.create_token(
            ctx,
            Actor.system(),
            name="app",
            scopes=["cases:read", "cases:write"],
            account_id=account.id,
        ).token
        assert token is not None
        return {"Authorization": f"Bearer {token}"}, lines, secrets
    finally:
        db.dispose()


def _outbox(url: str) -> tuple[list[str], int]:
    db = Database(url)
    try:
        with db.read() as conn:
            ids = list(conn.execute(select(outbox_events.c.event_id)).scalars())
            deliveries = len(conn.execute(select(webhook_deliveries.c.id)).all())
        return ids, deliveries
    finally:
        db.dispose()


def _delivered(url: str) -> int:
    db = Database(url)
    try:
        with db.read() as conn:
            return len(
                conn.execute(
                    select(webhook_deliveries.c.id).where(
                        webhook_deliveries.c.status == "delivered"
                    )
                ).all()
            )
    finally:
        db.dispose()


def test_webhook_delivered_once_per_event_id_after_the_server_is_killed(
    fresh_url: str, receiver: Receiver
) -> None:
    url = fresh_url
    migrated = subprocess.run(
        [*CLI, "db", "upgrade"], env=_env(url), capture_output=True, text=True, timeout=120
    )
    assert migrated.returncode == 0, migrated.stderr
    auth, lines, secrets = _setup(url, receiver)

    # 1. A server without a dispatcher commits the cases (and their outbox events) ...
    port = _free_port()
    first = _serve(url, port, AFTERSALES_EMBEDDED_DISPATCHER="false")
    try:
        for number, line_id in lines:
            res = httpx.post(
                f"http://127.0.0.1:{port}/api/v1/cases",
                headers=auth,
                json={
                    "order_number": number,
                    "type": "refund_unshipped",
                    "lines": [{"order_line_id": line_id, "quantity": 1}],
                    "reason": "changed_mind",
                    "amount": 100,
                },
                timeout=10,
            )
            assert res.status_code == 201, res.text
    finally:
        first.kill()  # ... and dies (SIGKILL) before sending anything.
        first.wait(timeout=10)
    committed, deliveries = _outbox(url)
    assert deliveries == 0 and receiver.requests == []
    assert len(committed) == 4  # order.recorded x2, case.open x2

    # 2. A server started later (dispatcher on) delivers every event, once per event id.
    port = _free_port()
    second = _serve(
        url,
        port,
        AFTERSALES_EMBEDDED_DISPATCHER="true",
        AFTERSALES_WEBHOOK_POLL_SECONDS="0.1",
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            # Done when every delivery is recorded as delivered: those are never sent again.
            if _delivered(url) == 2 * len(committed):
                break
            time.sleep(0.1)
    finally:
        second.terminate()
        second.wait(timeout=20)

    types: Counter[str] = Counter()
    for path in ("/shop", "/platform"):
        got = receiver.to(path)
        counts = Counter(r.webhook_id for r in got)
        assert set(counts) == set(committed), path
        assert set(counts.values()) == {1}, counts
        for r in got:
            assert svc.verify_signature(secrets[path] or "", r.headers, r.body)
            payload = json.loads(r.body)
            assert payload["id"] == r.webhook_id
            types[payload["type"]] += 1
    assert types == {"order.recorded": 4, "case.open": 4}
