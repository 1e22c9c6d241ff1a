"""R5.2 under contention (PostgreSQL): 200 partial refunds of 1.00 race on one order of
100.00. The order row lock serialises them: exactly 100 succeed, the rest are refused by
R5.2, and the ledger never refunds a cent more than was paid."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from aftersales.domain.errors import ValidationFailed
from aftersales.services import money, statements
from aftersales.services.actors import Actor
from aftersales.store.db import Database
from tests.conftest import make_context
from tests.factories import make_world
from tests.ledger.helpers import (
    balance,
    buyer,
    deposit,
    entry_count,
    invariant_problems,
    refunded,
    settlement,
)

THREADS = 200
ORDER_TOTAL = 10_000  # 100.00, freight 0
EACH = 100  # 1.00


@pytest.mark.slow
def test_R5_2_two_hundred_concurrent_refunds_never_exceed_what_was_paid(pg_db, clock):
    db = Database(pg_db.url, pool_size=40)
    try:
        setup = make_context(db, clock)
        w = make_world(setup)
        number = "RACE-ORDER-1"
        w.push(number=number, unit_price=ORDER_TOTAL, paid_at=clock.now - timedelta(days=1))
        entries_before = entry_count(setup)
        barrier = threading.Barrier(THREADS)
        ok: list[int] = []
        refused: list[ValidationFailed] = []
        other: list[BaseException] = []
        lock = threading.Lock()

        def racer(i: int) -> None:
            ctx = make_context(db, clock)  # its own Context, the shared Database
            barrier.wait()
            try:
                eid = money.refund_order(ctx, Actor.platform("agent"), number, EACH, key=f"k{i}")
            except ValidationFailed as err:
                with lock:
                    refused.append(err)
            except BaseException as err:
                with lock:
                    other.append(err)
            else:
                with lock:
                    ok.append(eid)

        threads = [threading.Thread(target=racer, args=(i,)) for i in range(THREADS)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        elapsed = time.monotonic() - started
        assert not any(t.is_alive() for t in threads)

        assert other == [], other[:3]
        assert len(ok) == ORDER_TOTAL // EACH
        assert len(set(ok)) == len(ok)
        assert len(refused) == THREADS - ORDER_TOTAL // EACH
        assert {(e.rule, e.code) for e in refused} == {("R5.2", "amount.exceeds_paid")}
        assert refunded(setup, number) == ORDER_TOTAL
        assert entry_count(setup) == entries_before + len(ok)
        assert balance(setup, buyer(w.buyer_id)) == ORDER_TOTAL
        assert balance(setup, settlement(w.shop_id)) == 0
        assert invariant_problems(setup) == []
        report = statements.check(setup)
        assert report.ok, report.problems
        print(f"{THREADS} racers in {elapsed:.1f}s")
    finally:
        db.dispose()


@pytest.mark.slow
def test_the_same_key_raced_from_fifty_threads_moves_money_once(pg_db, clock):
    """``post`` is idempotent under a race too: no order lock here (a deposit top-up), the
    unique key alone makes 49 of 50 concurrent retries return the first entry."""
    racers = 50
    db = Database(pg_db.url, pool_size=racers)
    try:
        setup = make_context(db, clock)
        w = make_world(setup)
        barrier = threading.Barrier(racers)
        ids: list[int] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def racer() -> None:
            ctx = make_context(db, clock)
            barrier.wait()
            try:
                eid = money.top_up_deposit(
                    ctx, Actor.platform("agent"), w.shop_id, 5_000, "CNY", "top-up-once"
                )
            except BaseException as err:
                with lock:
                    errors.append(err)
            else:
                with lock:
                    ids.append(eid)

        threads = [threading.Thread(target=racer) for _ in range(racers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == [], errors[:3]
        assert len(ids) == racers and len(set(ids)) == 1
        assert balance(setup, deposit(w.shop_id)) == 5_000
        assert invariant_problems(setup) == []
    finally:
        db.dispose()
