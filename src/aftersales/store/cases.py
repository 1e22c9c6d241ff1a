"""Cases, their lines, shipments, timeline and refund decisions: rows <-> domain objects,
and the case number counters. Every function takes an open connection; the service that
calls it owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from aftersales.domain.case import Case, CaseLine, CounterOffer, RefundDecision, Shipment
from aftersales.domain.case_types import ActorKind, CaseType, DeadlineKind, State
from aftersales.domain.money import Money
from aftersales.store.prebuilt import bound
from aftersales.store.records import every
from aftersales.store.schema import (
    case_events,
    case_lines,
    cases,
    number_sequences,
    order_parcels,
    orders,
    refund_decisions,
    shipments,
    shops,
)


# --------------------------------------------------------------------------- numbers
def next_sequence(conn: Connection, name: str) -> int:
    """Atomically increment and return a named counter (upsert ... RETURNING)."""
    ins = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = ins(number_sequences).values(name=name, value=1)
    upsert = stmt.on_conflict_do_update(
        index_elements=[number_sequences.c.name],
        set_={"value": number_sequences.c.value + 1},
    ).returning(number_sequences.c.value)
    return int(conn.execute(upsert).scalar_one())


# --------------------------------------------------------------------------- cases
def _case_row(case: Case) -> dict[str, Any]:
    offer = case.offer
    return {
        "number": case.number,
        "shop_id": case.shop_id,
        "buyer_id": case.buyer_id,
        "order_id": case.order_id,
        "type": case.type.value,
        "state": case.state.value,
        "first_reason": case.first_reason,
        "reason": case.reason,
        "description": case.description,
        "currency": case.requested.currency,
        "requested": case.requested.amount,
        "agreed": case.agreed.amount if case.agreed else None,
        "offer_amount": offer.amount.amount if offer else None,
        "offer_return_required": offer.return_required if offer else None,
        "offer_note": offer.note if offer else None,
        "return_address": case.return_address,
        "refusal_code": case.refusal_code,
        "refusal_note": case.refusal_note,
        "rejected_at": case.rejected_at,
        "edits": case.edits,
        "profile_id": case.profile_id,
        "profile_version": case.profile_version,
        "version": case.version,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "closed_at": case.closed_at,
        "close_reason": case.close_reason,
        "deadline_kind": case.deadline_kind.value if case.deadline_kind else None,
        "deadline_at": case.deadline_at,
    }


def insert_case(conn: Connection, case: Case) -> int:
    case_id = int(
        conn.execute(insert(cases).values(**_case_row(case)).returning(cases.c.id)).scalar_one()
    )
    conn.execute(
        insert(case_lines),
        [
            {"case_id": case_id, "order_line_id": cl.order_line_id, "quantity": cl.quantity}
            for cl in case.lines
        ],
    )
    return case_id


def _case_update() -> Any:
    """The compare-and-set UPDATE of a case (every column of :func:`_case_row`), built
    once: the values are bound per call."""
    columns = [c for c in cases.c if c.name != "id"]
    return (
        update(cases)
        .where(and_(cases.c.id == bindparam("w_id"), cases.c.version == bindparam("w_version")))
        .values(bound(cases, *(c.name for c in columns)))
    )


_CASE_UPDATE = _case_update()


def update_case(conn: Connection, case: Case, expected_version: int) -> bool:
    """Compare-and-set on ``version``: False when someone else wrote first."""
    assert case.id is not None
    values = _case_row(case)
    values["version"] = expected_version + 1
    values["w_id"] = case.id
    values["w_version"] = expected_version
    res = conn.execute(_CASE_UPDATE, values)
    if res.rowcount == 1:
        case.version = expected_version + 1
        return True
    return False


def _latest_shipment(alias: Any, direction: str) -> Any:
    newest = shipments.alias()
    return alias.c.id == (
        select(func.max(newest.c.id))
        .where(and_(newest.c.case_id == cases.c.id, newest.c.direction == direction))
        .scalar_subquery()
    )


def _case_query() -> Any:
    """The case with its lines and its latest return and replacement shipments: one
    statement (one row per line), built once."""
    ret, rep = shipments.alias("ret"), shipments.alias("rep")
    cols = [case_lines.c.order_line_id.label("cl_line"), case_lines.c.quantity.label("cl_qty")]
    for prefix, alias in (("ret", ret), ("rep", rep)):
        cols += [
            alias.c[name].label(f"{prefix}_{name}")
            for name in ("carrier", "tracking_number", "shipped_at", "freight")
        ]
    return (
        select(cases, *cols)
        .select_from(
            cases.outerjoin(case_lines, case_lines.c.case_id == cases.c.id)
            .outerjoin(ret, _latest_shipment(ret, "return"))
            .outerjoin(rep, _latest_shipment(rep, "replacement"))
        )
        .order_by(case_lines.c.id)
    )


_CASE_BY_NUMBER = _case_query().where(cases.c.number == bindparam("number"))
_CASE_BY_ID = _case_query().where(cases.c.id == bindparam("case_id"))
_CASES_BY_IDS = _case_query().where(cases.c.id.in_(bindparam("case_ids", expanding=True)))


def _shipment_of(row: Any, prefix: str) -> Shipment | None:
    carrier = getattr(row, f"{prefix}_carrier")
    if carrier is None:
        return None
    return Shipment(
        carrier,
        getattr(row, f"{prefix}_tracking_number"),
        getattr(row, f"{prefix}_shipped_at"),
        getattr(row, f"{prefix}_freight"),
    )


def _case(rows: Sequence[Any]) -> Case | None:
    if not rows:
        return None
    row = rows[0]
    cur = row.currency
    lines = tuple(CaseLine(r.cl_line, r.cl_qty) for r in rows if r.cl_line is not None)
    offer = (
        CounterOffer(
            Money(row.offer_amount, cur), bool(row.offer_return_required), row.offer_note or ""
        )
        if row.offer_amount is not None
        else None
    )
    return Case(
        id=row.id,
        number=row.number,
        shop_id=row.shop_id,
        buyer_id=row.buyer_id,
        order_id=row.order_id,
        type=CaseType(row.type),
        state=State(row.state),
        lines=lines,
        first_reason=row.first_reason,
        reason=row.reason,
        description=row.description,
        requested=Money(row.requested, cur),
        profile_id=row.profile_id,
        profile_version=row.profile_version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        agreed=Money(row.agreed, cur) if row.agreed is not None else None,
        offer=offer,
        return_address=row.return_address,
        return_shipment=_shipment_of(row, "ret"),
        replacement_shipment=_shipment_of(row, "rep"),
        refusal_code=row.refusal_code,
        refusal_note=row.refusal_note,
        rejected_at=row.rejected_at,
        edits=row.edits,
        closed_at=row.closed_at,
        close_reason=row.close_reason,
        deadline_kind=DeadlineKind(row.deadline_kind) if row.deadline_kind else None,
        deadline_at=row.deadline_at,
    )


def load_case(conn: Connection, number: str) -> Case | None:
    return _case(conn.execute(_CASE_BY_NUMBER, {"number": number}).all())


def load_case_by_id(conn: Connection, case_id: int) -> Case | None:
    return _case(conn.execute(_CASE_BY_ID, {"case_id": case_id}).all())


def load_cases_by_ids(conn: Connection, case_ids: Iterable[int]) -> dict[int, Case]:
    """Several cases by id in one statement (the deadline sweeper's batch)."""
    ids = sorted(set(case_ids))
    if not ids:
        return {}
    rows: dict[int, list[Any]] = {}
    for row in conn.execute(_CASES_BY_IDS, {"case_ids": ids}):
        rows.setdefault(int(row.id), []).append(row)
    found = {case_id: _case(group) for case_id, group in rows.items()}
    return {case_id: case for case_id, case in found.items() if case is not None}


def list_cases(
    conn: Connection, *, shop_id: int | None = None, state: str | None = None, limit: int = 50
) -> list[Any]:
    q = (
        select(
            cases.c.number,
            cases.c.type,
            cases.c.state,
            cases.c.reason,
            cases.c.requested,
            cases.c.currency,
            cases.c.created_at,
            cases.c.deadline_at,
            shops.c.code,
            orders.c.number.label("order_number"),
        )
        .join(shops, shops.c.id == cases.c.shop_id)
        .join(orders, orders.c.id == cases.c.order_id)
    )
    if shop_id is not None:
        q = q.where(cases.c.shop_id == shop_id)
    if state is not None:
        q = q.where(cases.c.state == state)
    return list(conn.execute(q.order_by(cases.c.created_at.desc(), cases.c.id.desc()).limit(limit)))


def already_refunded(conn: Connection, order_id: int, exclude_case: int | None) -> int:
    q = select(func.coalesce(func.sum(refund_decisions.c.amount), 0)).where(
        refund_decisions.c.order_id == order_id
    )
    if exclude_case is not None:
        q = q.where(refund_decisions.c.case_id != exclude_case)
    return int(conn.execute(q).scalar_one())


def claimed_quantities(conn: Connection, order_id: int) -> dict[int, int]:
    """Units per order line on live (not closed) cases of this order."""
    q = (
        select(case_lines.c.order_line_id, func.sum(case_lines.c.quantity))
        .join(cases, cases.c.id == case_lines.c.case_id)
        .where(and_(cases.c.order_id == order_id, cases.c.state != State.CLOSED.value))
        .group_by(case_lines.c.order_line_id)
    )
    return {int(k): int(v) for k, v in conn.execute(q)}


def tracking_in_use(conn: Connection, carrier: str, number: str, case_id: int) -> bool:
    """R5.3/R16: the number is on another case's shipment, or on an order's outbound parcel."""
    parcel = select(order_parcels.c.id).where(
        and_(order_parcels.c.carrier == carrier, order_parcels.c.tracking_number == number)
    )
    if conn.execute(parcel.limit(1)).first() is not None:
        return True
    q = (
        select(shipments.c.id)
        .where(
            and_(
                shipments.c.carrier == carrier,
                shipments.c.tracking_number == number,
                shipments.c.case_id != case_id,
            )
        )
        .limit(1)
    )
    return conn.execute(q).first() is not None


def insert_shipment(conn: Connection, case_id: int, direction: str, shipment: Shipment) -> None:
    conn.execute(
        insert(shipments).values(
            case_id=case_id,
            direction=direction,
            carrier=shipment.carrier,
            tracking_number=shipment.tracking_number,
            shipped_at=shipment.shipped_at,
            freight=shipment.freight,
        )
    )


# --------------------------------------------------------------------------- timeline
_APPEND_EVENT = (
    insert(case_events)
    .values(
        seq=select(func.coalesce(func.max(case_events.c.seq), 0) + 1)
        .where(case_events.c.case_id == bindparam("case_id", type_=case_events.c.case_id.type))
        .scalar_subquery(),
        **bound(
            case_events,
            "case_id",
            "at",
            "actor_kind",
            "actor_id",
            "action",
            "rule",
            "strategy",
            "from_state",
            "to_state",
            "changes",
            "note",
        ),
    )
    .returning(case_events.c.seq)
)


def append_event(
    conn: Connection,
    case_id: int,
    *,
    at: datetime,
    actor_kind: ActorKind,
    actor_id: str | None,
    action: str,
    rule: str | None,
    strategy: str | None,
    from_state: State | None,
    to_state: State,
    changes: dict[str, Any],
    note: str | None,
) -> int:
    """Append one timeline entry; its ``seq`` is computed in the INSERT (one statement)."""
    seq = conn.execute(
        _APPEND_EVENT,
        {
            "case_id": case_id,
            "at": at,
            "actor_kind": actor_kind.value,
            "actor_id": actor_id,
            "action": action,
            "rule": rule,
            "strategy": strategy,
            "from_state": from_state.value if from_state else None,
            "to_state": to_state.value,
            "changes": changes,
            "note": note,
        },
    ).scalar_one()
    return int(seq)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of a case's timeline (``case_events``, append-only)."""

    id: int
    case_id: int
    seq: int
    at: datetime
    actor_kind: str
    actor_id: str | None
    action: str
    rule: str | None
    strategy: str | None
    from_state: str | None
    to_state: str
    changes: dict[str, Any]  # field -> {"before", "after"}, and what the move recorded
    note: str | None


def events(conn: Connection, case_id: int) -> list[TimelineEntry]:
    """The case's timeline, in order."""
    return every(
        TimelineEntry,
        conn.execute(
            select(case_events).where(case_events.c.case_id == case_id).order_by(case_events.c.seq)
        ),
    )


_INSERT_REFUND_DECISION = (
    insert(refund_decisions)
    .values(
        bound(
            refund_decisions,
            "case_id",
            "order_id",
            "currency",
            "amount",
            "reason",
            "rule",
            "lines",
            "decided_by_kind",
            "decided_by_id",
            "decided_at",
        )
    )
    .returning(refund_decisions.c.id)
)


def insert_refund_decision(
    conn: Connection,
    case_id: int,
    order_id: int,
    decision: RefundDecision,
    actor_kind: ActorKind,
    actor_id: str | None,
) -> int:
    return int(
        conn.execute(
            _INSERT_REFUND_DECISION,
            {
                "case_id": case_id,
                "order_id": order_id,
                "currency": decision.amount.currency,
                "amount": decision.amount.amount,
                "reason": decision.reason,
                "rule": decision.rule,
                "lines": [
                    {"order_line_id": cl.order_line_id, "quantity": cl.quantity}
                    for cl in decision.lines
                ],
                "decided_by_kind": actor_kind.value,
                "decided_by_id": actor_id,
                "decided_at": decision.decided_at,
            },
        ).scalar_one()
    )


def refund_decisions_of(conn: Connection, case_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(refund_decisions)
            .where(refund_decisions.c.case_id == case_id)
            .order_by(refund_decisions.c.id)
        )
    )
