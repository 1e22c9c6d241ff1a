"""A real ``aftersales serve`` process on a fresh database, and the marketplace's parties
talking to it over HTTP.

Only the bootstrap goes through the operator's CLI (the first admin, the order system's
service account and its token); every other step is an HTTP request, the way the
marketplace, its shops, its buyers and its carriers use the API.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import IN_CI, PG_URL

CLI = [sys.executable, "-m", "aftersales.cli"]
ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "admin-password-1"
PASSWORD = "password-123"
SERVICE_SCOPES = ("orders:write", "accounts:write", "logistics:write")

_seq = itertools.count(1)


def unique(prefix: str) -> str:
    """A code no other test (or earlier run against the same database) uses."""
    return f"{prefix}{uuid.uuid4().hex[:8]}{next(_seq)}"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def ago(**kw: float) -> datetime:
    """The server runs on the real clock; facts are dated relative to it."""
    return datetime.now(UTC) - timedelta(**kw)


# --------------------------------------------------------------------------- processes
def _env(db_url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "AFTERSALES_DATABASE_URL": db_url, "COLUMNS": "200", **extra}
    env.pop("AFTERSALES_EMBEDDED_WORKER", None)
    env.pop("AFTERSALES_EMBEDDED_DISPATCHER", None)
    return env


def cli(db_url: str, *args: str) -> str:
    """Run the operator's CLI; returns stdout, fails the test on a non-zero exit."""
    res = subprocess.run(
        [*CLI, *args], env=_env(db_url), capture_output=True, text=True, timeout=300, check=False
    )
    assert res.returncode == 0, f"aftersales {' '.join(args)}: {res.stdout}\n{res.stderr}"
    return res.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def fresh_database(kind: str, tmp_dir: Path) -> Iterator[str]:
    """An empty database migrated by ``aftersales db upgrade``; a PostgreSQL one is dropped
    afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_dir / 'live.db'}"
        cli(url, "db", "upgrade")
        yield url
        return
    admin_url = make_url(PG_URL).set(drivername="postgresql+psycopg")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true and is not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    name = f"aftersales_http_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        cli(url, "db", "upgrade")
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@dataclass
class LiveServer:
    """``aftersales serve`` on 127.0.0.1 with its bootstrap credentials."""

    dialect: str
    db_url: str
    base_url: str
    log: Path
    service_token: str
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def _wait_healthy(base_url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{base_url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"server not healthy after 60 s:\n{log.read_text()[-4000:]}")


@contextmanager
def serving(db_url: str, log: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`aftersales serve` (no embedded worker or dispatcher) on a free port of 127.0.0.1:
    its base URL and process, once it answers /api/health; terminated afterwards."""
    port = free_port()
    with log.open("wb") as out_file:  # a file, not a pipe: a full pipe blocks the server
        proc = subprocess.Popen(
            [
                *CLI,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-embedded-worker",
                "--no-embedded-dispatcher",
            ],
            env=_env(db_url, **env),
            stdout=out_file,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base_url, proc, log)
        yield base_url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


@contextmanager
def live_server(kind: str, tmp_dir: Path) -> Iterator[LiveServer]:
    """A fresh database, bootstrapped through the CLI, served by a real process."""
    with fresh_database(kind, tmp_dir) as db_url:
        cli(
            db_url,
            "account",
            "create",
            "--kind",
            "admin",
            "--login",
            ADMIN_LOGIN,
            "--password",
            ADMIN_PASSWORD,
        )
        cli(db_url, "account", "create", "--kind", "service", "--login", "ordersys")
        scopes = [arg for s in SERVICE_SCOPES for arg in ("--scope", s)]
        out = cli(db_url, "account", "token", "--login", "ordersys", "--name", "orders", *scopes)
        token = out.strip().splitlines()[-1].strip()
        assert token.startswith("ast_"), out
        log = tmp_dir / f"serve-{kind}.log"
        with serving(db_url, log) as (base_url, proc):
            yield LiveServer(kind, db_url, base_url, log, token, proc)


