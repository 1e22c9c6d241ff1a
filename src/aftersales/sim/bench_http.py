"""The HTTP half of ``make bench``: `aftersales serve` as a real process on PostgreSQL,
against the bare endpoint of :mod:`aftersales.sim.bare` started the same way.

- one case action (approve-return with an Idempotency-Key) vs one durable INSERT, 1 and 4
  clients, rounds interleaved A B A B;
- the full return-and-refund flow (push order, open, approve, ship, receive, refund) with
  1 and 4 clients against 1 and 2 workers, rounds interleaved;
- statements and transactions per request, counted in-process with SQLAlchemy events on
  the same application (the numbers do not depend on the process model).
"""

from __future__ import annotations

import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, event

from aftersales.domain.accounts import AccountKind
from aftersales.domain.case_types import CaseType
from aftersales.services import accounts, orders, shops
from aftersales.services import cases as svc
from aftersales.services.actors import Actor
from aftersales.services.context import Context

PRICE = 5_900


# --------------------------------------------------------------------------- counting
@dataclass
class Counts:
    statements: int = 0
    transactions: int = 0
    checkouts: int = 0
    pre_ping: bool = False  # the pool pings each checkout: one more round trip each

    def round_trips(self, sqlite: bool) -> int:
        """Statements, plus BEGIN and COMMIT/ROLLBACK (and a pre-ping per checkout where the
        pool pings) on PostgreSQL; on SQLite nothing crosses a network and BEGIN is already
        a statement."""
        if sqlite:
            return self.statements
        pings = self.checkouts if self.pre_ping else 0
        return self.statements + 2 * self.transactions + pings


@contextmanager
def counting(engine: Engine) -> Iterator[Counts]:
    """Count what goes to the database while the block runs (SQLAlchemy engine events)."""
    c = Counts(pre_ping=bool(getattr(engine.pool, "_pre_ping", False)))

    def on_execute(*_: Any) -> None:
        c.statements += 1

    def on_begin(*_: Any) -> None:
        c.transactions += 1

    def on_checkout(*_: Any) -> None:
        c.checkouts += 1

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "begin", on_begin)
    event.listen(engine.pool, "checkout", on_checkout)
    try:
        yield c
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "begin", on_begin)
        event.remove(engine.pool, "checkout", on_checkout)


# --------------------------------------------------------------------------- world
@dataclass
class World:
    shop_code: str
    buyer_ref: str
    orders_token: str
    merchant_token: str
    buyer_token: str
    # tracking numbers are unique across cases (R5.3): each world starts somewhere new
    tracking: Iterator[int] = field(
        default_factory=lambda: iter(range(random.randrange(10**11, 9 * 10**11), 10**12))
    )
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_tracking(self) -> str:
        with self.lock:
            return f"SF{next(self.tracking):012d}"


def provision(ctx: Context) -> World:
    """A shop, its main account, a buyer with an account, the order system's service
    account; a token for each (created as the operator's CLI does)."""
    tag = uuid.uuid4().hex[:6]
    code = f"bench{tag}"
    operator = Actor.system("operator")
    shops.create_shop(ctx, operator, code=code, name="Bench shop", return_address="Bench dock 1")
    ref = f"bench-buyer-{tag}"
    orders.record_buyer(ctx, operator, orders.BuyerIn(ref, "Bench buyer", "13800000000"))
    svc_acc = accounts.create_account(
        ctx, None, kind=AccountKind.SERVICE, login=f"orders-{tag}", password=None
    )
    merchant = accounts.create_account(
        ctx,
        None,
        kind=AccountKind.MERCHANT,
        login=f"shop-{tag}",
        password="bench-secret-1",
        shop_code=code,
        main=True,
    )
    buyer = accounts.create_account(
        ctx,
        None,
        kind=AccountKind.BUYER,
        login=f"buyer-{tag}",
        password="bench-secret-1",
        buyer_ref=ref,
    )

    def token(account_id: int, scopes: list[str]) -> str:
        view = accounts.create_token(
            ctx, operator, name="bench", scopes=scopes, account_id=account_id
        )
        assert view.token is not None
        return view.token

    return World(
        code,
        ref,
        token(svc_acc.id, ["orders:write", "accounts:write", "logistics:write"]),
        token(merchant.id, ["cases:read", "cases:write"]),
        token(buyer.id, ["cases:read", "cases:write"]),
    )


