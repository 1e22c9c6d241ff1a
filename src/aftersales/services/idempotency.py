"""Idempotency-Key on POST requests, with Stripe's semantics.

* The first request with a key runs; its result (success or a refusal) is stored and
  replayed for ``settings.idempotency_hours`` to every retry with the same key.
* The same key with other parameters (method, path or body) is refused (422).
* While the first request runs, another with the same key gets 409 and changes nothing.

The claim commits on its own, so a concurrent request with the key sees it (409
``idempotency.in_progress`` while the first runs). The effect and the stored answer then
commit in one transaction (the request's: every ``ctx.db.write()`` of the use case joins
it), so a crash between the effect and the storing of the response cannot happen: either
both committed (a retry replays the answer) or neither did (the key is released, or left
*started* by a killed server, and a retry runs again). A key marked *committed* without an
answer (left by an earlier version, which stored the answer in a transaction of its own)
gets 409 ``idempotency.response_lost`` once its lease has passed.

A request that could not release its key (its server was killed) leaves it *started*: a
retry within the lease gets 409 ``idempotency.in_progress``, a retry after it claims the key
again and runs. Each claim is dated (``created_at``, and a key is claimed again only
after its lease or retention, so never at the same instant), and marking, completing or
releasing a key goes by its row *and* that date: a request slower than its lease whose key
was claimed again cannot commit its effect any more (its transaction is rolled back, 409
``idempotency.superseded``), nor store its answer, so there is still one effect per key.
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
        row_id = store.idem_insert(conn, principal=principal, key=key, created_at=now, **request)
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
        raise Conflict(
            "idempotency.in_progress",
            N_("A request with this Idempotency-Key is still being processed; retry later."),
        )


def complete(ctx: Context, c: Claim, status: int, body: str) -> None:
    """Store the answer (nothing when the key was claimed again since)."""
    with ctx.db.write() as conn:
        store.idem_update(
            conn,
            c.row_id,
            claimed_at=c.claimed_at,
            status="completed",
            response_status=status,
            response_body=body,
            completed_at=ctx.now(),
        )


def release(ctx: Context, c: Claim) -> None:
    """The request failed before its effect: a retry may run it again. A key whose effect
    committed (marked in the effect's own transaction) is left as it is."""
    with ctx.db.write() as conn:
        store.idem_update(
            conn, c.row_id, only_status="started", claimed_at=c.claimed_at, status="released"
        )


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

    The claim commits first (so a concurrent request with the key sees it: 409 while it
    runs); ``principal`` may be a function, called inside the claim's transaction (the API
    authenticates the caller there). Then the effect and the stored answer commit in one
    transaction, which every ``ctx.db.write()``/``read()`` of ``call`` joins."""
    fp = fingerprint(method, path, body)
    with ctx.db.transaction():
        who = principal() if callable(principal) else principal
        got = claim(ctx, who, key, method, path, fp)
    if isinstance(got, Replay):
        return got.status, got.body, True
    try:
        with ctx.db.transaction() as connection:
            status, text = call()
            complete_in(connection(), got, status, text, ctx.now())
    except BaseException as exc:
        final = is_final_error(exc)
        if final is None:
            # Nothing committed (the effect and the answer commit together): a retry
            # may run the request again.
            release(ctx, got)
            raise
        complete(ctx, got, *final)
        raise
    return status, text, False
