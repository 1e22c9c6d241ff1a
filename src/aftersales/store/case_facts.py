"""The facts a case's guards need besides its order, read in one statement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, exists, func, literal, select

from aftersales.store.parcels import INTERCEPTABLE_STATUSES, pending_intercept_on
from aftersales.store.schema import order_parcels, parcel_intercepts, refund_decisions, shipments


@dataclass(frozen=True, slots=True)
class SideFacts:
    already_refunded: int  # minor units decided on the order by other cases
    tracking_in_use: bool  # R5.3/R16: the number is on another case or an outbound parcel
    interceptable_parcel: tuple[str, str] | None  # R16.2: (carrier, tracking number)
    intercept_attempted: bool  # R16.2: this case asked for an intercept


def _side_facts_query(of_case: bool, with_tracking: bool) -> Any:
    """One of the four shapes of the statement (a case or a new request; a tracking number
    to check or none), built once with its values bound per call."""
    order_id = bindparam("order_id", type_=refund_decisions.c.order_id.type)
    case_id = bindparam("case_id", type_=refund_decisions.c.case_id.type)
    refunded = select(func.coalesce(func.sum(refund_decisions.c.amount), 0)).where(
        refund_decisions.c.order_id == order_id
    )
    if of_case:
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
        exists().where(parcel_intercepts.c.case_id == case_id).label("attempted")
        if of_case
        else literal(False).label("attempted"),
    ]
    if with_tracking:
        carrier = bindparam("carrier", type_=shipments.c.carrier.type)
        number = bindparam("number", type_=shipments.c.tracking_number.type)
        on_parcel = exists().where(
            and_(order_parcels.c.carrier == carrier, order_parcels.c.tracking_number == number)
        )
        on_case = exists().where(
            and_(
                shipments.c.carrier == carrier,
                shipments.c.tracking_number == number,
                shipments.c.case_id != bindparam("other_than", type_=shipments.c.case_id.type),
            )
        )
        cols.append((on_parcel | on_case).label("in_use"))
    else:
        cols.append(literal(False).label("in_use"))
    return select(*cols)


_SIDE_FACTS = {
    (of_case, tracking): _side_facts_query(of_case, tracking)
    for of_case in (False, True)
    for tracking in (False, True)
}


def case_side_facts(
    conn: Connection, order_id: int, case_id: int | None, tracking: tuple[str, str] | None
) -> SideFacts:
    params: dict[str, Any] = {"order_id": order_id, "case_id": case_id}
    if tracking is not None:
        params["carrier"], params["number"] = tracking
        params["other_than"] = case_id or 0
    row = conn.execute(_SIDE_FACTS[case_id is not None, tracking is not None], params).one()
    return SideFacts(
        int(row.refunded),
        bool(row.in_use),
        (row.parcel_carrier, row.parcel_number) if row.parcel_carrier is not None else None,
        bool(row.attempted),
    )
