"""``make bench``: speed and memory of the foundation, as ratios against a baseline measured
in the same run on the same machine (absolute figures are printed for reference only).

- domain: one ``machine.apply`` vs copying a case (the cheapest thing ``apply`` must do);
- services: opening a case and one merchant action vs a one-row write transaction on the
  same database (the floor any durable action pays: one write, one commit);
- worker: firing one due deadline vs the same one-row transaction, and peak traced
  memory while firing a batch.

Runs on SQLite (a temp file) and, when reachable, PostgreSQL (a temp database).
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from aftersales.domain import machine
from aftersales.domain.case import Command, Facts
from aftersales.domain.case_types import Action, ActorKind, CaseType, DeadlineKind
from aftersales.domain.money import Money
from aftersales.jobs.deadlines import DeadlineWorker
from aftersales.profiles import load_profiles
from aftersales.services import cases as svc
from aftersales.services import catalog
from aftersales.services.actors import Actor
from aftersales.services.context import Context, ProfileStore
from aftersales.settings import Settings
from aftersales.store import repo
from aftersales.store.db import Database, normalise_url
from aftersales.store.migrate import upgrade

N_CASES = int(os.environ.get("AFTERSALES_BENCH_CASES", "300"))
PG_URL = os.environ.get("AFTERSALES_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


def per_op(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def bench_domain() -> list[tuple[str, float, float]]:
    profile = load_profiles()["douyin"]
    from aftersales.domain.case import Case, CaseLine
    from aftersales.domain.catalog import Order, OrderLine, Product

    now = datetime(2026, 11, 20, tzinfo=UTC)
    product = Product(1, 1, "SKU", "tee")
    order = Order(
        1,
        "O1",
        1,
        1,
        "CNY",
        now - timedelta(days=5),
        Money(800, "CNY"),
        [OrderLine(1, product, 1, Money(10_000, "CNY"), Money(10_000, "CNY"))],
        shipped_at=now - timedelta(days=3),
        signed_at=now - timedelta(days=1),
    )
    case = Case(
        None,
        "AS1",
        1,
        1,
        1,
        CaseType.RETURN_REFUND,
        machine.S.AWAITING_MERCHANT,
        (CaseLine(1, 1),),
        "changed_mind",
        "changed_mind",
        "",
        Money(10_000, "CNY"),
        "douyin",
        1,
        now,
        now,
        deadline_kind=DeadlineKind.MERCHANT_RESPONSE,
        deadline_at=now + timedelta(hours=48),
    )
    facts = Facts(order, Money(0, "CNY"), False, "addr")
    cmd = Command(Action.APPROVE_RETURN, ActorKind.MERCHANT)
    n = 20_000
    base = per_op(lambda: dataclasses.replace(case), n)
    move = per_op(lambda: machine.apply(case, cmd, facts, profile, now), n)
    return [("domain: apply(approve_return) vs copying the case", base, move)]


def _world(ctx: Context, clock: Clock, n: int = N_CASES) -> tuple[Actor, Actor, list[str]]:
    shop = catalog.create_shop(
        ctx, code=f"B{uuid.uuid4().hex[:6]}", name="bench", return_address="dock"
    )
    buyer = catalog.create_buyer(ctx, name="bench", phone="1")
    product = catalog.create_product(ctx, shop_id=shop, sku="S", title="tee")
    orders = []
    for i in range(n):
        number = f"BO{uuid.uuid4().hex[:10]}{i}"
        catalog.create_order(
            ctx,
            number=number,
            shop_id=shop,
            buyer_id=buyer,
            currency="CNY",
            paid_at=clock.now - timedelta(days=4),
            shipped_at=clock.now - timedelta(days=3),
            signed_at=clock.now - timedelta(days=1),
            lines=[catalog.NewOrderLine(product, 1, 10_000, 10_000)],
        )
        orders.append(number)
    return Actor.buyer(buyer), Actor.merchant(shop), orders


def bench_storage(db: Database) -> tuple[list[tuple[str, float, float]], float]:
    clock = Clock(datetime.now(UTC) - timedelta(days=5))
    ctx = Context(db, ProfileStore(load_profiles()), Settings(database_url=db.url), clock)
    buyer, merchant, orders = _world(ctx, clock)

    def one_row_tx() -> None:  # the floor of any durable write: one row, one commit
        with db.write() as conn:
            repo.next_sequence(conn, "bench")

    base = per_op(one_row_tx, N_CASES)
    line_ids = []
    with db.read() as conn:
        for number in orders:
            oid = repo.order_id_by_number(conn, number)
            assert oid is not None
            loaded = repo.load_order(conn, oid)
            assert loaded is not None
            line_ids.append(loaded.lines[0].id)
    it = iter(zip(orders, line_ids, strict=True))
    numbers: list[str] = []

    def open_one() -> None:
        order, line = next(it)
        numbers.append(
            svc.open_case(
                ctx,
                buyer,
                order_number=order,
                type=CaseType.REFUND_ONLY,
                lines=[svc.LineRequest(line, 1)],
                reason="defect",
                amount=10_000,
            ).number
        )

    first, second = N_CASES * 2 // 3, N_CASES - N_CASES * 2 // 3
    t_open = per_op(open_one, first)
    clock.now = clock.now + timedelta(hours=10)
    per_op(open_one, second)  # a later cohort, due 10 hours after the first
    third = numbers[: N_CASES // 3]
    acts = iter(third)
    t_act = per_op(lambda: svc.counter_offer(ctx, merchant, next(acts), amount=5_000), len(third))
    worker = DeadlineWorker(ctx, "bench")
    # R5.1: the first cohort passes its deadline; time the worker without tracing.
    clock.now = clock.now + timedelta(
        hours=ctx.profiles.current["douyin"].handling.merchant_response_hours - 9
    )
    start = time.perf_counter()
    fired = worker.run_until_idle()
    t_fire = (time.perf_counter() - start) / max(fired.fired, 1)
    # The second cohort: the same work under tracemalloc, for memory only.
    clock.now = clock.now + timedelta(hours=11)
    tracemalloc.start()
    fired_traced = worker.run_until_idle()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rows = [
        ("open_case vs one-row write transaction", base, t_open),
        ("counter_offer vs one-row write transaction", base, t_act),
        ("fire one deadline vs one-row write transaction", base, t_fire),
    ]
    return rows, peak / 1024 / max(fired_traced.fired, 1)


def bench_automation(db: Database) -> list[tuple[str, float, float]]:
    """R6: what the strategies add to opening a return request. Baseline: opening in a
    shop with no strategies; then a shop with 20 enabled strategies none of which matches
    (every one is evaluated), and a shop whose first strategy approves the return (the
    open plus a second move in the same transaction)."""
    from aftersales.domain.automation import Conditions, StrategyKind
    from aftersales.services import automation

    clock = Clock(datetime.now(UTC) - timedelta(days=5))
    ctx = Context(db, ProfileStore(load_profiles()), Settings(database_url=db.url), clock)
    n = max(N_CASES // 3, 10)

    def opener(strategies: int, matching: bool) -> Callable[[], None]:
        buyer, merchant, orders = _world(ctx, clock, n)
        with db.read() as conn:
            code = repo.shop_code(conn, merchant.shop_id or 0)
            lines = []
            for number in orders:
                loaded = repo.load_order(conn, repo.order_id_by_number(conn, number) or 0)
                assert loaded is not None
                lines.append((number, loaded.lines[0].id))
        for i in range(strategies):
            limit = Conditions(max_amount=1) if not matching else Conditions()
            automation.create_strategy(
                ctx,
                merchant,
                code,
                kind=StrategyKind.AUTO_APPROVE_RETURN,
                name=f"s{i}",
                priority=i,
                conditions=limit,
            )
        it = iter(lines)

        def open_one() -> None:
            order, line = next(it)
            svc.open_case(
                ctx,
                buyer,
                order_number=order,
                type=CaseType.RETURN_REFUND,
                lines=[svc.LineRequest(line, 1)],
                reason="changed_mind",
                amount=10_000,
            )

        return open_one

    base = per_op(opener(0, False), n)
    idle = per_op(opener(20, False), n)
    acting = per_op(opener(1, True), n)
    return [
        ("R6: open a return, 20 non-matching strategies vs none", base, idle),
        ("R6: open a return that a strategy approves vs no strategy", base, acting),
    ]


def _pg_database() -> tuple[Database, Callable[[], None]] | None:
    admin = create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # PostgreSQL is optional for the benchmark
        return None
    name = f"aftersales_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalise_url(PG_URL)).set(database=name).render_as_string(False)
    db = Database(url)
    upgrade(db)

    def drop() -> None:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return db, drop


def main() -> None:
    out: list[str] = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`python -m aftersales.sim.bench`). Each figure is a ratio "
        "to a baseline measured in the same run on the same machine; absolute times are for "
        "reference only and vary with the machine.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{sys.version.split()[0]}; {N_CASES} cases per database.",
        "",
        "| database | measurement | baseline | measured | ratio |",
        "|---|---|---|---|---|",
    ]

    def row(dbname: str, label: str, base: float, value: float) -> None:
        out.append(
            f"| {dbname} | {label} | {base * 1e6:.1f} µs | {value * 1e6:.1f} µs | "
            f"{value / base:.1f}× |"
        )

    for label, base, value in bench_domain():
        row("-", label, base, value)
    memory: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(db)
        rows, kib = bench_storage(db)
        rows += bench_automation(db)
        db.dispose()
        for label, base, value in rows:
            row("SQLite", label, base, value)
        memory.append(f"- SQLite: peak traced memory {kib:.1f} KiB per fired deadline")
    pg = _pg_database()
    if pg is not None:
        db, drop = pg
        try:
            rows, kib = bench_storage(db)
            rows += bench_automation(db)
        finally:
            drop()
        for label, base, value in rows:
            row("PostgreSQL", label, base, value)
        memory.append(f"- PostgreSQL: peak traced memory {kib:.1f} KiB per fired deadline")
    else:
        memory.append("- PostgreSQL: not reachable, skipped")
    out += [
        "",
        "Memory (tracemalloc peak while the worker fires its batches, divided by the "
        "number fired):",
        "",
        *memory,
        "",
        "Reading the figures: a case action costs a handful of one-row durable writes: about "
        "16 statements (load the case with its lines and shipments, lock and load the order "
        "with its products, the shop, refunds already decided, the tracking check, the "
        "compare-and-set update, the timeline sequence and row, replacing the deadline). The "
        "deadline measured here is R5.1 on a refund request, so firing it also decides the "
        "refund and posts its ledger entry (advance and cap checks, the entry, two account "
        "updates, two postings), in its own short transaction: about twice the statements of "
        "a counter-offer. Fewer round trips per action is the lever when throughput matters.",
        "",
        "Automation (R6) runs inside the move that starts it: the shop's strategies are one "
        "query, and deciding is pure Python, so 20 strategies that do not match add little "
        "to an open; a strategy that acts adds a second full move (approve_return) to the "
        "same transaction, so that open costs about two actions.",
        "",
    ]
    text_out = "\n".join(out)
    print(text_out)
    target = Path(os.environ.get("AFTERSALES_BENCH_OUT", "docs/benchmarks.md"))
    target.write_text(text_out, encoding="utf-8")


if __name__ == "__main__":
    main()
