"""The facts a case's guards need besides its order, read in one statement."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, exists, func, literal, select

from aftersales.store.parcels import INTERCEPTABLE_STATUSES, pending_intercept_on
from aftersales.store.schema import order_parcels, parcel_intercepts, refund_decisions, shipments


@dataclass(frozen=True, slots=True)
class SideFacts:
    already_refunded: int  # minor units decided on the order by other cases
    tracking_in_use: bool  # R5.3/R16: the number is on another case or an outbound parcel
    interceptable_parcel: tuple[str, str] | None  # R16.2: (carrier, tracking number)
    intercept_attempted: bool  # R16.2: this case asked for an intercept


def case_side_facts(
    conn: Connection, order_id: int, case_id: int | None, tracking: tuple[str, str] | None
) -> SideFacts:
    refunded = select(func.coalesce(func.sum(refund_decisions.c.amount), 0)).where(
        refund_decisions.c.order_id == order_id
    )
    if case_id is not None:
        refunded = refunded.where(refund_decisions.c.case_id != case_id)
    parcel = (
        select(order_parcels.c.carrier, order_parcels.c.tracking_number)
        .where(
            order_parcels.c.order_id == order_id,
            order_parcels.c.status.in_(INTERCEPTABLE_STATUSES),
            ~pending_intercept_on(order_parcels.c.id),
        )
        .order_by(order_parcels.c.id)
        .limit(1)
    )
    first = parcel.subquery()
    cols = [
        refunded.scalar_subquery().label("refunded"),
        select(first.c.carrier).scalar_subquery().label("parcel_carrier"),
        select(first.c.tracking_number).scalar_subquery().label("parcel_number"),
        exists().where(parcel_intercepts.c.case_id == (case_id or 0)).label("attempted")
        if case_id is not None
        else literal(False).label("attempted"),
    ]
    if tracking is not None:
        carrier, number = tracking
        on_parcel = exists().where(
            and_(order_parcels.c.carrier == carrier, order_parcels.c.tracking_number == number)
        )
        on_case = exists().where(
            and_(
                shipments.c.carrier == carrier,
                shipments.c.tracking_number == number,
                shipments.c.case_id != (case_id or 0),
            )
        )
        cols.append((on_parcel | on_case).label("in_use"))
    else:
        cols.append(literal(False).label("in_use"))
    row = conn.execute(select(*cols)).one()
    return SideFacts(
        int(row.refunded),
        bool(row.in_use),
        (row.parcel_carrier, row.parcel_number) if row.parcel_carrier is not None else None,
        bool(row.attempted),
    )
