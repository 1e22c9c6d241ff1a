"""A shop's standing as dated, append-only changes (``shop_status_changes``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, select

from aftersales.store.schema import shop_freezes, shop_status_changes


@dataclass(frozen=True, slots=True)
class StatusChange:
    id: int
    shop_id: int
    status: str
    active: bool
    cause: str
    rule: str
    entry_id: int | None
    details: dict[str, Any]
    created_at: datetime


def _record(row: Any) -> StatusChange:
    return StatusChange(
        int(row.id),
        int(row.shop_id),
        row.status,
        bool(row.active),
        row.cause,
        row.rule,
        row.entry_id,
        dict(row.details),
        row.created_at,
    )


def record(
    conn: Connection,
    *,
    shop_id: int,
    status: str,
    active: bool,
    cause: str,
    rule: str,
    entry_id: int | None,
    details: dict[str, Any],
    now: datetime,
) -> StatusChange:
    row = conn.execute(
        insert(shop_status_changes)
        .values(
            shop_id=shop_id,
            status=status,
            active=active,
            cause=cause,
            rule=rule,
            entry_id=entry_id,
            details=details,
            created_at=now,
        )
        .returning(*shop_status_changes.c)
    ).one()
    return _record(row)


def in_force(conn: Connection, shop_id: int, status: str, cause: str) -> bool:
    """Whether the latest change of this status for this cause switched it on."""
    q = (
        select(shop_status_changes.c.active)
        .where(
            and_(
                shop_status_changes.c.shop_id == shop_id,
                shop_status_changes.c.status == status,
                shop_status_changes.c.cause == cause,
            )
        )
        .order_by(shop_status_changes.c.id.desc())
        .limit(1)
    )
    return bool(conn.execute(q).scalar())


def history(conn: Connection, shop_id: int) -> list[StatusChange]:
    q = (
        select(shop_status_changes)
        .where(shop_status_changes.c.shop_id == shop_id)
        .order_by(shop_status_changes.c.id)
    )
    return [_record(r) for r in conn.execute(q)]


def freeze_until(conn: Connection, shop_id: int, now: datetime) -> datetime | None:
    """The latest end of an R14.1 withdrawal freeze still in force, if any."""
    q = select(shop_freezes.c.ends_at).where(
        and_(shop_freezes.c.shop_id == shop_id, shop_freezes.c.ends_at > now)
    )
    ends = [e for e in conn.execute(q).scalars()]
    return max(ends) if ends else None


def insert_freeze(
    conn: Connection,
    *,
    shop_id: int,
    reason: str,
    rule: str,
    entry_id: int,
    starts_at: datetime,
    ends_at: datetime,
) -> None:
    conn.execute(
        insert(shop_freezes).values(
            shop_id=shop_id,
            reason=reason,
            rule=rule,
            entry_id=entry_id,
            starts_at=starts_at,
            ends_at=ends_at,
            created_at=starts_at,
        )
    )
