"""The real interfaces: the CLI as a process, and `aftersales serve` over real HTTP with the
deadline worker running inside it (the embedded shape). The demo as `make run` loads and
prints it is in tests/test_served.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from aftersales.domain.case_types import CaseType, State
from aftersales.services import cases as svc
from aftersales.services.actors import Actor
from aftersales.store.db import Database
from aftersales.store.migrate import upgrade
from tests.conftest import FakeClock, make_context
from tests.factories import make_world

CLI = [sys.executable, "-m", "aftersales.cli"]


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _env(url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "AFTERSALES_DATABASE_URL": url, "COLUMNS": "160", **extra}


def test_case_show_of_an_unknown_case_says_so_and_fails(tmp_path: Path) -> None:
    env = _env(f"sqlite:///{tmp_path / 'x.db'}")
    _run(["db", "upgrade"], env)
    res = _run(["case", "show", "AS00000000000000", "--lang", "en"], env)
    assert res.returncode == 1
    assert "AS00000000000000 not found" in res.stdout


def test_R11_2_cli_ledger_top_up_records_a_payment_once_and_prints_the_standing(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    env = _env(url)
    _run(["db", "upgrade"], env)
    ctx = make_context(Database(url), FakeClock(datetime.now(UTC)))
    make_world(ctx)  # shops S<n> and S<n>b
    from aftersales.store import catalog as catalog_store

    with ctx.db.read() as conn:
        code = catalog_store.shop_code(conn, 1)
    required = ctx.profiles.current["douyin"].money.required_deposit
    args = ["ledger", "top-up", code, str(required), "--reference", "PAY-1", "--lang", "en"]
    first = _run(args, env)
    assert first.returncode == 0, first.stderr
    assert "Withdrawals allowed" in first.stdout
    assert _run(args, env).stdout.split(":")[0] == first.stdout.split(":")[0]  # same entry
    clash = _run([*args[:3], "1", *args[4:]], env)
    assert clash.returncode == 1 and "PAY-1" in clash.stdout
    zh = _run(["ledger", "top-up", "NOPE", "1", "--reference", "P", "--lang", "zh_CN"], env)
    assert zh.returncode == 1 and "NOPE" in zh.stdout


def test_R1_cli_case_list_acts_as_the_platform_through_the_authorized_listing(
    tmp_path: Path,
) -> None:
    """`case list` lists through `services.cases.list_cases` as the platform agent `cli`
    (every shop's cases); an unknown shop is an error, not an empty list."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    env = _env(url)
    _run(["db", "upgrade"], env)
    ctx = make_context(Database(url), FakeClock(datetime.now(UTC)))
    world = make_world(ctx)
    number = world.open()
    code = svc.get_case(ctx, Actor.platform("t"), number).shop_code
    listed = _run(["case", "list", "--shop", code, "--lang", "en"], env)
    assert listed.returncode == 0, listed.stderr
    assert number in listed.stdout and code in listed.stdout
    waiting = _run(["case", "list", "--state", State.AWAITING_MERCHANT.value], env)
    assert number in waiting.stdout
    assert number not in _run(["case", "list", "--state", State.CLOSED.value], env).stdout
    unknown = _run(["case", "list", "--shop", "NOPE", "--lang", "en"], env)
    assert unknown.returncode == 1 and "NOPE not found" in unknown.stdout
    no_one = _run(["account", "token", "--login", "nobody", "--name", "t", "--scope", "x"], env)
    assert no_one.returncode == 1 and "no account nobody" in no_one.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_R5_1_serve_answers_health_and_its_embedded_worker_fires_due_deadlines(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    db = Database(url)
    upgrade(db)
    # A refund request opened long enough ago that its R5.1 deadline is already due.
    clock = FakeClock(datetime.now(UTC) - timedelta(days=10))
    ctx = make_context(db, clock)
    world = make_world(ctx)
    number = world.open(type=CaseType.REFUND_ONLY, reason="not_received", signed_ago=None)
    db.dispose()

    port = _free_port()
    env = _env(url, AFTERSALES_WORKER_POLL_SECONDS="0.2")
    proc = subprocess.Popen(
        [*CLI, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health = None
        for _ in range(100):
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert health is not None and health.status_code == 200
        assert health.json()["worker"] == "embedded"
        assert health.json()["database"] == "sqlite"
        check = make_context(Database(url), FakeClock(datetime.now(UTC)))
        state = None
        for _ in range(100):
            state = svc.get_case(check, Actor.platform("test"), number).case.state
            if state is State.REFUNDED:
                break
            time.sleep(0.2)
        assert state is State.REFUNDED
        timeline = svc.get_case(check, Actor.platform("test"), number).timeline
        assert [e.action for e in timeline] == ["open", "merchant_timeout"]
        assert timeline[-1].rule == "R5.1"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