# --------------------------------------------------------------------------- parties
class Api:
    """One principal's HTTP client: an API token, or a login session plus its CSRF token."""

    def __init__(self, server: LiveServer, *, token: str | None = None, lang: str = "en"):
        self.server = server
        headers = {"Accept-Language": lang}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        self.http = httpx.Client(base_url=server.base_url, headers=headers, timeout=60)
        self.account: dict[str, Any] = {}

    @classmethod
    def login(cls, server: LiveServer, login: str, password: str) -> Api:
        api = cls(server)
        res = api.http.post("/api/v1/auth/login", json={"login": login, "password": password})
        assert res.status_code == 200, res.text
        assert "aftersales_session" in api.http.cookies
        body = res.json()
        api.http.headers["X-CSRF-Token"] = body["csrf_token"]
        api.account = body["account"]
        return api

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, *, lang: str | None = None, **params: Any) -> httpx.Response:
        headers = {"Accept-Language": lang} if lang else None
        query = {k: v for k, v in params.items() if v is not None}
        return self.http.get(path, params=query, headers=headers)

    def post(
        self,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        lang: str | None = None,
    ) -> httpx.Response:
        headers: dict[str, str] = {}
        if key is not None:
            headers["Idempotency-Key"] = key
        if lang is not None:
            headers["Accept-Language"] = lang
        return self.http.post(path, json=body if body is not None else {}, headers=headers)

    def ok(self, res: httpx.Response, status: int = 200) -> Any:
        assert res.status_code == status, (
            f"{res.request.method} {res.request.url} -> {res.status_code}: {res.text}"
        )
        return res.json()

    def obj(self, res: httpx.Response, status: int = 200) -> dict[str, Any]:
        """``ok`` for an answer that is one JSON object."""
        body = self.ok(res, status)
        assert isinstance(body, dict), body
        return body

    # ----------------------------------------------------------------- cases
    def case(self, number: str) -> dict[str, Any]:
        return self.obj(self.get(f"/api/v1/cases/{number}"))

    def timeline(self, number: str) -> list[dict[str, Any]]:
        body = self.ok(self.get(f"/api/v1/cases/{number}/timeline"))
        assert isinstance(body, list), body
        return body

    def act(self, number: str, action: str, **body: Any) -> dict[str, Any]:
        """Take an action on the version just read (optimistic locking, as a UI does)."""
        if "expected_version" not in body:
            body["expected_version"] = self.case(number)["version"]
        return self.obj(self.post(f"/api/v1/cases/{number}/{action}", body))


@dataclass
class Buyer:
    ref: str
    name: str
    phone: str
    login: str
    api: Api


@dataclass
class Shop:
    """A shop opened by the admin, its main account, and a sub-account that handles
    after-sales (R1.2)."""

    code: str
    return_address: str
    main: Api
    agent: Api


