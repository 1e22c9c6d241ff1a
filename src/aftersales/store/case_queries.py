"""Case lists: filters, sorting and keyset (cursor) pagination."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, and_, bindparam, or_, select, tuple_

from aftersales.store.schema import buyers, cases, orders, shops

# sort key -> (column, descending)
SORTS: dict[str, tuple[Any, bool]] = {
    "created_at": (cases.c.created_at, False),
    "-created_at": (cases.c.created_at, True),
    "updated_at": (cases.c.updated_at, False),
    "-updated_at": (cases.c.updated_at, True),
    "deadline_at": (cases.c.deadline_at, False),
    "-deadline_at": (cases.c.deadline_at, True),
    "requested": (cases.c.requested, False),
    "-requested": (cases.c.requested, True),
}


_COLUMNS = (
    select(
        cases.c.id,
        cases.c.number,
        cases.c.type,
        cases.c.state,
        cases.c.first_reason,
        cases.c.reason,
        cases.c.requested,
        cases.c.agreed,
        cases.c.currency,
        cases.c.created_at,
        cases.c.updated_at,
        cases.c.deadline_kind,
        cases.c.deadline_at,
        cases.c.version,
        shops.c.code.label("shop_code"),
        orders.c.number.label("order_number"),
        buyers.c.name.label("buyer_name"),
    )
    .join(shops, shops.c.id == cases.c.shop_id)
    .join(orders, orders.c.id == cases.c.order_id)
    .join(buyers, buyers.c.id == cases.c.buyer_id)
)


@dataclass(frozen=True, slots=True)
class CaseFilter:
    shop_id: int | None = None  # visibility: a shop account's own shop
    buyer_id: int | None = None  # visibility: a buyer's own cases
    shop_code: str | None = None
    states: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    created_from: datetime | None = None
    created_to: datetime | None = None
    order_number: str | None = None
    buyer_phone: str | None = None
    buyer_name: str | None = None


def _conditions(f: CaseFilter) -> list[Any]:
    conds: list[Any] = []
    pinpoint = f.order_number is not None or f.buyer_phone is not None
    if f.shop_id is not None:
        # A search by order number or phone finds a handful of cases through that index;
        # the shop's own index must not drive it (a planner without statistics, SQLite's
        # by default, would walk every case of the shop to skip a sort): "+ 0" keeps the
        # condition and leaves the index alone.
        conds.append((cases.c.shop_id + 0 if pinpoint else cases.c.shop_id) == f.shop_id)
    if f.buyer_id is not None:
        conds.append(cases.c.buyer_id == f.buyer_id)
    if f.shop_code is not None:
        conds.append(shops.c.code == f.shop_code)
    if f.states:
        conds.append(cases.c.state.in_(f.states))
    if f.types:
        conds.append(cases.c.type.in_(f.types))
    if f.reasons:
        conds.append(cases.c.reason.in_(f.reasons))
    if f.created_from is not None:
        conds.append(cases.c.created_at >= f.created_from)
    if f.created_to is not None:
        conds.append(cases.c.created_at < f.created_to)
    if f.order_number is not None:
        conds.append(orders.c.number == f.order_number)
    if f.buyer_phone is not None:
        conds.append(buyers.c.phone == f.buyer_phone)
    if f.buyer_name is not None:
        conds.append(buyers.c.name == f.buyer_name)
    return conds


def _beyond(col: Any, desc: bool, after: tuple[Any, int]) -> Any:
    """The keyset condition: rows after (value, id) in the page order. Ascending, it is a
    row-value comparison, which both databases turn into one index range; descending
    (ties still ascending by id) it is the equivalent OR."""
    value, last_id = after
    if not desc:
        # the value bound with the column's type (UTC text on SQLite), as a plain
        # comparison would bind it
        return tuple_(col, cases.c.id) > tuple_(
            bindparam(None, value, type_=col.type), bindparam(None, last_id, type_=Integer)
        )
    return or_(col < value, and_(col == value, cases.c.id > last_id))


def _rows(conn: Connection, conds: list[Any], order: list[Any], limit: int) -> list[Any]:
    q = _COLUMNS.where(and_(*conds)) if conds else _COLUMNS
    return list(conn.execute(q.order_by(*order).limit(limit)))


def page(
    conn: Connection, f: CaseFilter, sort: str, after: tuple[Any, int] | None, limit: int
) -> list[Any]:
    """One page of cases. ``after`` is (sort value, id) of the last row of the previous page.
    Cases without a deadline sort after every case with one, in both directions.

    The to-do list (a shop's cases in one state by ``deadline_at``) is one ordered range
    of the index on (shop_id, state, deadline_at, id), read only as far as the page, so its
    cost does not grow with the number of waiting cases. That is why cases without a
    deadline are a second query (only reached on the last page) rather than an ``IS NULL``
    sort key, which no index can serve. Descending sorts break ties by ascending id, as
    they always have; an index serves their range, and the tie order costs a sort of the
    rows in it."""
    col, desc = SORTS[sort]
    conds = _conditions(f)
    direction = col.desc() if desc else col.asc()
    if sort.lstrip("-") != "deadline_at":
        if after is not None:
            conds.append(_beyond(col, desc, after))
        return _rows(conn, conds, [direction, cases.c.id.asc()], limit)
    rows: list[Any] = []
    if after is None or after[0] is not None:
        dated = [*conds, col.is_not(None)]
        if after is not None:
            dated.append(_beyond(col, desc, after))
        rows = _rows(conn, dated, [direction, cases.c.id.asc()], limit)
    if len(rows) < limit:  # the last dated page: then the cases without a deadline
        undated = [*conds, col.is_(None)]
        if after is not None and after[0] is None:
            undated.append(cases.c.id > after[1])
        # all NULL: ordering by the column too changes nothing but names the index's order
        rows += _rows(conn, undated, [col.asc(), cases.c.id.asc()], limit - len(rows))
    return rows
