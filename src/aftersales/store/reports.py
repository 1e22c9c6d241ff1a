"""R15: the rows of force-majeure reports and of malicious-buyer reports (filing, the
one review each, and the reads the services and the judgment need)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, insert, select, update

from aftersales.store.records import every, one
from aftersales.store.schema import (
    buyer_reports,
    cases,
    evidence_items,
    force_majeure_reports,
    orders,
)


# --------------------------------------------------------------------------- records
@dataclass(frozen=True, slots=True)
class ForceMajeureReport:
    """An R15.1 report and its one review."""

    id: int
    shop_id: int
    kind: str
    regions: list[str]
    starts_on: date
    ends_on: date
    description: str
    status: str  # pending | approved | rejected
    filed_by: str
    created_at: datetime
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_note: str | None


@dataclass(frozen=True, slots=True)
class ApprovedWindow:
    """An approved force-majeure report's regions."""

    id: int
    regions: list[str]


@dataclass(frozen=True, slots=True)
class BuyerReport:
    """An R15.2 malicious-buyer report and its one review."""

    id: int
    shop_id: int
    buyer_id: int
    status: str  # pending | confirmed | rejected
    reason: str
    created_at: datetime
    reviewed_at: datetime | None
    reviewed_by: str | None
    filed_by: str | None
    evidence: dict[str, list[Any]] | None  # case_numbers, evidence_ids
    review_note: str | None
    rejected_cases: list[str] | None


# --------------------------------------------------------------------------- R15.1
def insert_force_majeure(
    conn: Connection,
    *,
    shop_id: int,
    kind: str,
    regions: Sequence[str],
    starts_on: date,
    ends_on: date,
    description: str,
    filed_by: str,
    now: datetime,
) -> int:
    return int(
        conn.execute(
            insert(force_majeure_reports)
            .values(
                shop_id=shop_id,
                kind=kind,
                regions=list(regions),
                starts_on=starts_on,
                ends_on=ends_on,
                description=description,
                status="pending",
                filed_by=filed_by,
                created_at=now,
            )
            .returning(force_majeure_reports.c.id)
        ).scalar_one()
    )


def force_majeure(conn: Connection, report_id: int) -> ForceMajeureReport | None:
    return one(
        ForceMajeureReport,
        conn.execute(
            select(force_majeure_reports).where(force_majeure_reports.c.id == report_id)
        ).first(),
    )


def force_majeure_rows(
    conn: Connection, *, shop_id: int | None, status: str | None, limit: int
) -> list[ForceMajeureReport]:
    """Newest first; ``shop_id`` None: every shop's."""
    query = select(force_majeure_reports).order_by(force_majeure_reports.c.id.desc())
    if shop_id is not None:
        query = query.where(force_majeure_reports.c.shop_id == shop_id)
    if status is not None:
        query = query.where(force_majeure_reports.c.status == status)
    return every(ForceMajeureReport, conn.execute(query.limit(limit)))


def review_force_majeure(
    conn: Connection, report_id: int, status: str, *, note: str, by: str, now: datetime
) -> bool:
    """Set the review once (compare-and-set on ``pending``); False: already reviewed."""
    done = conn.execute(
        update(force_majeure_reports)
        .where(force_majeure_reports.c.id == report_id, force_majeure_reports.c.status == "pending")
        .values(status=status, review_note=note, reviewed_by=by, reviewed_at=now)
    )
    return done.rowcount == 1


def approved_windows(conn: Connection, shop_id: int, day: date) -> list[ApprovedWindow]:
    """The shop's approved reports whose window contains ``day`` (both ends inclusive)."""
    return every(
        ApprovedWindow,
        conn.execute(
            select(force_majeure_reports.c.id, force_majeure_reports.c.regions).where(
                force_majeure_reports.c.shop_id == shop_id,
                force_majeure_reports.c.status == "approved",
                force_majeure_reports.c.starts_on <= day,
                force_majeure_reports.c.ends_on >= day,
            )
        ),
    )


