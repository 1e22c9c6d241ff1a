"""Idempotency-Key on POST requests, with Stripe's semantics.

* The first request with a key runs; its result (success or a refusal) is stored and
  replayed for ``settings.idempotency_hours`` to every retry with the same key.
* The same key with other parameters (method, path or body) is refused (422).
* While the first request runs, another with the same key gets 409 (PostgreSQL) or waits
  for it and gets its answer replayed (SQLite, whose writers queue); it changes nothing.

One transaction per request: authentication, the key's claim, the effect and the stored
answer commit together (every ``ctx.db.write()``/``read()`` of the use case joins it), so
a crash between the effect and the storing of the answer cannot happen, and a request that
fails or whose server dies commits nothing, its key included: a retry runs it again. A
concurrent request with the key cannot see an uncommitted claim, so on PostgreSQL the claim
also takes a transaction-scoped advisory lock on the key (``pg_try_advisory_xact_lock``, in
the claim's statement): a second request that cannot take it is running at the same time
as the first and gets 409 ``idempotency.in_progress``; on SQLite ``BEGIN IMMEDIATE`` already
makes the second wait for the first to commit, then it finds the stored answer. A refusal
(a domain error) is stored too: its transaction is rolled back (it may hold half of an
effect) and the refusal is stored under the key in a short transaction of its own.

Keys claimed by an earlier version, which committed the claim on its own, may still be
*started* (their server was killed) or *committed* without an answer: a retry within the
lease gets 409 ``idempotency.in_progress`` (or ``idempotency.response_lost`` for a
committed one), a retry after it claims a started key again. Marking or completing a key
goes by its row *and* its claim's date (``created_at``), so an answer is only ever stored
for the claim that made the effect (409 ``idempotency.superseded`` otherwise).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from aftersales.domain.errors import Conflict, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.services.context import Context
from aftersales.store import accounts as store


def fingerprint(method: str, path: str, body: str) -> str:
    return hashlib.sha256(f"{method}\n{path}\n{body}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    body: str


@dataclass
class Claim:
    row_id: int
    claimed_at: datetime
    committed: bool = False


def lock_key(principal: str, key: str) -> int:
    """The key's advisory lock: 64 bits of a hash of the principal and the key."""
    digest = hashlib.sha256(f"{principal}\n{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def in_progress() -> Conflict:
    return Conflict(
        "idempotency.in_progress",
        N_("A request with this Idempotency-Key is still being processed; retry later."),
    )


def _validate_key(key: str) -> None:
    if not key or len(key) > 255 or not key.isprintable():
        raise ValidationFailed(
            "idempotency.key_invalid",
            N_("An Idempotency-Key is 1 to 255 printable characters."),
            field="Idempotency-Key",
        )


def claim(
    ctx: Context, principal: str, key: str, method: str, path: str, fp: str
) -> Claim | Replay:
    _validate_key(key)
    now = ctx.now()
    expired_before = now - timedelta(hours=ctx.settings.idempotency_hours)
    lease = timedelta(seconds=ctx.settings.idempotency_lease_seconds)
    request: dict[str, Any] = {
        "method": method,
        "path": path[:500],
        "fingerprint": fp,
        "status": "started",
    }
    with ctx.db.write() as conn:
        # PostgreSQL: the key's advisory lock in the same statement (see the module doc).
        locked, row_id = store.idem_claim(
            conn, lock_key(principal, key), principal=principal, key=key, created_at=now, **request
        )
        if not locked:
            raise in_progress()
        if row_id is not None:  # a new key: one statement
            return Claim(row_id, now)
        row = store.idem_row(conn, principal, key, lock=True)
        assert row is not None  # keys are never deleted

        def again() -> Claim:
            store.idem_update(
                conn,
                row.id,
                response_status=None,
                response_body=None,
                created_at=now,
                completed_at=None,
                **request,
            )
            return Claim(row.id, now)

        if row.created_at < expired_before or row.status == "released":
            return again()
        if row.fingerprint != fp:
            raise ValidationFailed(
                "idempotency.key_reused",
                N_(
                    "This Idempotency-Key was used with other parameters; use a new key for "
                    "a new request."
                ),
                field="Idempotency-Key",
            )
        if row.status == "completed":
            return Replay(int(row.response_status), str(row.response_body))
        in_flight = now - row.created_at < lease
        if row.status == "started" and not in_flight:
            # Its request died before its effect without releasing the key (a killed
            # server), or is still running past its lease: the key is claimed again.
            return again()
        if row.status == "committed" and not in_flight:
            raise Conflict(
                "idempotency.response_lost",
                N_(
                    "The request with this Idempotency-Key took effect but its response was "
                    "not stored; read the resource instead of retrying."
                ),
            )
        raise in_progress()


def complete_in(conn: Connection, c: Claim, status: int, body: str, now: datetime) -> None:
    """Store the answer inside the transaction of the effect, so the two commit together.
    Raises ``idempotency.superseded`` (rolling the effect back) when the lease ran out and
    a retry claimed the key again: the retry's effect is the one."""
    if not store.idem_update(
        conn,
        c.row_id,
        only_status="started",
        claimed_at=c.claimed_at,
        status="completed",
        response_status=status,
        response_body=body,
        completed_at=now,
    ):
        raise Conflict(
            "idempotency.superseded",
            N_(
                "This request took longer than its Idempotency-Key's lease and a retry "
                "took the key over; this request changed nothing."
            ),
        )
    c.committed = True


def _store_refusal(
    ctx: Context, principal: str, key: str, method: str, path: str, fp: str, answer: tuple[int, str]
) -> None:
    """Store a refusal under the key, in a transaction of its own (the request's was rolled
    back). A key another request has claimed or answered meanwhile keeps that answer."""
    try:
        with ctx.db.transaction() as connection:
            got = claim(ctx, principal, key, method, path, fp)
            if isinstance(got, Claim):
                complete_in(connection(), got, *answer, ctx.now())
    except (Conflict, ValidationFailed):
        return


def run(
    ctx: Context,
    principal: str | Callable[[], str],
    key: str,
    method: str,
    path: str,
    body: str,
    call: Callable[[], tuple[int, str]],
    *,
    is_final_error: Callable[[BaseException], tuple[int, str] | None],
) -> tuple[int, str, bool]:
    """Run ``call`` once per key. Returns (status, body, replayed).

    One transaction: ``principal`` (which may be a function: the API authenticates the
    caller there), the claim, ``call`` (every ``ctx.db.write()``/``read()`` of it joins the
    transaction) and the stored answer commit together."""
    fp = fingerprint(method, path, body)
    who: str | None = None
    got: Claim | Replay | None = None
    try:
        with ctx.db.transaction() as connection:
            who = principal() if callable(principal) else principal
            got = claim(ctx, who, key, method, path, fp)
            if isinstance(got, Replay):
                return got.status, got.body, True
            status, text = call()
            complete_in(connection(), got, status, text, ctx.now())
    except BaseException as exc:
        final = is_final_error(exc) if isinstance(got, Claim) else None
        if final is not None and who is not None:
            # The request was refused after its claim: nothing of it committed; the
            # refusal is what the key replays from now on.
            _store_refusal(ctx, who, key, method, path, fp, final)
        raise
    return status, text, False
