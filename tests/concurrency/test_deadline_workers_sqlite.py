"""R5.1 on SQLite (the embedded shape): two workers sweep the same database file at once.
``BEGIN IMMEDIATE`` serialises their batches, so each deadline still fires exactly once.

``eager``: both call ``run_until_idle`` flat out. SQLite's busy handler sleeps while the
other holds the write lock, and the holder re-takes the lock the moment it commits, so one
worker usually does (nearly) everything: correct, just not shared. ``paced``: each worker
pauses briefly between batches (as ``run_forever`` does when idle), so the batches
interleave and both workers fire some of the deadlines.
"""

from __future__ import annotations

import shutil
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aftersales.jobs.deadlines import BatchResult, DeadlineWorker
from aftersales.store.db import Database
from tests.concurrency.seed import assert_each_fired_exactly_once, fired_by_counts, seed_due_refunds
from tests.conftest import FakeClock, make_context


def _paced(w: DeadlineWorker) -> BatchResult:
    total = BatchResult()
    while True:
        res = w.run_until_idle(max_batches=1)
        total.fired += res.fired
        total.stale += res.stale
        total.failed += res.failed
        if res.handled == 0:
            return total
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("pace", ["eager", "paced"])
def test_R5_1_two_sqlite_workers_fire_500_due_deadlines_each_exactly_once(
    sqlite_template: Path, tmp_path: Path, pace: str
):
    path = tmp_path / "aftersales.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    now = datetime.now(UTC)
    seeder = Database(url)
    seeded = seed_due_refunds(seeder, 500, now=now)

    # each worker has its own Database (engine, connections) on the same file, like two
    # processes would; small batches so the two interleave
    databases = [Database(url), Database(url)]
    workers = [
        DeadlineWorker(make_context(d, FakeClock(now)), f"sqlite-w{i}", batch=20)
        for i, d in enumerate(databases, start=1)
    ]
    barrier = threading.Barrier(len(workers))
    results: dict[str, BatchResult | BaseException] = {}

    def run(w: DeadlineWorker) -> None:
        barrier.wait(timeout=30)
        try:
            results[w.name] = w.run_until_idle() if pace == "eager" else _paced(w)
        except BaseException as exc:  # reported below
            results[w.name] = exc

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
        assert not t.is_alive(), "a SQLite worker hung"

    errors = {k: v for k, v in results.items() if isinstance(v, BaseException)}
    assert not errors, errors
    totals = [r for r in results.values() if isinstance(r, BatchResult)]
    assert sum(r.fired for r in totals) == 500
    assert sum(r.stale + r.failed for r in totals) == 0
    with seeder.read() as conn:
        assert_each_fired_exactly_once(conn, seeded)
        by_worker = fired_by_counts(conn)
    assert set(by_worker) <= {"sqlite-w1", "sqlite-w2"}
    if pace == "paced":
        assert len(by_worker) == 2, f"the batches did not interleave: {by_worker}"
    print(f"\nSQLite {pace} split: {by_worker}")
    for d in [seeder, *databases]:
        d.dispose()