def order_body(w: World, number: str, now: datetime) -> dict[str, Any]:
    return {
        "number": number,
        "shop": w.shop_code,
        "currency": "CNY",
        "buyer": {"ref": w.buyer_ref, "name": "Bench buyer", "phone": "13800000000"},
        "lines": [
            {"sku": "MUG-1", "title": "Mug", "quantity": 1, "unit_price": PRICE, "paid": PRICE}
        ],
        "paid_at": (now - timedelta(days=4)).isoformat(),
        "shipped_at": (now - timedelta(days=3)).isoformat(),
        "signed_at": (now - timedelta(days=1)).isoformat(),
    }


def ready_cases(
    ctx: Context, w: World, n: int, kinds: tuple[CaseType, ...] = (CaseType.RETURN_REFUND,)
) -> list[tuple[str, int]]:
    """``n`` return requests waiting for the merchant: each order pushed through the
    service the HTTP push calls, each case opened through the services."""
    from aftersales.services import orders as order_svc

    now = ctx.now()
    out = []
    tag = uuid.uuid4().hex[:6]
    pusher = Actor.system("bench")
    for i in range(n):
        number = f"BR{tag}{i}"
        view = order_svc.push_order(
            ctx,
            pusher,
            number=number,
            shop_code=w.shop_code,
            buyer=order_svc.BuyerIn(ref=w.buyer_ref, name="Bench buyer", phone="13800000000"),
            currency="CNY",
            lines=[order_svc.LineIn("MUG-1", "Mug", 1, PRICE, PRICE)],
            paid_at=now - timedelta(days=4),
            shipped_at=now - timedelta(days=3),
            signed_at=now - timedelta(days=1),
        )
        case = svc.open_case(
            ctx,
            Actor.buyer(view.order.buyer_id),
            order_number=number,
            type=kinds[i % len(kinds)],
            lines=[svc.LineRequest(view.order.lines[0].id, 1)],
            reason="changed_mind" if kinds[i % len(kinds)] is CaseType.RETURN_REFUND else "defect",
            amount=PRICE,
        )
        out.append((case.number, case.version))
    return out


