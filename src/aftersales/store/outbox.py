"""The transactional outbox: events are written in the transaction that caused them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert

from aftersales.store.schema import outbox_events

_INSERT_EVENT = (
    insert(outbox_events)
    .values(
        {
            name: bindparam(name, type_=outbox_events.c[name].type)
            for name in ("event_id", "type", "shop_id", "case_id", "payload", "created_at")
        }
    )
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
