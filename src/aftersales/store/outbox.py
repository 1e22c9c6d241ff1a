"""The transactional outbox: events are written in the transaction that caused them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from aftersales.store.schema import outbox_events


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
    return int(
        conn.execute(
            insert(outbox_events)
            .values(
                event_id=event_id,
                type=type,
                shop_id=shop_id,
                case_id=case_id,
                payload=payload,
                created_at=now,
            )
            .returning(outbox_events.c.id)
        ).scalar_one()
    )