# --------------------------------------------------------------------------- requests
class Api:
    """One client: a keep-alive connection and the world's tokens."""

    def __init__(self, base: str | httpx.Client, w: World) -> None:
        self.http = httpx.Client(base_url=base, timeout=60) if isinstance(base, str) else base
        self.w = w
        # called around each request with its route's last segment (the bench counts
        # statements with it in-process)
        self.around: Callable[[str], AbstractContextManager[Any]] = lambda _: nullcontext()

    def close(self) -> None:
        self.http.close()

    def post(self, path: str, token: str, body: dict[str, Any], key: str | None) -> Any:
        headers = {"Authorization": f"Bearer {token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        with self.around(path.rsplit("/", 1)[-1]):
            r = self.http.post(path, json=body, headers=headers)
        if r.status_code >= 400:
            raise RuntimeError(f"{path}: {r.status_code} {r.text[:300]}")
        return r.json()

    def approve(self, number: str, version: int) -> None:
        self.post(
            f"/api/v1/cases/{number}/approve-return",
            self.w.merchant_token,
            {"expected_version": version},
            f"approve-{number}",
        )

    def bare(self, i: int) -> None:
        r = self.http.post("/bare", json={"i": i})
        r.raise_for_status()

    def flow(self, number: str, laps: list[float]) -> None:
        """Push order, open, approve, ship, receive, refund: six requests."""
        w = self.w
        t = time.perf_counter()

        def lap() -> None:
            nonlocal t
            now = time.perf_counter()
            laps.append(now - t)
            t = now

        order = self.post(
            "/api/v1/orders",
            w.orders_token,
            order_body(w, number, datetime.now(UTC)),
            f"order-{number}",
        )
        lap()
        case = self.post(
            "/api/v1/cases",
            w.buyer_token,
            {
                "order_number": number,
                "type": "return_refund",
                "reason": "changed_mind",
                "amount": PRICE,
                "lines": [{"order_line_id": order["lines"][0]["id"], "quantity": 1}],
            },
            f"open-{number}",
        )
        lap()
        n, v = case["number"], case["version"]
        steps: list[tuple[str, str, dict[str, Any]]] = [
            ("approve-return", w.merchant_token, {}),
            (
                "ship-return",
                w.buyer_token,
                {"carrier": "SF", "tracking_number": w.next_tracking()},
            ),
            ("confirm-receipt", w.merchant_token, {}),
            ("refund", w.merchant_token, {}),
        ]
        for route, token, extra in steps:
            case = self.post(
                f"/api/v1/cases/{n}/{route}",
                token,
                {"expected_version": v, **extra},
                f"{route}-{n}",
            )
            v = case["version"]
            lap()
        assert case["state"] == "refunded", case["state"]


# --------------------------------------------------------------------------- processes
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree(pid: int) -> list[int]:
    out = [pid]
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return out
    for k in kids:
        out += _tree(int(k))
    return out


def _hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Server:
    """A server started as a real process; ``peak_mib`` is the largest resident set of
    any of its processes (the kernel's high-water mark)."""

    def __init__(self, argv: list[str], url: str, workers: int) -> None:
        self.port = free_port()
        self.workers = workers
        env = {**os.environ, "AFTERSALES_DATABASE_URL": url}
        env["AFTERSALES_EMBEDDED_WORKER"] = "false"
        env["AFTERSALES_EMBEDDED_DISPATCHER"] = "false"
        self.proc = subprocess.Popen(
            [*argv, "--port", str(self.port), "--workers", str(workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server {argv} did not start")
            time.sleep(0.2)
        if workers > 1:  # every worker answers before the rounds start
            while len(_tree(self.proc.pid)) < workers + 1 and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1.0)

    def peak_mib(self) -> float:
        return max((_hwm_kib(p) for p in _tree(self.proc.pid)), default=0) / 1024

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


SERVE = [sys.executable, "-m", "aftersales.cli", "serve"]
BARE = [sys.executable, "-m", "aftersales.sim.bare"]


# --------------------------------------------------------------------------- rounds
@dataclass
class Round:
    wall: float
    done: int  # requests (or flows) completed
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.done / self.wall


def run_round(clients: list[Api], work: Callable[[Api, int, list[float]], int]) -> Round:
    """Every client runs ``work`` (which returns how much it completed) at once."""
    lat: list[list[float]] = [[] for _ in clients]
    done = [0] * len(clients)
    errors: list[BaseException] = []
    gate = threading.Barrier(len(clients) + 1)

    def body(i: int) -> None:
        gate.wait()
        try:
            done[i] = work(clients[i], i, lat[i])
        except BaseException as exc:  # reported after the round
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    gate.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if errors:
        raise errors[0]
    return Round(wall, sum(done), [x for xs in lat for x in xs])


def p50(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


@dataclass
class Side:
    rounds: list[Round] = field(default_factory=list)

    @property
    def rate(self) -> float:  # median of the rounds' rates
        return statistics.median(r.rate for r in self.rounds)

    @property
    def p50(self) -> float:
        return p50([x for r in self.rounds for x in r.latencies])


def interleave(
    rounds: int, a: Callable[[], Round], b: Callable[[], Round], warm: bool = True
) -> tuple[Side, Side]:
    """A B A B ...: drift on the machine hits both sides alike (one warm-up pair first)."""
    if warm:
        a()
        b()
    sa, sb = Side(), Side()
    for _ in range(rounds):
        sa.rounds.append(a())
        sb.rounds.append(b())
    return sa, sb
