"""The deadline sweeper (R5.1, R5.2, R5.3, R5.4, R5.6).

Deadlines are rows, not timers: a restart loses none. A worker claims a batch of due rows
in one transaction and flips them ``pending -> fired`` (PostgreSQL: ``FOR UPDATE SKIP
LOCKED``, so several workers split the work; SQLite: the ``BEGIN IMMEDIATE`` write lock),
fires each together with the case change it causes, and commits once per batch (a batch in
which one fails is rolled back and run again with a savepoint per deadline). A deadline
fires at most once because the status flip (compare-and-set from ``pending``) and the case
change commit together; a worker killed mid-batch commits nothing and the rows stay due for
the next worker. A deadline whose action fails is pushed back with exponential backoff, not
retried in a loop. Within a batch the deadlines that may refund run last, grouped by shop,
so the shop's ledger account row is held briefly."""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from aftersales.domain import machine
from aftersales.domain.case import Case, Command
from aftersales.domain.case_types import ActorKind, CaseType, DeadlineKind, State
from aftersales.services import engine
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.store import cases as case_store
from aftersales.store import deadlines as store

log = logging.getLogger(__name__)


def default_worker_name() -> str:
    return f"worker@{socket.gethostname()}:{os.getpid()}"


@dataclass
class BatchResult:
    fired: int = 0
    stale: int = 0
    failed: int = 0

    @property
    def handled(self) -> int:
        return self.fired + self.stale + self.failed


class _FastBatchFailed(Exception):
    """A deadline failed in a batch run without savepoints: roll it all back."""

    def __init__(self, deadline_id: int, error: Exception) -> None:
        super().__init__(deadline_id, error)
        self.deadline_id = deadline_id
        self.error = error


