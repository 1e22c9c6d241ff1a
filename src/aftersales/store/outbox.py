"""The transactional outbox: events are written in the transaction that caused them, and
pruned once delivered and older than the operator's retention."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from aftersales.store.prebuilt import bound
from aftersales.store.schema import outbox_events, webhook_attempts, webhook_deliveries

_INSERT_EVENT = (
    insert(outbox_events)
    .values(bound(outbox_events, "event_id", "type", "shop_id", "case_id", "payload", "created_at"))
    .returning(outbox_events.c.id)
)


def insert_event(
    conn: Connection,
    *,
    event_id: str,
    type: str,
    shop_id: int | None,
    case_id: int | None,
    payload: dict[str, Any],
    now: datetime,
) -> int:
    values = {
        "event_id": event_id,
        "type": type,
        "shop_id": shop_id,
        "case_id": case_id,
        "payload": payload,
        "created_at": now,
    }
    return int(conn.execute(_INSERT_EVENT, values).scalar_one())


# --------------------------------------------------------------------------- retention
# Delivery statuses that are final: nothing will be sent for them again (unless a person
# asks to redeliver, which puts the delivery back to pending first).
_FINISHED = ("delivered", "failed")


def prune_finished(conn: Connection, created_before: datetime, limit: int) -> int:
    """Delete up to ``limit`` outbox events created before ``created_before`` whose fan-out
    is done and whose every delivery is finished (delivered, or failed after its last
    attempt), with their deliveries and attempt rows. Returns the events deleted.

    PostgreSQL: candidate events are taken ``FOR UPDATE SKIP LOCKED`` (two pruners split the
    work) and their deliveries locked and checked again, so a delivery put back to pending
    meanwhile (a redelivery) keeps its event. SQLite: the write lock is the lock."""
    unfinished = (
        select(webhook_deliveries.c.id)
        .where(
            webhook_deliveries.c.event_id == outbox_events.c.id,
            webhook_deliveries.c.status.not_in(_FINISHED),
        )
        .exists()
    )
    q = (
        select(outbox_events.c.id)
        .where(
            outbox_events.c.created_at < created_before,
            outbox_events.c.fanned_out_at.is_not(None),
            ~unfinished,
        )
        .order_by(outbox_events.c.id)
        .limit(limit)
    )
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        q = q.with_for_update(of=outbox_events, skip_locked=True)
    events = set(conn.execute(q).scalars())
    if not events:
        return 0
    dq = select(
        webhook_deliveries.c.id, webhook_deliveries.c.event_id, webhook_deliveries.c.status
    ).where(webhook_deliveries.c.event_id.in_(sorted(events)))
    if postgres:
        dq = dq.order_by(webhook_deliveries.c.id).with_for_update()
    deliveries = conn.execute(dq).all()
    events -= {int(d.event_id) for d in deliveries if d.status not in _FINISHED}
    gone = sorted(int(d.id) for d in deliveries if int(d.event_id) in events)
    if gone:
        conn.execute(delete(webhook_attempts).where(webhook_attempts.c.delivery_id.in_(gone)))
        conn.execute(delete(webhook_deliveries).where(webhook_deliveries.c.id.in_(gone)))
    if events:
        conn.execute(delete(outbox_events).where(outbox_events.c.id.in_(sorted(events))))
    return len(events)