# --------------------------------------------------------------------------- R15.2
def insert_buyer_report(
    conn: Connection,
    *,
    shop_id: int,
    buyer_id: int,
    reason: str,
    evidence: dict[str, list[Any]],
    filed_by: str,
    now: datetime,
) -> int:
    return int(
        conn.execute(
            insert(buyer_reports)
            .values(
                shop_id=shop_id,
                buyer_id=buyer_id,
                status="pending",
                reason=reason,
                evidence=evidence,
                filed_by=filed_by,
                created_at=now,
            )
            .returning(buyer_reports.c.id)
        ).scalar_one()
    )


def buyer_report(conn: Connection, report_id: int) -> BuyerReport | None:
    row = conn.execute(select(buyer_reports).where(buyer_reports.c.id == report_id)).first()
    return one(BuyerReport, row)


def buyer_report_rows(
    conn: Connection, *, shop_id: int | None, status: str | None, limit: int
) -> list[BuyerReport]:
    query = select(buyer_reports).order_by(buyer_reports.c.id.desc())
    if shop_id is not None:
        query = query.where(buyer_reports.c.shop_id == shop_id)
    if status is not None:
        query = query.where(buyer_reports.c.status == status)
    return every(BuyerReport, conn.execute(query.limit(limit)))


def review_buyer_report(
    conn: Connection,
    report_id: int,
    status: str,
    *,
    note: str,
    by: str,
    now: datetime,
    rejected_cases: Sequence[str],
) -> bool:
    """Set the review once (compare-and-set on ``pending``); False: already reviewed."""
    done = conn.execute(
        update(buyer_reports)
        .where(buyer_reports.c.id == report_id, buyer_reports.c.status == "pending")
        .values(
            status=status,
            review_note=note,
            reviewed_by=by,
            reviewed_at=now,
            rejected_cases=list(rejected_cases),
        )
    )
    return done.rowcount == 1


def sold_to(conn: Connection, shop_id: int, buyer_id: int) -> bool:
    """The buyer has at least one order at the shop."""
    return bool(
        conn.execute(
            select(exists().where(and_(orders.c.shop_id == shop_id, orders.c.buyer_id == buyer_id)))
        ).scalar()
    )


def case_numbers_of(
    conn: Connection, shop_id: int, buyer_id: int, numbers: Sequence[str]
) -> set[str]:
    """Which of ``numbers`` are the buyer's cases at the shop."""
    if not numbers:
        return set()
    return set(
        conn.execute(
            select(cases.c.number).where(
                cases.c.shop_id == shop_id,
                cases.c.buyer_id == buyer_id,
                cases.c.number.in_(list(numbers)),
            )
        ).scalars()
    )


def evidence_ids_of(conn: Connection, shop_id: int, buyer_id: int, ids: Sequence[int]) -> set[int]:
    """Which of ``ids`` are evidence items on the buyer's cases at the shop."""
    if not ids:
        return set()
    return set(
        conn.execute(
            select(evidence_items.c.id)
            .join(cases, cases.c.id == evidence_items.c.case_id)
            .where(
                cases.c.shop_id == shop_id,
                cases.c.buyer_id == buyer_id,
                evidence_items.c.id.in_(list(ids)),
            )
        ).scalars()
    )


def matching_pending(
    conn: Connection, shop_id: int, buyer_id: int, *, state: str, reasons: Sequence[str]
) -> list[str]:
    """R15.2: the buyer's requests at the shop in ``state`` whose current reason is one of
    ``reasons``, oldest first (case numbers)."""
    return list(
        conn.execute(
            select(cases.c.number)
            .where(
                cases.c.shop_id == shop_id,
                cases.c.buyer_id == buyer_id,
                cases.c.state == state,
                cases.c.reason.in_(list(reasons)),
            )
            .order_by(cases.c.id)
        ).scalars()
    )
