"""R5.1 on PostgreSQL: real ``aftersales worker`` processes share the due deadlines with
``FOR UPDATE SKIP LOCKED``; each deadline fires exactly once, and a worker killed mid-batch
loses nothing (its transaction rolls back and the rows stay due)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from aftersales.store.db import Database
from aftersales.store.schema import case_events, deadlines, refund_decisions
from tests.concurrency.seed import (
    assert_each_fired_exactly_once,
    fired_by_counts,
    seed_due_refunds,
    status_counts,
)


def _cli() -> list[str]:
    """``python -m aftersales.cli`` (the package's ``__main__``), as `aftersales` runs."""
    return [sys.executable, "-m", "aftersales.cli"]


def start_worker(
    db: Database, log_dir: Path, name: str, args: Sequence[str], app_name: str | None = None
) -> subprocess.Popen[bytes]:
    env = dict(os.environ, AFTERSALES_DATABASE_URL=db.url)
    if app_name:
        env["PGAPPNAME"] = app_name  # libpq: lets the test find this worker's backend
    with (log_dir / f"{name}.log").open("wb") as log:  # the child keeps its own copy
        return subprocess.Popen(
            [*_cli(), "worker", "--name", name, *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=log_dir,
        )


def wait_all(procs: Sequence[subprocess.Popen[bytes]], log_dir: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
    for p in procs:
        name = p.args[p.args.index("--name") + 1]  # type: ignore[union-attr]
        out = (log_dir / f"{name}.log").read_text(errors="replace")
        assert p.returncode == 0, f"worker {name} exited {p.returncode}:\n{out[-3000:]}"
        assert "failed 0" in out, f"worker {name} reported failures:\n{out[-3000:]}"


def _poll(check, timeout: float, what: str, interval: float = 0.05):  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.mark.slow
@pytest.mark.timeout(1000)
def test_R5_1_four_workers_fire_10000_due_deadlines_each_exactly_once(pg_db, tmp_path):
    n = 10_000
    t0 = time.perf_counter()
    seeded = seed_due_refunds(pg_db, n, now=datetime.now(UTC))
    t_seed = time.perf_counter() - t0

    t1 = time.perf_counter()
    procs = [
        start_worker(pg_db, tmp_path, f"w{i}", ["--once", "--batch", "1"]) for i in range(1, 5)
    ]
    wait_all(procs, tmp_path, timeout=900)
    t_workers = time.perf_counter() - t1

    with pg_db.read() as conn:
        assert_each_fired_exactly_once(conn, seeded)
        by_worker = fired_by_counts(conn)
    assert set(by_worker) <= {"w1", "w2", "w3", "w4"}
    assert sum(by_worker.values()) == n
    assert len(by_worker) > 1, f"one worker did everything: {by_worker}"
    print(
        f"\n10,000 deadlines: seed {t_seed:.1f}s, 4 workers {t_workers:.1f}s, "
        f"split {dict(sorted(by_worker.items()))}"
    )


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_R5_1_worker_killed_mid_batch_loses_no_deadline(pg_db, tmp_path):
    n, batch = 3_000, 500
    seeded = seed_due_refunds(pg_db, n, now=datetime.now(UTC))
    app = f"aftersales-victim-{os.getpid()}"

    def victim_fired() -> int:
        with pg_db.read() as conn:
            return fired_by_counts(conn).get("victim", 0)

    def victim_in_batch() -> bool:
        # the victim's backend has had a transaction open for a while: it is mid-batch
        with pg_db.read() as conn:
            return bool(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = :app "
                        "AND xact_start < clock_timestamp() - interval '300 milliseconds'"
                    ),
                    {"app": app},
                ).scalar_one()
            )

    def victim_backend_gone() -> bool:
        with pg_db.read() as conn:
            return not conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :app"),
                {"app": app},
            ).scalar_one()

    victim = start_worker(pg_db, tmp_path, "victim", ["--batch", str(batch)], app_name=app)
    try:
        _poll(victim_fired, 120, "the victim's first batch to commit")
        _poll(victim_in_batch, 60, "the victim to be inside its next batch")
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    # The dead client's backend rolls back and releases its row locks; until then SKIP LOCKED
    # would (correctly) skip those rows, so wait for it before the --once sweep.
    _poll(victim_backend_gone, 30, "the killed worker's backend to go away")

    with pg_db.read() as conn:
        counts = status_counts(conn)
        committed = counts.get("fired", 0)
        timeouts = conn.execute(
            select(func.count())
            .select_from(case_events)
            .where(case_events.c.action == "merchant_timeout")
        ).scalar_one()
        refunds = conn.execute(select(func.count()).select_from(refund_decisions)).scalar_one()
        leftovers = conn.execute(
            select(func.count())
            .select_from(deadlines)
            .where(deadlines.c.status == "pending", deadlines.c.attempts != 0)
        ).scalar_one()
    # whole batches committed, the batch in flight left no trace (status, event nor refund)
    assert 0 < committed < n, counts
    assert committed % batch == 0, f"a partial batch was committed: {counts}"
    assert counts == {"fired": committed, "pending": n - committed}
    assert timeouts == committed and refunds == committed
    assert leftovers == 0

    rescuers = [
        start_worker(pg_db, tmp_path, f"r{i}", ["--once", "--batch", "200"]) for i in (1, 2)
    ]
    wait_all(rescuers, tmp_path, timeout=240)

    with pg_db.read() as conn:
        assert_each_fired_exactly_once(conn, seeded)
        by_worker = fired_by_counts(conn)
    assert by_worker.get("victim") == committed
    assert by_worker.get("r1", 0) + by_worker.get("r2", 0) == n - committed
    print(f"\nkilled after {committed} committed; rescued {n - committed}: {by_worker}")
