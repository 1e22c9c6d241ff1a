"""Carrier events and the lookup of a tracking number's case."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from aftersales.store.schema import logistics_events, shipments


def find_event(
    conn: Connection, carrier: str, number: str, status: str, occurred_at: datetime
) -> Any:
    return conn.execute(
        select(logistics_events).where(
            logistics_events.c.carrier == carrier,
            logistics_events.c.tracking_number == number,
            logistics_events.c.status == status,
            logistics_events.c.occurred_at == occurred_at,
        )
    ).first()


def event_row(conn: Connection, event_id: int) -> Any:
    return conn.execute(select(logistics_events).where(logistics_events.c.id == event_id)).one()


def case_of_tracking(conn: Connection, carrier: str, number: str) -> int | None:
    value = conn.execute(
        select(shipments.c.case_id).where(
            shipments.c.carrier == carrier, shipments.c.tracking_number == number
        )
    ).scalar()
    return int(value) if value is not None else None


def insert_event(conn: Connection, **values: Any) -> int:
    return int(
        conn.execute(
            insert(logistics_events).values(**values).returning(logistics_events.c.id)
        ).scalar_one()
    )