class Marketplace:
    """The platform admin, the order system and the carrier integration, over HTTP."""

    def __init__(self, server: LiveServer):
        self.server = server
        self.admin = Api.login(server, ADMIN_LOGIN, ADMIN_PASSWORD)
        self.ordersys = Api(server, token=server.service_token)
        self._open: list[Api] = [self.admin, self.ordersys]

    def close(self) -> None:
        for api in self._open:
            api.close()

    def _login(self, login: str, password: str = PASSWORD) -> Api:
        api = Api.login(self.server, login, password)
        self._open.append(api)
        return api

    def open_shop(self) -> Shop:
        code = unique("S")
        address = f"{code} Return Rd, Hangzhou"
        self.admin.ok(
            self.admin.post(
                "/api/v1/shops",
                {"code": code, "name": f"Shop {code}", "return_address": address},
                key=unique("shop-"),
            ),
            201,
        )
        main_login = f"{code}-main".lower()
        main_account = self.admin.ok(
            self.admin.post(
                "/api/v1/accounts",
                {
                    "kind": "merchant",
                    "login": main_login,
                    "password": PASSWORD,
                    "shop": code,
                    "main": True,
                },
            ),
            201,
        )
        assert main_account["main"] is True and main_account["shop"] == code
        main = self._login(main_login)
        agent_login = f"{code}-agent".lower()
        sub = main.ok(
            main.post(
                f"/api/v1/shops/{code}/accounts",
                {"login": agent_login, "password": PASSWORD, "permissions": ["handle_aftersales"]},
            ),
            201,
        )
        assert sub["main"] is False and sub["permissions"] == ["handle_aftersales"]
        return Shop(code, address, main, self._login(agent_login))

    def push_order(
        self,
        shop: Shop,
        buyer: Buyer | tuple[str, str, str],
        *,
        unit_price: int = 10_000,
        quantity: int = 1,
        freight: int = 800,
        paid_at: datetime | None = None,
        **dates: datetime,
    ) -> dict[str, Any]:
        ref, name, phone = (
            (buyer.ref, buyer.name, buyer.phone) if isinstance(buyer, Buyer) else buyer
        )
        body: dict[str, Any] = {
            "number": unique("O"),
            "shop": shop.code,
            "buyer": {"ref": ref, "name": name, "phone": phone},
            "currency": "CNY",
            "lines": [
                {
                    "sku": "TEE-1",
                    "title": "T-shirt",
                    "quantity": quantity,
                    "unit_price": unit_price,
                    "paid": unit_price * quantity,
                }
            ],
            "freight": freight,
            "paid_at": iso(paid_at or ago(days=3)),
            **{k: iso(v) for k, v in dates.items()},
        }
        return self.ordersys.obj(self.ordersys.post("/api/v1/orders", body), 201)

    def new_buyer(self, shop: Shop) -> tuple[Buyer, dict[str, Any]]:
        """The order system pushes the buyer's first order (paid, not shipped), then
        provisions the buyer's account; the buyer logs in."""
        ref = unique("B")
        name = f"Buyer {ref}"
        phone = f"138{next(_seq) % 10**8:08d}"
        order = self.push_order(shop, (ref, name, phone))
        login = ref.lower()
        account = self.ordersys.ok(
            self.ordersys.post(
                "/api/v1/accounts",
                {"kind": "buyer", "login": login, "password": PASSWORD, "buyer_ref": ref},
            ),
            201,
        )
        assert account["kind"] == "buyer" and account["buyer_id"]
        return Buyer(ref, name, phone, login, self._login(login)), order

    def fulfil(self, order_number: str, **dates: datetime) -> dict[str, Any]:
        res = self.ordersys.post(
            f"/api/v1/orders/{order_number}/fulfilment", {k: iso(v) for k, v in dates.items()}
        )
        return self.ordersys.obj(res)

    def signed_order(self, shop: Shop, buyer: Buyer, **kw: Any) -> dict[str, Any]:
        """Paid three days ago, then shipped and signed for (yesterday) via fulfilment."""
        order = self.push_order(shop, buyer, **kw)
        return self.fulfil(order["number"], shipped_at=ago(days=2), signed_at=ago(days=1))

    def carrier_event(self, carrier: str, tracking: str, status: str) -> dict[str, Any]:
        res = self.ordersys.post(
            "/api/v1/logistics/events",
            {
                "carrier": carrier,
                "tracking_number": tracking,
                "status": status,
                "occurred_at": iso(ago(minutes=5)),
                "location": "Hangzhou",
            },
        )
        return self.ordersys.obj(res, 201)


def open_case(
    buyer: Buyer,
    order: dict[str, Any],
    type: str,
    *,
    reason: str,
    amount: int,
    quantity: int = 1,
    key: str | None = None,
) -> dict[str, Any]:
    res = buyer.api.post(
        "/api/v1/cases",
        case_body(order, type, reason=reason, amount=amount, quantity=quantity),
        key=key,
    )
    return buyer.api.obj(res, 201)


def case_body(
    order: dict[str, Any], type: str, *, reason: str, amount: int, quantity: int = 1
) -> dict[str, Any]:
    return {
        "order_number": order["number"],
        "type": type,
        "lines": [{"order_line_id": order["lines"][0]["id"], "quantity": quantity}],
        "reason": reason,
        "amount": amount,
        "description": f"{type} over HTTP",
    }


_tracking = itertools.count(int(time.time() * 1000) % 10**9)


def sf_tracking() -> str:
    """A fresh SF Express number (SF + 12 digits, R5.3)."""
    return f"SF{next(_tracking) % 10**12:012d}"
