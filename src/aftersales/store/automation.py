"""Storage of automation strategies (R6), express refund switches and checks (R7) and
warehouse inspections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, select, update

from aftersales.store.schema import (
    automation_strategies,
    express_refund_checks,
    express_refund_switches,
    warehouse_inspections,
    warehouse_secrets,
)


# --------------------------------------------------------------------------- strategies
def insert_strategy(
    conn: Connection,
    *,
    shop_id: int,
    kind: str,
    name: str,
    enabled: bool,
    priority: int,
    conditions: dict[str, Any],
    now: datetime,
) -> int:
    return int(
        conn.execute(
            insert(automation_strategies)
            .values(
                shop_id=shop_id,
                kind=kind,
                name=name,
                enabled=enabled,
                priority=priority,
                conditions=conditions,
                version=1,
                created_at=now,
                updated_at=now,
            )
            .returning(automation_strategies.c.id)
        ).scalar_one()
    )


def strategy_rows(conn: Connection, shop_id: int, *, archived: bool = False) -> list[Any]:
    t = automation_strategies
    q = select(t).where(t.c.shop_id == shop_id)
    if not archived:
        q = q.where(t.c.archived_at.is_(None))
    return list(conn.execute(q.order_by(t.c.priority, t.c.id)))


def strategy_row(conn: Connection, shop_id: int, strategy_id: int) -> Any:
    t = automation_strategies
    return conn.execute(
        select(t).where(and_(t.c.id == strategy_id, t.c.shop_id == shop_id))
    ).first()


def update_strategy(
    conn: Connection, strategy_id: int, expected_version: int, now: datetime, **values: Any
) -> bool:
    """Optimistic update: False when the row changed since it was read."""
    t = automation_strategies
    res = conn.execute(
        update(t)
        .where(and_(t.c.id == strategy_id, t.c.version == expected_version))
        .values(version=expected_version + 1, updated_at=now, **values)
    )
    return res.rowcount == 1


# --------------------------------------------------------------------------- express refund
def insert_switch(
    conn: Connection, shop_id: int, enabled: bool, at: datetime, by_account_id: int | None
) -> None:
    conn.execute(
        insert(express_refund_switches).values(
            shop_id=shop_id, enabled=enabled, at=at, by_account_id=by_account_id
        )
    )


def switches(conn: Connection, shop_id: int) -> list[Any]:
    t = express_refund_switches
    return list(conn.execute(select(t).where(t.c.shop_id == shop_id).order_by(t.c.at, t.c.id)))


def switch_at(conn: Connection, shop_id: int, moment: datetime) -> Any:
    """The last switch at or before ``moment`` (None: never switched)."""
    t = express_refund_switches
    return conn.execute(
        select(t)
        .where(and_(t.c.shop_id == shop_id, t.c.at <= moment))
        .order_by(t.c.at.desc(), t.c.id.desc())
        .limit(1)
    ).first()


def insert_check(
    conn: Connection,
    case_id: int,
    at: datetime,
    eligible: bool,
    conditions: list[dict[str, Any]],
    entry_id: int | None,
) -> None:
    conn.execute(
        insert(express_refund_checks).values(
            case_id=case_id, at=at, eligible=eligible, conditions=conditions, entry_id=entry_id
        )
    )


def latest_check(conn: Connection, case_id: int) -> Any:
    t = express_refund_checks
    return conn.execute(
        select(t).where(t.c.case_id == case_id).order_by(t.c.id.desc()).limit(1)
    ).first()


# --------------------------------------------------------------------------- warehouse
def inspection_by_external_id(conn: Connection, shop_id: int, external_id: str) -> Any:
    t = warehouse_inspections
    return conn.execute(
        select(t).where(and_(t.c.shop_id == shop_id, t.c.external_id == external_id))
    ).first()


def insert_inspection(conn: Connection, **values: Any) -> int:
    return int(
        conn.execute(
            insert(warehouse_inspections).values(**values).returning(warehouse_inspections.c.id)
        ).scalar_one()
    )


def inspection_row(conn: Connection, inspection_id: int) -> Any:
    t = warehouse_inspections
    return conn.execute(select(t).where(t.c.id == inspection_id)).one()


def inspections_of_case(conn: Connection, case_id: int) -> list[Any]:
    t = warehouse_inspections
    return list(conn.execute(select(t).where(t.c.case_id == case_id).order_by(t.c.id)))


def active_secrets(conn: Connection, shop_id: int) -> list[Any]:
    t = warehouse_secrets
    return list(
        conn.execute(
            select(t)
            .where(and_(t.c.shop_id == shop_id, t.c.revoked_at.is_(None)))
            .order_by(t.c.id.desc())
        )
    )


def rotate_secret(conn: Connection, shop_id: int, secret: str, now: datetime) -> None:
    """A new secret; the previous ones stop working (one active secret per shop)."""
    t = warehouse_secrets
    conn.execute(
        update(t)
        .where(and_(t.c.shop_id == shop_id, t.c.revoked_at.is_(None)))
        .values(revoked_at=now)
    )
    conn.execute(insert(t).values(shop_id=shop_id, secret=secret, created_at=now))


def set_applied_action(conn: Connection, inspection_id: int, action: str) -> None:
    t = warehouse_inspections
    conn.execute(update(t).where(t.c.id == inspection_id).values(applied_action=action))
