"""What the judgment (R10) reads about a stored case besides the case and its order:
agents' evidence assessments (R9.3, append-only), the order's parcels, the shop's rulings
and orders over a period, and the case's latest intervention round."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select

from aftersales.store.records import every, one
from aftersales.store.schema import (
    evidence_assessments,
    order_parcels,
    orders,
)


@dataclass(frozen=True, slots=True)
class Assessment:
    """An agent's R10 assessment of one evidence item (a later one supersedes it)."""

    id: int
    evidence_id: int
    case_id: int
    relevant: bool
    credible: bool
    supports: str
    claim: str | None
    note: str
    assessed_by: str
    created_at: datetime


def insert_assessment(
    conn: Connection,
    *,
    evidence_id: int,
    case_id: int,
    relevant: bool,
    credible: bool,
    supports: str,
    claim: str | None,
    note: str,
    assessed_by: str,
    now: datetime,
) -> int:
    return int(
        conn.execute(
            insert(evidence_assessments)
            .values(
                evidence_id=evidence_id,
                case_id=case_id,
                relevant=relevant,
                credible=credible,
                supports=supports,
                claim=claim,
                note=note,
                assessed_by=assessed_by,
                created_at=now,
            )
            .returning(evidence_assessments.c.id)
        ).scalar_one()
    )


def assessment(conn: Connection, assessment_id: int) -> Assessment | None:
    return one(
        Assessment,
        conn.execute(
            select(evidence_assessments).where(evidence_assessments.c.id == assessment_id)
        ).first(),
    )


def latest_assessments(conn: Connection, case_id: int) -> dict[int, Assessment]:
    """The newest assessment of each evidence item of the case, by evidence id (a later
    row supersedes an earlier one)."""
    rows = conn.execute(
        select(evidence_assessments)
        .where(evidence_assessments.c.case_id == case_id)
        .order_by(evidence_assessments.c.id)
    )
    return {a.evidence_id: a for a in every(Assessment, rows)}


def first_shipped_at(conn: Connection, order_id: int) -> datetime | None:
    """When the order's first outbound parcel was shipped (None: no parcel recorded)."""
    moment: datetime | None = conn.execute(
        select(func.min(order_parcels.c.shipped_at)).where(order_parcels.c.order_id == order_id)
    ).scalar()  # min() keeps the column's type: an aware UTC datetime on both dialects
    return moment


def parcel_statuses(conn: Connection, order_id: int) -> set[str]:
    return set(
        conn.execute(
            select(order_parcels.c.status).where(order_parcels.c.order_id == order_id)
        ).scalars()
    )


def orders_paid(conn: Connection, shop_id: int, since: datetime, until: datetime) -> int:
    """The shop's orders paid in [since, until)."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(orders)
            .where(
                orders.c.shop_id == shop_id,
                orders.c.paid_at >= since,
                orders.c.paid_at < until,
            )
        ).scalar_one()
    )
