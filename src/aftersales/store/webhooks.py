"""Webhook endpoints, deliveries and the per-attempt log (all the SQL of webhooks).

The outbox (``outbox_events``) holds what happened; fan-out turns each event into one
``webhook_deliveries`` row per matching endpoint; every HTTP attempt appends a
``webhook_attempts`` row. Work queues are claimed with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; on SQLite the caller's ``BEGIN IMMEDIATE`` transaction is the lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Select, and_, func, insert, or_, select, update

from aftersales.store.records import every, one
from aftersales.store.schema import (
    outbox_events,
    shops,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
)

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
DeliveryStatus = Literal["pending", "delivered", "failed"]


# --------------------------------------------------------------------------- records
@dataclass(frozen=True, slots=True)
class Endpoint:
    """An endpoint with its shop's code (``shop_code`` None: a platform endpoint)."""

    id: int
    shop_id: int | None
    url: str
    secret: str
    description: str
    event_types: list[str] | None  # None: every event
    created_at: datetime
    disabled_at: datetime | None
    shop_code: str | None


@dataclass(frozen=True, slots=True)
class UnfannedEvent:
    """An outbox event not yet turned into deliveries."""

    id: int
    type: str
    shop_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ActiveEndpoint:
    """What fan-out needs of an enabled endpoint."""

    id: int
    shop_id: int | None
    event_types: list[str] | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """What sending a leased delivery needs: its endpoint and its event."""

    id: int
    attempts: int
    endpoint_id: int
    url: str
    secret: str
    disabled_at: datetime | None
    event_id: str
    type: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    event_id: int  # the outbox event's row id
    endpoint_id: int
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LoggedDelivery(Delivery):
    """A delivery in an endpoint's log, with its event."""

    event_key: str  # the event's id: the webhook-id header
    event_type: str
    event_created_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Attempt:
    id: int
    delivery_id: int
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


# --------------------------------------------------------------------------- endpoints
def _endpoint_query() -> Select[Any]:
    return select(webhook_endpoints, shops.c.code.label("shop_code")).select_from(
        webhook_endpoints.outerjoin(shops, shops.c.id == webhook_endpoints.c.shop_id)
    )


def insert_endpoint(
    conn: Connection,
    *,
    shop_id: int | None,
    url: str,
    secret: str,
    description: str,
    event_types: list[str] | None,
    now: datetime,
) -> int:
    return int(
        conn.execute(
            insert(webhook_endpoints)
            .values(
                shop_id=shop_id,
                url=url,
                secret=secret,
                description=description,
                event_types=event_types,
                created_at=now,
            )
            .returning(webhook_endpoints.c.id)
        ).scalar_one()
    )


def endpoint_by_id(conn: Connection, endpoint_id: int, *, lock: bool = False) -> Endpoint | None:
    """One endpoint with its shop's code (``shop_code`` None: a platform endpoint)."""
    q = _endpoint_query().where(webhook_endpoints.c.id == endpoint_id)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update(of=webhook_endpoints)
    return one(Endpoint, conn.execute(q).first())


def list_endpoints(
    conn: Connection, *, shop_id: int | None = None, platform_only: bool = False
) -> list[Endpoint]:
    """Every endpoint, a shop's, or the platform's (``platform_only``); oldest first."""
    q = _endpoint_query().order_by(webhook_endpoints.c.id)
    if platform_only:
        q = q.where(webhook_endpoints.c.shop_id.is_(None))
    elif shop_id is not None:
        q = q.where(webhook_endpoints.c.shop_id == shop_id)
    return every(Endpoint, conn.execute(q))


def update_endpoint(conn: Connection, endpoint_id: int, **values: Any) -> None:
    conn.execute(
        update(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id).values(**values)
    )


def delivery_counts(conn: Connection, endpoint_id: int) -> dict[str, int]:
    rows = conn.execute(
        select(webhook_deliveries.c.status, func.count())
        .where(webhook_deliveries.c.endpoint_id == endpoint_id)
        .group_by(webhook_deliveries.c.status)
    )
    counts = {PENDING: 0, DELIVERED: 0, FAILED: 0}
    for status, n in rows:
        counts[str(status)] = int(n)
    return counts


