"""R15.2: the facts about a buyer that the risk level reads, each an aggregate query (no
rows are loaded to be counted in Python), and the malicious-buyer report rows.

Two statements per assessment: one over the buyer (account age, earlier paid orders,
units of one item in the order assessed, confirmed reports) and one over the buyer's
requests in the window. Which evidence counts as a photo lives in ``case_events``' JSON
(the ``open`` event's ``changes.evidence.after`` list); reading it is the one place the
two dialects differ (``json_each`` on SQLite, ``json_array_elements_text`` on
PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)

from aftersales.domain.risk import BuyerFacts
from aftersales.store.schema import buyer_reports, buyers, case_events, cases, order_lines, orders

# White space trimmed before a description's length is measured (the ideographic space
# U+3000 is what Chinese input methods type).
_BLANKS = " \t\r\n\u3000"

REPORT_STATUSES = ("pending", "confirmed", "rejected")


@dataclass(frozen=True, slots=True)
class RequestKinds:
    """Which requests count as what (the service derives these from the profile)."""

    merchant_side_reasons: Sequence[str]  # reason codes of merchant-side groups (R3.2)
    goods_claim_reasons: Sequence[str]  # reason codes a photo of the goods would support
    imagery: Sequence[str]  # evidence kinds that show the goods
    vague_max_chars: int  # a description this short gives no details


@dataclass(frozen=True, slots=True)
class LatestOrder:
    id: int
    number: str
    shop_id: int


def _trimmed_length(conn: Connection, column: Any) -> ColumnElement[Any]:
    if conn.dialect.name == "postgresql":
        return func.length(func.btrim(column, _BLANKS))
    return func.length(func.trim(column, _BLANKS))


def _opened_with_imagery(conn: Connection, imagery: Sequence[str]) -> ColumnElement[bool]:
    """The case's ``open`` event lists evidence of one of the ``imagery`` kinds."""
    opened = case_events.alias("opened")
    if conn.dialect.name == "postgresql":
        given = func.json_array_elements_text(opened.c.changes["evidence"]["after"])
    else:
        given = func.json_each(opened.c.changes, "$.evidence.after")
    item = given.table_valued("value").alias("given")
    return exists(
        select(literal(1))
        .select_from(opened)
        .join(item, literal(True))
        .where(
            opened.c.case_id == cases.c.id,
            opened.c.action == "open",
            item.c.value.in_(list(imagery)),
        )
    )


def buyer_facts(
    conn: Connection,
    buyer_id: int,
    *,
    now: datetime,
    since: datetime,
    order_id: int | None,
    kinds: RequestKinds,
) -> BuyerFacts | None:
    """The buyer's facts at ``now`` (None: no such buyer). Requests count when opened in
    (``since``, ``now``]; earlier paid orders are those paid before the order assessed
    (``order_id``), or by ``now`` without one, the order itself never counted."""
    earlier = (
        select(func.count())
        .select_from(orders)
        .where(orders.c.buyer_id == buyers.c.id, orders.c.paid_at <= now)
    )
    units: Any = literal(0)
    if order_id is not None:
        paid_at = select(orders.c.paid_at).where(orders.c.id == order_id).scalar_subquery()
        earlier = earlier.where(orders.c.id != order_id, orders.c.paid_at < paid_at)
        per_item = (
            select(func.sum(order_lines.c.quantity).label("units"))
            .where(order_lines.c.order_id == order_id)
            .group_by(order_lines.c.product_id)
            .subquery()
        )
        units = select(func.coalesce(func.max(per_item.c.units), 0)).scalar_subquery()
    confirmed = (
        select(func.count())
        .select_from(buyer_reports)
        .where(
            buyer_reports.c.buyer_id == buyers.c.id,
            buyer_reports.c.status == "confirmed",
            func.coalesce(buyer_reports.c.reviewed_at, buyer_reports.c.created_at) <= now,
        )
    )
    row = conn.execute(
        select(
            func.coalesce(buyers.c.registered_at, buyers.c.created_at).label("since"),
            earlier.scalar_subquery().label("earlier"),
            units.label("units"),
            confirmed.scalar_subquery().label("confirmed"),
        ).where(buyers.c.id == buyer_id)
    ).first()
    if row is None:
        return None
    age_days = max(0, (now - row.since).days)
    requests = _requests(conn, buyer_id, now=now, since=since, kinds=kinds)
    return BuyerFacts(
        account_age_days=age_days,
        earlier_paid_orders=int(row.earlier),
        max_units_of_one_item=int(row.units),
        requests_in_window=requests[0],
        vague_compensation_demands=requests[1],
        claims_without_photo=requests[2],
        confirmed_reports=int(row.confirmed),
    )


def _requests(
    conn: Connection, buyer_id: int, *, now: datetime, since: datetime, kinds: RequestKinds
) -> tuple[int, int, int]:
    """(requests, vague compensation demands, claims without a photo) in the window."""
    vague = and_(
        cases.c.first_reason.in_(list(kinds.merchant_side_reasons)),
        _trimmed_length(conn, cases.c.description) <= kinds.vague_max_chars,
    )
    no_photo = and_(
        cases.c.first_reason.in_(list(kinds.goods_claim_reasons)),
        ~_opened_with_imagery(conn, kinds.imagery),
    )
    row = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((vague, 1), else_=0)), 0),
            func.coalesce(func.sum(case((no_photo, 1), else_=0)), 0),
        ).where(
            cases.c.buyer_id == buyer_id,
            cases.c.created_at > since,
            cases.c.created_at <= now,
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def latest_order(conn: Connection, buyer_id: int) -> LatestOrder | None:
    """The buyer's most recently paid order."""
    row = conn.execute(
        select(orders.c.id, orders.c.number, orders.c.shop_id)
        .where(orders.c.buyer_id == buyer_id)
        .order_by(orders.c.paid_at.desc(), orders.c.id.desc())
        .limit(1)
    ).first()
    return LatestOrder(row.id, row.number, row.shop_id) if row else None


def order_buyer(conn: Connection, order_id: int) -> int | None:
    value = conn.execute(select(orders.c.buyer_id).where(orders.c.id == order_id)).scalar()
    return int(value) if value is not None else None


# --------------------------------------------------------------------------- reports
# Reports as R15.2 reads them (services/reports.py files and reviews them; tests insert rows here).
def insert_report(
    conn: Connection,
    *,
    shop_id: int,
    buyer_id: int,
    reason: str,
    now: datetime,
    status: str = "pending",
) -> int:
    if status not in REPORT_STATUSES:
        raise ValueError(f"report status {status!r}")
    return int(
        conn.execute(
            insert(buyer_reports)
            .values(
                shop_id=shop_id, buyer_id=buyer_id, status=status, reason=reason, created_at=now
            )
            .returning(buyer_reports.c.id)
        ).scalar_one()
    )


def set_report_status(
    conn: Connection, report_id: int, status: str, *, now: datetime, reviewed_by: str
) -> None:
    """Review a report (confirmed or rejected); ``now`` is when."""
    if status not in REPORT_STATUSES:
        raise ValueError(f"report status {status!r}")
    conn.execute(
        update(buyer_reports)
        .where(buyer_reports.c.id == report_id)
        .values(status=status, reviewed_at=now, reviewed_by=reviewed_by)
    )
