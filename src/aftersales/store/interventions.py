"""R9-R12: rows of interventions, rulings, appeals, dispute flags and the agent queue's
assignments, and the reads the services and the queue need."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update

from aftersales.store.records import every, one
from aftersales.store.schema import (
    appeals,
    dispute_flags,
    interventions,
    queue_assignments,
    rulings,
)


# --------------------------------------------------------------------------- records
@dataclass(frozen=True, slots=True)
class Intervention:
    """One R9 intervention round of a case."""

    id: int
    case_id: int
    shop_id: int
    round: int
    opened_by: str
    opened_by_actor: str
    opened_at: datetime
    statement: str
    urgent: bool
    merchant_response_due: datetime
    merchant_responded_at: datetime | None
    merchant_response: str | None
    evidence_due: datetime
    ruling_due: datetime
    status: str
    closed_at: datetime | None
    appeal_of_ruling_id: int | None
    excluded_agent: str | None
    version: int


@dataclass(frozen=True, slots=True)
class Ruling:
    """An R10.4 ruling, with the recommendation it was made on."""

    id: int
    intervention_id: int
    case_id: int
    shop_id: int
    agent: str
    ruled_at: datetime
    liability: str
    remedy: str
    freight_payer: str
    return_risk: str
    amount: int | None
    currency: str
    reasons: str
    overridden: bool
    override_reason: str | None
    recommendation: dict[str, Any]
    force_majeure_exempt: bool


@dataclass(frozen=True, slots=True)
class Appeal:
    """An R12 appeal against a ruling."""

    id: int
    ruling_id: int
    case_id: int
    shop_id: int
    party: str
    channel: str
    filed_by: str
    filed_at: datetime
    grounds: str
    statement: str
    evidence: list[int]
    decide_by: datetime
    status: str
    reviewed_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    refunded_entries: list[int] | None
    version: int


@dataclass(frozen=True, slots=True)
class Assignment:
    """Who an agent queue item was handed to (agent None: given back)."""

    id: int
    item_kind: str
    item_id: int
    agent: str | None
    assigned_by: str
    assigned_at: datetime


# --------------------------------------------------------------------------- R9
def insert_intervention(conn: Connection, **values: Any) -> int:
    return int(
        conn.execute(
            insert(interventions).values(version=1, **values).returning(interventions.c.id)
        ).scalar_one()
    )


def rounds_of(conn: Connection, case_id: int) -> list[Intervention]:
    """Every intervention round of a case, oldest first."""
    return every(
        Intervention,
        conn.execute(
            select(interventions)
            .where(interventions.c.case_id == case_id)
            .order_by(interventions.c.round)
        ),
    )


def latest_round(conn: Connection, case_id: int) -> Intervention | None:
    """The case's latest intervention round (R9), or None."""
    return one(
        Intervention,
        conn.execute(
            select(interventions)
            .where(interventions.c.case_id == case_id)
            .order_by(interventions.c.round.desc())
            .limit(1)
        ).first(),
    )


def intervention(conn: Connection, intervention_id: int) -> Intervention:
    """A round the caller knows exists (it holds its id)."""
    row = conn.execute(select(interventions).where(interventions.c.id == intervention_id)).one()
    return Intervention(**row._mapping)


def update_intervention(
    conn: Connection, intervention_id: int, expected_version: int, **values: Any
) -> bool:
    """Compare-and-set on ``version``: False when someone else changed it first."""
    res = conn.execute(
        update(interventions)
        .where(
            and_(
                interventions.c.id == intervention_id,
                interventions.c.version == expected_version,
            )
        )
        .values(version=expected_version + 1, **values)
    )
    return res.rowcount == 1


def open_interventions(conn: Connection) -> list[Intervention]:
    return every(
        Intervention,
        conn.execute(
            select(interventions)
            .where(interventions.c.status == "open")
            .order_by(interventions.c.ruling_due, interventions.c.id)
        ),
    )


# --------------------------------------------------------------------------- R10.4
def insert_ruling(conn: Connection, **values: Any) -> int:
    return int(conn.execute(insert(rulings).values(**values).returning(rulings.c.id)).scalar_one())


