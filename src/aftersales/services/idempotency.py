"""Idempotency-Key on POST requests, with Stripe's semantics.

* The first request with a key runs; its result (success or a refusal) is stored and
  replayed for ``settings.idempotency_hours`` to every retry with the same key.
* The same key with other parameters (method, path or body) is refused (422).
* While the first request runs, another with the same key gets 409 and changes nothing.

The key is marked *committed* inside the very transaction that makes the effect (a
``before_commit`` hook on the database), so a crash between the effect and the storing of
the response can never let a retry repeat the effect: that retry gets 409
``idempotency.response_lost`` and should read the resource instead. (Until
``settings.idempotency_lease_seconds`` after the claim, a committed key is taken to be a
request still rendering its answer: 409 ``idempotency.in_progress``.) A request that failed
before its effect (a crash, a server error) releases its key, so a retry runs again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from aftersales.domain.errors import Conflict, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.services.context import Context
from aftersales.store import accounts as store
from aftersales.store.db import before_commit


def fingerprint(method: str, path: str, body: str) -> str:
    return hashlib.sha256(f"{method}\n{path}\n{body}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    body: str


@dataclass
class Claim:
    row_id: int
    committed: bool = False

    def mark(self, conn: Connection) -> None:
        if not self.committed:
            store.idem_update(conn, self.row_id, only_status="started", status="committed")
            self.committed = True


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
    with ctx.db.write() as conn:
        row = store.idem_row(conn, principal, key, lock=True)
        if row is None:
            try:
                with conn.begin_nested():
                    row_id = store.idem_insert(
                        conn,
                        principal=principal,
                        key=key,
                        method=method,
                        path=path[:500],
                        fingerprint=fp,
                        status="started",
                        created_at=now,
                    )
                    return Claim(row_id)
            except IntegrityError:  # another request inserted it first (PostgreSQL)
                row = store.idem_row(conn, principal, key, lock=True)
                assert row is not None
        if row.created_at < expired_before or row.status == "released":
            store.idem_update(
                conn,
                row.id,
                method=method,
                path=path[:500],
                fingerprint=fp,
                status="started",
                response_status=None,
                response_body=None,
                created_at=now,
                completed_at=None,
            )
            return Claim(row.id)
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
        in_flight = now - row.created_at < timedelta(seconds=ctx.settings.idempotency_lease_seconds)
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


@contextmanager
def bound(c: Claim) -> Iterator[None]:
    """Mark the key spent inside the transaction that makes the effect."""
    with before_commit(c.mark):
        yield


def complete(ctx: Context, c: Claim, status: int, body: str) -> None:
    with ctx.db.write() as conn:
        store.idem_update(
            conn,
            c.row_id,
            status="completed",
            response_status=status,
            response_body=body,
            completed_at=ctx.now(),
        )


def release(ctx: Context, c: Claim) -> None:
    """The request failed before its effect: a retry may run it again."""
    with ctx.db.write() as conn:
        store.idem_update(conn, c.row_id, only_status="started", status="released")


def run(
    ctx: Context,
    principal: str,
    key: str,
    method: str,
    path: str,
    body: str,
    call: Callable[[], tuple[int, str]],
    *,
    is_final_error: Callable[[BaseException], tuple[int, str] | None],
) -> tuple[int, str, bool]:
    """Run ``call`` once per key. Returns (status, body, replayed)."""
    got = claim(ctx, principal, key, method, path, fingerprint(method, path, body))
    if isinstance(got, Replay):
        return got.status, got.body, True
    try:
        with bound(got):
            status, text = call()
    except BaseException as exc:
        final = is_final_error(exc)
        if final is None:
            if not got.committed:
                release(ctx, got)
            raise
        complete(ctx, got, *final)
        raise
    complete(ctx, got, status, text)
    return status, text, False
