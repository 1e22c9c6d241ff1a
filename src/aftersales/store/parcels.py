"""Outbound parcels of orders (R16) and the logistics intercepts asked for on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, insert, select, update

from aftersales.domain.case_types import TERMINAL_STATES
from aftersales.store.schema import cases, order_parcels, parcel_intercepts

# R16.2: a parcel still travelling to the buyer (a failed intercept leaves it travelling).
INTERCEPTABLE_STATUSES = ("in_transit", "intercept_failed")


def by_tracking(conn: Connection, carrier: str, number: str) -> Any:
    return conn.execute(
        select(order_parcels).where(
            order_parcels.c.carrier == carrier, order_parcels.c.tracking_number == number
        )
    ).first()


def insert_parcel(
    conn: Connection,
    *,
    order_id: int,
    carrier: str,
    tracking_number: str,
    shipped_at: datetime,
    status: str,
) -> int:
    return int(
        conn.execute(
            insert(order_parcels)
            .values(
                order_id=order_id,
                carrier=carrier,
                tracking_number=tracking_number,
                shipped_at=shipped_at,
                status=status,
                status_at=shipped_at,
            )
            .returning(order_parcels.c.id)
        ).scalar_one()
    )


def of_order(conn: Connection, order_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(order_parcels)
            .where(order_parcels.c.order_id == order_id)
            .order_by(order_parcels.c.id)
        )
    )


def set_status(conn: Connection, parcel_id: int, status: str, at: datetime) -> None:
    conn.execute(
        update(order_parcels)
        .where(order_parcels.c.id == parcel_id)
        .values(status=status, status_at=at)
    )


def pending_intercept_on(parcel_id: Any) -> Any:
    return exists().where(
        and_(parcel_intercepts.c.parcel_id == parcel_id, parcel_intercepts.c.outcome.is_(None))
    )


def interceptable(conn: Connection, order_id: int) -> Any:
    """R16.2: the order's first parcel still travelling with no intercept pending on it."""
    return conn.execute(
        select(order_parcels)
        .where(
            order_parcels.c.order_id == order_id,
            order_parcels.c.status.in_(INTERCEPTABLE_STATUSES),
            ~pending_intercept_on(order_parcels.c.id),
        )
        .order_by(order_parcels.c.id)
        .limit(1)
    ).first()


def intercept_attempted(conn: Connection, case_id: int) -> bool:
    q = select(parcel_intercepts.c.id).where(parcel_intercepts.c.case_id == case_id).limit(1)
    return conn.execute(q).first() is not None


def insert_intercept(
    conn: Connection, *, case_id: int, parcel_id: int, requested_at: datetime, requested_by: str
) -> int:
    return int(
        conn.execute(
            insert(parcel_intercepts)
            .values(
                case_id=case_id,
                parcel_id=parcel_id,
                requested_at=requested_at,
                requested_by=requested_by,
            )
            .returning(parcel_intercepts.c.id)
        ).scalar_one()
    )


def settle_intercepts(conn: Connection, parcel_id: int, outcome: str, at: datetime) -> list[int]:
    """Set the outcome of the parcel's pending intercepts (once); the cases that asked."""
    pending = list(
        conn.execute(
            select(parcel_intercepts.c.id, parcel_intercepts.c.case_id).where(
                parcel_intercepts.c.parcel_id == parcel_id, parcel_intercepts.c.outcome.is_(None)
            )
        )
    )
    for row in pending:
        conn.execute(
            update(parcel_intercepts)
            .where(parcel_intercepts.c.id == row.id, parcel_intercepts.c.outcome.is_(None))
            .values(outcome=outcome, outcome_at=at)
        )
    return [int(row.case_id) for row in pending]


def intercepts_of_case(conn: Connection, case_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(
                parcel_intercepts,
                order_parcels.c.carrier,
                order_parcels.c.tracking_number,
            )
            .join(order_parcels, order_parcels.c.id == parcel_intercepts.c.parcel_id)
            .where(parcel_intercepts.c.case_id == case_id)
            .order_by(parcel_intercepts.c.id)
        )
    )


def live_case_ids(conn: Connection, order_id: int) -> list[int]:
    """Cases of the order that are not finished (refunded, completed or closed)."""
    q = (
        select(cases.c.id)
        .where(
            cases.c.order_id == order_id,
            cases.c.state.not_in([s.value for s in TERMINAL_STATES]),
        )
        .order_by(cases.c.id)
    )
    return [int(v) for v in conn.execute(q).scalars()]