# --------------------------------------------------------------------------- fan-out
def claim_unfanned(conn: Connection, limit: int) -> list[UnfannedEvent]:
    """Lock up to ``limit`` events not yet fanned out, oldest first."""
    q = (
        select(
            outbox_events.c.id,
            outbox_events.c.type,
            outbox_events.c.shop_id,
            outbox_events.c.created_at,
        )
        .where(outbox_events.c.fanned_out_at.is_(None))
        .order_by(outbox_events.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return every(UnfannedEvent, conn.execute(q))


def active_endpoints_for(conn: Connection, shop_ids: Iterable[int | None]) -> list[ActiveEndpoint]:
    """Enabled endpoints of these shops, and every enabled platform endpoint."""
    ids = [s for s in set(shop_ids) if s is not None]
    cond: Any = webhook_endpoints.c.shop_id.is_(None)
    if ids:
        cond = or_(cond, webhook_endpoints.c.shop_id.in_(ids))
    q = (
        select(
            webhook_endpoints.c.id,
            webhook_endpoints.c.shop_id,
            webhook_endpoints.c.event_types,
            webhook_endpoints.c.created_at,
        )
        .where(and_(cond, webhook_endpoints.c.disabled_at.is_(None)))
        .order_by(webhook_endpoints.c.id)
    )
    return every(ActiveEndpoint, conn.execute(q))


def insert_deliveries(conn: Connection, pairs: Sequence[tuple[int, int]], now: datetime) -> None:
    """One pending delivery per (outbox event id, endpoint id), due now."""
    if not pairs:
        return
    conn.execute(
        insert(webhook_deliveries),
        [
            {
                "event_id": event_id,
                "endpoint_id": endpoint_id,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for event_id, endpoint_id in pairs
        ],
    )


def mark_fanned_out(conn: Connection, event_ids: Sequence[int], now: datetime) -> None:
    if event_ids:
        conn.execute(
            update(outbox_events)
            .where(outbox_events.c.id.in_(list(event_ids)), outbox_events.c.fanned_out_at.is_(None))
            .values(fanned_out_at=now)
        )


# --------------------------------------------------------------------------- deliveries
def claim_due(
    conn: Connection, now: datetime, limit: int, lease_until: datetime
) -> list[DueDelivery]:
    """Lease up to ``limit`` due pending deliveries: their ``next_attempt_at`` moves to
    ``lease_until``, so no other dispatcher takes them until the lease runs out (a
    dispatcher that dies mid-send leaves them due again then). Returns what sending needs;
    ``lease_until`` doubles as the lease token checked when the result is recorded."""
    q = (
        select(webhook_deliveries.c.id)
        .where(
            and_(
                webhook_deliveries.c.status == PENDING,
                webhook_deliveries.c.next_attempt_at <= now,
            )
        )
        .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    ids = [int(r) for r in conn.execute(q).scalars()]
    if not ids:
        return []
    conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id.in_(ids))
        .values(next_attempt_at=lease_until)
    )
    return every(
        DueDelivery,
        conn.execute(
            select(
                webhook_deliveries.c.id,
                webhook_deliveries.c.attempts,
                webhook_deliveries.c.endpoint_id,
                webhook_endpoints.c.url,
                webhook_endpoints.c.secret,
                webhook_endpoints.c.disabled_at,
                outbox_events.c.event_id,
                outbox_events.c.type,
                outbox_events.c.payload,
            )
            .select_from(
                webhook_deliveries.join(
                    webhook_endpoints, webhook_endpoints.c.id == webhook_deliveries.c.endpoint_id
                ).join(outbox_events, outbox_events.c.id == webhook_deliveries.c.event_id)
            )
            .where(webhook_deliveries.c.id.in_(ids))
            .order_by(webhook_deliveries.c.id)
        ),
    )


def delivery_by_id(conn: Connection, delivery_id: int, *, lock: bool = False) -> Delivery | None:
    q = select(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update()
    return one(Delivery, conn.execute(q).first())


def update_delivery(conn: Connection, delivery_id: int, **values: Any) -> None:
    conn.execute(
        update(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id).values(**values)
    )


def fail_pending_of_endpoint(conn: Connection, endpoint_id: int, error: str) -> int:
    """An endpoint was disabled: what it has not received yet will not be sent."""
    res = conn.execute(
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.endpoint_id == endpoint_id,
            webhook_deliveries.c.status == PENDING,
        )
        .values(status=FAILED, last_error=error)
    )
    return int(res.rowcount or 0)


def insert_attempt(
    conn: Connection,
    *,
    delivery_id: int,
    attempt: int,
    at: datetime,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
) -> None:
    conn.execute(
        insert(webhook_attempts).values(
            delivery_id=delivery_id,
            attempt=attempt,
            at=at,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
        )
    )


# --------------------------------------------------------------------------- the log
def deliveries_page(
    conn: Connection,
    endpoint_id: int,
    *,
    before_id: int | None,
    limit: int,
    status: str | None = None,
) -> list[LoggedDelivery]:
    """An endpoint's deliveries, newest first (keyset on id), with their event."""
    q = (
        select(
            webhook_deliveries,
            outbox_events.c.event_id.label("event_key"),
            outbox_events.c.type.label("event_type"),
            outbox_events.c.created_at.label("event_created_at"),
            outbox_events.c.payload,
        )
        .select_from(
            webhook_deliveries.join(
                outbox_events, outbox_events.c.id == webhook_deliveries.c.event_id
            )
        )
        .where(webhook_deliveries.c.endpoint_id == endpoint_id)
        .order_by(webhook_deliveries.c.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        q = q.where(webhook_deliveries.c.id < before_id)
    if status is not None:
        q = q.where(webhook_deliveries.c.status == status)
    return every(LoggedDelivery, conn.execute(q))


def attempts_of(conn: Connection, delivery_ids: Sequence[int]) -> dict[int, list[Attempt]]:
    out: dict[int, list[Attempt]] = {d: [] for d in delivery_ids}
    if not delivery_ids:
        return out
    rows = conn.execute(
        select(webhook_attempts)
        .where(webhook_attempts.c.delivery_id.in_(list(delivery_ids)))
        .order_by(webhook_attempts.c.delivery_id, webhook_attempts.c.id)
    )
    for r in every(Attempt, rows):
        out[r.delivery_id].append(r)
    return out
