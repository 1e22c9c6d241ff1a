"""Carrier events pushed through the API (R16).

Every event is recorded (append-only; a replayed event is recognised and changes nothing).
A return parcel reported delivered or signed moves its case to ``return_delivered``
(R5.4), in the same transaction as the record. An event on an order's outbound parcel
updates the parcel and, when the parcel comes back (failed delivery, refusal, intercept),
moves the order's refund request (R16.1, R16.2; see :mod:`aftersales.services.parcels`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from aftersales.domain.accounts import AccountKind, Scope
from aftersales.domain.case import Command
from aftersales.domain.case_types import Action, ActorKind, State
from aftersales.domain.errors import DomainError, Forbidden
from aftersales.domain.i18n import N_
from aftersales.domain.logistics import DELIVERED, ParcelStatus, validate_tracking
from aftersales.services import engine, parcels
from aftersales.services.actors import Actor, require_scope
from aftersales.services.context import Context
from aftersales.store import cases as case_store
from aftersales.store import logistics as store
from aftersales.store import parcels as parcel_store


@dataclass(frozen=True, slots=True)
class EventResult:
    id: int
    carrier: str
    tracking_number: str
    status: ParcelStatus
    occurred_at: datetime
    case_number: str | None
    applied_action: str | None
    duplicate: bool


def record_event(
    ctx: Context,
    actor: Actor,
    *,
    carrier: str,
    tracking_number: str,
    status: ParcelStatus,
    occurred_at: datetime,
    location: str = "",
) -> EventResult:
    internal = actor.account_kind is None and actor.kind in (ActorKind.SYSTEM, ActorKind.CARRIER)
    if not internal and actor.account_kind not in (AccountKind.SERVICE, AccountKind.ADMIN):
        raise Forbidden("auth.not_allowed", N_("Your account may not do this."), rule="R1")
    require_scope(actor, Scope.LOGISTICS_WRITE)
    code, number = validate_tracking(carrier, tracking_number)  # R16: per-carrier format
    ctx.check_not_future(occurred_at=occurred_at)
    now = ctx.now()
    with ctx.db.write() as conn:
        existing = store.find_event(conn, code, number, status.value, occurred_at)
        if existing is not None:
            return _result(conn, existing, duplicate=True)
        case_id = store.case_of_tracking(conn, code, number)
        applied = None
        carrier_actor = Actor(ActorKind.CARRIER, f"{actor.id or 'carrier'}:{code}")
        parcel = parcel_store.by_tracking(conn, code, number) if case_id is None else None
        if parcel is not None:  # R16: the order's outbound parcel
            case_id, applied = parcels.on_carrier_event(
                ctx, conn, parcel, status, occurred_at, carrier_actor, now
            )
        if case_id is not None and parcel is None and status in DELIVERED:
            case = case_store.load_case_by_id(conn, case_id)
            assert case is not None
            if case.state is State.RETURN_SHIPPED:
                try:
                    with conn.begin_nested():
                        engine.move(
                            ctx,
                            conn,
                            carrier_actor,
                            case,
                            Command(Action.RETURN_DELIVERED, ActorKind.CARRIER),
                            None,
                            now,
                        )
                    applied = Action.RETURN_DELIVERED.value
                except DomainError:
                    applied = None  # recorded; the case's state did not allow it
        event_id = store.insert_event(
            conn,
            carrier=code,
            tracking_number=number,
            status=status.value,
            occurred_at=occurred_at,
            received_at=now,
            location=location,
            case_id=case_id,
            applied_action=applied,
        )
        return _result(conn, store.event_row(conn, event_id), duplicate=False)


def _result(conn: Connection, row: Any, *, duplicate: bool) -> EventResult:
    case = case_store.load_case_by_id(conn, row.case_id) if row.case_id is not None else None
    return EventResult(
        row.id,
        row.carrier,
        row.tracking_number,
        ParcelStatus(row.status),
        row.occurred_at,
        case.number if case else None,
        row.applied_action,
        duplicate,
    )