def ruling(conn: Connection, ruling_id: int) -> Ruling | None:
    return one(Ruling, conn.execute(select(rulings).where(rulings.c.id == ruling_id)).first())


def rulings_of(conn: Connection, case_id: int) -> list[Ruling]:
    return every(
        Ruling,
        conn.execute(select(rulings).where(rulings.c.case_id == case_id).order_by(rulings.c.id)),
    )


def merchant_liable_count(conn: Connection, shop_id: int, since: datetime, until: datetime) -> int:
    """R13.1: rulings against the merchant in a period, less those an appeal overturned
    and those a force-majeure report exempts."""
    upheld = (
        select(appeals.c.ruling_id)
        .where(and_(appeals.c.party == "merchant", appeals.c.status == "upheld"))
        .scalar_subquery()
    )
    return int(
        conn.execute(
            select(func.count())
            .select_from(rulings)
            .where(
                and_(
                    rulings.c.shop_id == shop_id,
                    rulings.c.liability == "merchant",
                    rulings.c.force_majeure_exempt.is_(False),
                    rulings.c.ruled_at >= since,
                    rulings.c.ruled_at < until,
                    rulings.c.id.not_in(upheld),
                )
            )
        ).scalar_one()
    )


# --------------------------------------------------------------------------- R12
def insert_appeal(conn: Connection, **values: Any) -> int:
    return int(
        conn.execute(
            insert(appeals).values(version=1, **values).returning(appeals.c.id)
        ).scalar_one()
    )


def appeal(conn: Connection, appeal_id: int) -> Appeal | None:
    return one(Appeal, conn.execute(select(appeals).where(appeals.c.id == appeal_id)).first())


def appeals_of(conn: Connection, case_id: int) -> list[Appeal]:
    return every(
        Appeal,
        conn.execute(select(appeals).where(appeals.c.case_id == case_id).order_by(appeals.c.id)),
    )


def update_appeal(conn: Connection, appeal_id: int, expected_version: int, **values: Any) -> bool:
    res = conn.execute(
        update(appeals)
        .where(and_(appeals.c.id == appeal_id, appeals.c.version == expected_version))
        .values(version=expected_version + 1, **values)
    )
    return res.rowcount == 1


def pending_merchant_appeals(conn: Connection) -> list[Appeal]:
    return every(
        Appeal,
        conn.execute(
            select(appeals)
            .where(and_(appeals.c.status == "pending", appeals.c.party == "merchant"))
            .order_by(appeals.c.decide_by, appeals.c.id)
        ),
    )


# --------------------------------------------------------------------------- R9.2 flags
def insert_flag(conn: Connection, **values: Any) -> int:
    return int(
        conn.execute(
            insert(dispute_flags).values(**values).returning(dispute_flags.c.id)
        ).scalar_one()
    )


def flag_kinds(conn: Connection, *, order_id: int, case_id: int | None) -> set[str]:
    """The R9.2 flags on an order and (for legal proceedings) on a case."""
    cond = dispute_flags.c.order_id == order_id
    if case_id is not None:
        cond = cond | (dispute_flags.c.case_id == case_id)
    return {row.kind for row in conn.execute(select(dispute_flags.c.kind).where(cond))}


# --------------------------------------------------------------------------- queue
def assign(
    conn: Connection, *, kind: str, item_id: int, agent: str | None, by: str, now: datetime
) -> int:
    return int(
        conn.execute(
            insert(queue_assignments)
            .values(item_kind=kind, item_id=item_id, agent=agent, assigned_by=by, assigned_at=now)
            .returning(queue_assignments.c.id)
        ).scalar_one()
    )


def assignees(conn: Connection, kind: str, item_ids: Sequence[int]) -> dict[int, Assignment]:
    """The newest assignment row of each item (absent: never assigned)."""
    if not item_ids:
        return {}
    newest = (
        select(func.max(queue_assignments.c.id))
        .where(
            and_(
                queue_assignments.c.item_kind == kind,
                queue_assignments.c.item_id.in_(list(item_ids)),
            )
        )
        .group_by(queue_assignments.c.item_id)
    )
    rows = conn.execute(select(queue_assignments).where(queue_assignments.c.id.in_(newest)))
    return {a.item_id: a for a in every(Assignment, rows)}
