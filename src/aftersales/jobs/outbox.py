"""The outbox dispatcher: delivers committed events as signed webhooks, at least once.

An event is written to ``outbox_events`` in the transaction that made the change, so it
exists if and only if the change committed. The dispatcher then works in short
transactions and never holds one open across an HTTP call:

1. **fan-out**: lock un-fanned events (``SKIP LOCKED`` on PostgreSQL, ``BEGIN
   IMMEDIATE`` on SQLite), add one pending delivery per matching enabled endpoint (the
   shop's and the platform's, filtered by ``event_types``), mark them fanned out, commit.
2. **claim**: lease due pending deliveries by pushing ``next_attempt_at`` forward by
   ``webhook_lease_seconds``, commit.
3. **send**: POST the event payload with the Standard Webhooks headers (``webhook-id`` is
   the event id, the same on every retry), no transaction open.
4. **record**: append an attempt row; 2xx marks the delivery delivered, anything else
   schedules the next attempt ``base * 2**(n-1)`` seconds later (capped), or marks it
   failed after ``webhook_max_attempts``. The lease is checked: a dispatcher that lost its
   lease (it was too slow) logs its attempt but leaves the schedule to the new holder.

5. **prune**: every ``PRUNE_EVERY`` (and after ``aftersales dispatcher --once``), events older than
   ``outbox_retention_days`` whose every delivery is finished are deleted with their
   deliveries and attempts, ``outbox_prune_batch`` events per short transaction, one batch
   per round while there is more (delivery is never held up for long). An event still
   pending or retrying anywhere is kept; the case timeline (``case_events``) is never
   pruned.

A dispatcher killed anywhere loses nothing: an un-fanned event is fanned out later, a
leased delivery whose result was never recorded becomes due again when the lease ends and
is sent again with the same ``webhook-id`` (receivers deduplicate on it).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from aftersales import __version__
from aftersales.services import webhooks as svc
from aftersales.services.context import Context
from aftersales.store import outbox as outbox_store
from aftersales.store import webhooks as store

log = logging.getLogger(__name__)

MAX_PARALLEL_SENDS = 8
MAX_ERROR_LENGTH = 500
PRUNE_EVERY = timedelta(minutes=10)


def prune_batch(ctx: Context, limit: int | None = None) -> int:
    """Delete one bounded batch of finished events past the retention, in one short
    transaction; returns how many (0 when the retention is 0: keep forever)."""
    s = ctx.settings
    if s.outbox_retention_days == 0:
        return 0
    cutoff = ctx.now() - timedelta(days=s.outbox_retention_days)
    with ctx.db.write() as conn:
        return outbox_store.prune_finished(conn, cutoff, limit or s.outbox_prune_batch)


def prune(ctx: Context, limit: int | None = None) -> int:
    """Everything past the retention, batch by batch; returns the events deleted."""
    batch = limit or ctx.settings.outbox_prune_batch
    total = 0
    while True:
        done = prune_batch(ctx, batch)
        total += done
        if done < batch:
            return total


def default_dispatcher_name() -> str:
    return f"dispatcher@{socket.gethostname()}:{os.getpid()}"


def body_of(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): the event payload as compact UTF-8 JSON."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Claimed:
    """A leased delivery: what sending needs, and the lease that proves it is ours."""

    delivery_id: int
    attempts: int
    endpoint_id: int
    url: str
    secret: str
    endpoint_disabled: bool
    event_id: str
    event_type: str
    body: bytes
    lease_until: datetime


@dataclass(frozen=True, slots=True)
class Result:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int
    sent: bool = True  # False: refused before any HTTP (disabled endpoint, private address)

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Dispatcher:
    def __init__(
        self,
        ctx: Context,
        name: str | None = None,
        *,
        batch: int = 50,
        client: httpx.Client | None = None,
    ) -> None:
        self.ctx = ctx
        self.name = name or default_dispatcher_name()
        self.batch = batch
        self._next_prune: datetime | None = None  # None: a prune batch is due now
        s = ctx.settings
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(s.webhook_timeout_seconds),
            follow_redirects=False,  # a redirect could point anywhere (SSRF): it is a failure
            headers={"user-agent": f"aftersales-webhooks/{__version__}"},
        )

    def close(self) -> None:
        self.client.close()

    # ----------------------------------------------------------------------- schedule
    def backoff(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt: base, 2·base, 4·base ..."""
        s = self.ctx.settings
        exponent = min(max(attempts - 1, 0), 30)
        seconds = min(s.webhook_retry_base_seconds * (2**exponent), s.webhook_retry_max_seconds)
        return timedelta(seconds=seconds)

    # ----------------------------------------------------------------------- fan-out
    def fan_out(self, limit: int | None = None) -> int:
        """Turn up to ``limit`` un-fanned events into pending deliveries, in one short
        transaction. Returns the number of events fanned out."""
        now = self.ctx.now()
        with self.ctx.db.write() as conn:
            events = store.claim_unfanned(conn, limit or self.batch)
            if not events:
                return 0
            endpoints = store.active_endpoints_for(conn, (e.shop_id for e in events))
            pairs: list[tuple[int, int]] = []
            for ev in events:
                for ep in endpoints:
                    if ep.shop_id is not None and ep.shop_id != ev.shop_id:
                        continue
                    if ep.created_at > ev.created_at:
                        continue  # registered after the event happened
                    if svc.matches(ep.event_types, ev.type):
                        pairs.append((int(ev.id), int(ep.id)))
            store.insert_deliveries(conn, pairs, now)
            store.mark_fanned_out(conn, [int(e.id) for e in events], now)
            return len(events)

    # ----------------------------------------------------------------------- delivery
    def claim(self, limit: int | None = None) -> list[Claimed]:
        """Lease up to ``limit`` due deliveries in one short transaction."""
        now = self.ctx.now()
        lease_until = now + timedelta(seconds=self.ctx.settings.webhook_lease_seconds)
        with self.ctx.db.write() as conn:
            rows = store.claim_due(conn, now, limit or self.batch, lease_until)
        return [
            Claimed(
                delivery_id=int(r.id),
                attempts=int(r.attempts),
                endpoint_id=int(r.endpoint_id),
                url=r.url,
                secret=r.secret,
                endpoint_disabled=r.disabled_at is not None,
                event_id=r.event_id,
                event_type=r.type,
                body=body_of(r.payload),
                lease_until=lease_until,
            )
            for r in rows
        ]

    def send(self, c: Claimed) -> Result:
        """One HTTP attempt (no database transaction is open here)."""
        at = self.ctx.now()
        if c.endpoint_disabled:
            return Result(at, None, "endpoint disabled", 0, sent=False)
        refusal = svc.destination_refusal(c.url, self.ctx.settings.webhook_allow_private_networks)
        if refusal is not None:
            return Result(at, None, refusal[:MAX_ERROR_LENGTH], 0, sent=False)
        headers = {
            "content-type": "application/json",
            **svc.signature_headers(c.secret, c.event_id, int(at.timestamp()), c.body),
        }
        started = time.monotonic()
        try:
            with self.client.stream("POST", c.url, content=c.body, headers=headers) as resp:
                code = resp.status_code  # the body is not read: receivers need not answer
            error = None if 200 <= code < 300 else f"HTTP {code}"
            return Result(at, code, error, _ms_since(started))
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH]
            return Result(at, None, error, _ms_since(started))

    def record(self, c: Claimed, r: Result) -> str:
        """Write the outcome of an attempt in one short transaction; returns the status."""
        s = self.ctx.settings
        with self.ctx.db.write() as conn:
            row = store.delivery_by_id(conn, c.delivery_id, lock=True)
            if row is None:  # pragma: no cover - deliveries are never deleted
                return "gone"
            if not r.sent and c.endpoint_disabled:
                if row.status == store.PENDING:
                    store.update_delivery(
                        conn, c.delivery_id, status=store.FAILED, last_error=r.error
                    )
                return store.FAILED
            attempt = int(row.attempts) + 1
            store.insert_attempt(
                conn,
                delivery_id=c.delivery_id,
                attempt=attempt,
                at=r.at,
                status_code=r.status_code,
                error=r.error,
                duration_ms=r.duration_ms,
            )
            values: dict[str, Any] = {"attempts": attempt}
            if r.ok:
                values.update(
                    status=store.DELIVERED,
                    delivered_at=r.at,
                    last_status_code=r.status_code,
                    last_error=None,
                )
            elif row.status == store.PENDING and row.next_attempt_at == c.lease_until:
                values.update(last_status_code=r.status_code, last_error=r.error)
                if attempt >= s.webhook_max_attempts:
                    values["status"] = store.FAILED
                else:
                    values["next_attempt_at"] = self.ctx.now() + self.backoff(attempt)
            # else: the lease was lost (this dispatcher was too slow): the attempt is in
            # the log, the schedule belongs to whoever holds the delivery now.
            store.update_delivery(conn, c.delivery_id, **values)
            return str(values.get("status", row.status))

    def deliver(self, c: Claimed) -> str:
        result = self.send(c)
        status = self.record(c, result)
        if not result.ok:
            log.info(
                "webhook %s to endpoint %s attempt failed: %s (%s)",
                c.event_id,
                c.endpoint_id,
                result.error,
                status,
            )
        return status

    def claim_limit(self) -> int:
        """No more than can be sent within the lease, even if every endpoint times out
        (otherwise the last of a batch would be leased again and sent twice)."""
        s = self.ctx.settings
        rounds = int(s.webhook_lease_seconds // max(s.webhook_timeout_seconds, 0.001)) - 1
        return max(1, min(self.batch, max(rounds, 1) * MAX_PARALLEL_SENDS))

    def deliver_due(self, limit: int | None = None) -> int:
        """Claim due deliveries, send them (several at once), record each result.
        Returns the number of deliveries handled."""
        claimed = self.claim(min(limit or self.batch, self.claim_limit()))
        if not claimed:
            return 0
        if len(claimed) == 1:
            self.deliver(claimed[0])
            return 1
        workers = min(len(claimed), MAX_PARALLEL_SENDS)
        with ThreadPoolExecutor(workers, thread_name_prefix="webhook-send") as pool:
            for fut in [pool.submit(self.deliver, c) for c in claimed]:
                try:
                    fut.result()
                except Exception:  # recording failed: the lease runs out, it is re-sent
                    log.exception("recording a webhook attempt failed")
        return len(claimed)

    # ----------------------------------------------------------------------- loops
    def run_once(self) -> int:
        """Fan out what is new, then deliver what is due. Returns the work done."""
        return self.fan_out() + self.deliver_due()

    def run_until_idle(self, max_rounds: int = 100) -> int:
        """Everything due now (tests): stops when a round finds nothing."""
        total = 0
        for _ in range(max_rounds):
            done = self.run_once()
            total += done
            if done == 0:
                break
        return total

    def prune_if_due(self) -> int:
        """One bounded prune batch when one is due: every ``PRUNE_EVERY``, and straight
        again while the last batch was full."""
        now = self.ctx.now()
        if self._next_prune is not None and now < self._next_prune:
            return 0
        done = prune_batch(self.ctx)
        full = done >= self.ctx.settings.outbox_prune_batch
        self._next_prune = None if full else now + PRUNE_EVERY
        return done

    def run_forever(self, stop: threading.Event) -> None:
        poll = self.ctx.settings.webhook_poll_seconds
        log.info("webhook dispatcher %s started", self.name)
        try:
            while not stop.is_set():
                try:
                    done = self.run_once()
                    pruned = self.prune_if_due()
                except Exception:  # keep the loop alive (e.g. the database restarts)
                    log.exception("webhook dispatch round failed")
                    stop.wait(poll * 5)
                    continue
                if done == 0 and pruned == 0:
                    stop.wait(poll)
        finally:
            self.close()
            log.info("webhook dispatcher %s stopped", self.name)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def start_dispatcher_in_thread(ctx: Context) -> tuple[threading.Thread, threading.Event]:
    """The embedded shape: the dispatcher runs inside the server process."""
    stop = threading.Event()
    dispatcher = Dispatcher(ctx)
    thread = threading.Thread(
        target=dispatcher.run_forever, args=(stop,), name="outbox", daemon=True
    )
    thread.start()
    return thread, stop
