"""What the agent queue reads besides interventions and appeals: pending force-majeure and
malicious-buyer reports, and the numbers of the cases its items are on."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select

from aftersales.store.records import every
from aftersales.store.reports import BuyerReport, ForceMajeureReport
from aftersales.store.schema import buyer_reports, cases, force_majeure_reports


def pending_force_majeure(conn: Connection) -> list[ForceMajeureReport]:
    """R15.1: force-majeure reports waiting for review, oldest first."""
    t = force_majeure_reports
    rows = conn.execute(select(t).where(t.c.status == "pending").order_by(t.c.id))
    return every(ForceMajeureReport, rows)


def pending_buyer_reports(conn: Connection) -> list[BuyerReport]:
    """R15.2: malicious-buyer reports waiting for review, oldest first."""
    t = buyer_reports
    return every(
        BuyerReport, conn.execute(select(t).where(t.c.status == "pending").order_by(t.c.id))
    )


def case_numbers(conn: Connection, case_ids: Sequence[int]) -> dict[int, str]:
    """Case id -> public number, for the ids given."""
    if not case_ids:
        return {}
    q = select(cases.c.id, cases.c.number).where(cases.c.id.in_(list(set(case_ids))))
    return {r.id: r.number for r in conn.execute(q)}