class DeadlineWorker:
    def __init__(self, ctx: Context, name: str | None = None, *, batch: int | None = None):
        self.ctx = ctx
        self.name = name or default_worker_name()
        self.batch = batch or ctx.settings.worker_batch
        self.actor = Actor(ActorKind.SYSTEM, self.name)

    def backoff(self, attempts: int) -> timedelta:
        s = self.ctx.settings
        seconds = min(s.worker_retry_base_seconds * (2**attempts), s.worker_retry_max_seconds)
        return timedelta(seconds=seconds)

    def run_once(self) -> BatchResult:
        """Claim one batch of due deadlines and fire them in one transaction.

        A batch first runs without savepoints (two round trips less per deadline). If any
        deadline in it fails, the whole transaction rolls back (nothing of it is kept, its
        rows are pending again) and the batch is claimed again with a savepoint around each
        deadline; the one that failed is postponed without being tried again, the rest fire."""
        try:
            return self._run_batch(isolated=False)
        except _FastBatchFailed as failed:
            return self._run_batch(isolated=True, known=(failed.deadline_id, failed.error))

    def _run_batch(
        self, *, isolated: bool, known: tuple[int, Exception] | None = None
    ) -> BatchResult:
        now = self.ctx.now()
        result = BatchResult()
        with self.ctx.db.write() as conn:
            claimed = store.claim_due(conn, now, self.batch, worker=self.name)
            # The claimed deadlines' cases, read once for the batch (a case with more than
            # one deadline in it is read again after its first firing moved it).
            loaded = case_store.load_cases_by_ids(conn, (r.case_id for r in claimed))
            failures: list[tuple[Any, Exception]] = []
            for row in self._in_firing_order(claimed, loaded):
                if isolated and known is not None and int(row.id) == known[0]:
                    failures.append((row, known[1]))  # failed a moment ago: not again now
                    continue
                case = loaded.pop(int(row.case_id), None)
                if case is None or isolated:  # isolating a failure: each case as it is now
                    case = case_store.load_case_by_id(conn, row.case_id)
                if not isolated:
                    try:
                        fired = self._fire(conn, row, now, case)
                    except Exception as exc:  # rolls the batch back, then isolates
                        raise _FastBatchFailed(int(row.id), exc) from exc
                    result.fired += fired
                    result.stale += not fired
                    continue
                try:
                    with conn.begin_nested():
                        fired = self._fire(conn, row, now, case)
                except Exception as exc:  # any failure is retried later, with backoff
                    failures.append((row, exc))
                    continue
                result.fired += fired
                result.stale += not fired
            for row, err in failures:
                result.failed += 1
                log.warning("deadline %s (%s) failed: %s", row.id, row.kind, err)
                store.postpone(
                    conn,
                    row.id,
                    run_at=now + self.backoff(row.attempts),
                    error=f"{type(err).__name__}: {err}",
                )
        return result

    @staticmethod
    def _in_firing_order(claimed: list[Any], cases: dict[int, Case]) -> list[Any]:
        """Deadlines that leave the money alone first, then those that may refund, grouped
        by shop: a refund updates the shop's ledger account row and holds it until the
        batch commits, so firing those last keeps that hold (and any other worker's wait
        for the same shop) short, while the rest of every worker's batch runs in parallel."""
        if len(claimed) < 2:
            return claimed

        def key(row: Any) -> tuple[int, int]:
            case = cases.get(int(row.case_id))
            if case is None:
                return (0, 0)
            refunds = _may_refund(row.kind, case.state.value, case.type.value)
            return (1, case.shop_id) if refunds else (0, 0)

        return sorted(claimed, key=key)  # stable: oldest first within each group

    def _fire(self, conn: Connection, row: Any, now: datetime, case: Case | None) -> bool:
        """Fire one claimed deadline on its case as read in this transaction; False when it
        no longer applies (the case moved on)."""
        kind = DeadlineKind(row.kind)
        action = machine.DEADLINE_ACTIONS[kind]
        if (
            case is None
            or case.deadline_kind is not kind
            or case.deadline_at != row.due_at
            or machine.transition_for(case.state, action, case.type) is None
        ):
            store.set_status(conn, row.id, store.STALE)
            return False
        engine.move(self.ctx, conn, self.actor, case, Command(action, ActorKind.SYSTEM), None, now)
        return True

    def run_until_idle(self, max_batches: int | None = None) -> BatchResult:
        """Fire everything due now (used by ``aftersales worker --once`` and tests)."""
        total = BatchResult()
        batches = 0
        while max_batches is None or batches < max_batches:
            res = self.run_once()
            batches += 1
            total.fired += res.fired
            total.stale += res.stale
            total.failed += res.failed
            if res.handled < self.batch or res.fired + res.stale == 0:
                break
        return total

    def run_forever(self, stop: threading.Event) -> None:
        poll = self.ctx.settings.worker_poll_seconds
        log.info("deadline worker %s started", self.name)
        while not stop.is_set():
            try:
                res = self.run_once()
            except Exception:  # keep the loop alive (e.g. the database restarts)
                log.exception("deadline batch failed")
                stop.wait(poll * 5)
                continue
            if res.handled < self.batch:
                stop.wait(poll)
        log.info("deadline worker %s stopped", self.name)


def _may_refund(kind: str, state: str, case_type: str) -> bool:
    """Whether the timeout move of this deadline can end in a refund (and so post to the
    shop's ledger). Only orders a batch: a wrong guess costs a wait, never correctness."""
    try:
        action = machine.DEADLINE_ACTIONS[DeadlineKind(kind)]
        move = machine.transition_for(State(state), action, CaseType(case_type))
    except ValueError:
        return False
    return move is not None and State.REFUNDED in move.targets


def start_in_thread(ctx: Context) -> tuple[threading.Thread, threading.Event]:
    """The embedded shape: the worker runs inside the server process."""
    stop = threading.Event()
    worker = DeadlineWorker(ctx)
    thread = threading.Thread(
        target=worker.run_forever, args=(stop,), name="deadlines", daemon=True
    )
    thread.start()
    return thread, stop
