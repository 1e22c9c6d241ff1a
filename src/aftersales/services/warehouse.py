"""Warehouse / ERP receipt of a returned parcel: received and inspected, pass or fail.

A shop's warehouse reports through the API (a shop account's token) or through a signed
inbound endpoint (Standard Webhooks, with the shop's warehouse secret), so a WMS that can
only send webhooks needs no account. Each report is kept (append-only, with its photos)
and written to the case's timeline; a report is identified by the warehouse's own id, so
a retry changes nothing. A pass starts the shop's ``warehouse_receipt_auto_refund``
strategy (R6.3); a fail leaves the decision to the shop's team, which may refuse the
refund with the inspection as its evidence (R5.5). Either way the goods are in the
shop's warehouse: a return still in transit or delivered is confirmed received (R5.4).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection

from aftersales.domain.accounts import Permission, Scope
from aftersales.domain.automation import Trigger
from aftersales.domain.case import Case, Command
from aftersales.domain.case_types import Action, ActorKind, State
from aftersales.domain.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from aftersales.domain.i18n import N_
from aftersales.services import automation, engine
from aftersales.services.actors import (
    Actor,
    require_case_access,
    require_configurer,
    require_permission,
    require_scope,
    visible_shop,
)
from aftersales.services.context import Context
from aftersales.services.webhooks import new_secret, verify_signature
from aftersales.store import accounts as account_store
from aftersales.store import automation as store
from aftersales.store import cases as case_store
from aftersales.store import catalog as catalog_store

MAX_PHOTOS = 20
PHOTO_URL_MAX = 500
NOTE_MAX = 2000
# Where a return can be reported received: on its way, delivered, or already received.
RECEIVABLE = frozenset({State.RETURN_SHIPPED, State.RETURN_DELIVERED, State.RETURN_RECEIVED})


class Result(StrEnum):
    PASS = "pass"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a warehouse reports."""

    case_number: str
    external_id: str
    result: Result
    received_at: datetime
    inspected_at: datetime
    note: str = ""
    photos: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InspectionView:
    id: int
    case_number: str
    external_id: str
    result: Result
    note: str
    photos: list[str]
    received_at: datetime
    inspected_at: datetime
    reported_at: datetime
    reported_by: str
    applied_action: str | None  # what the automation did: refund, or None
    case_state: State
    replayed: bool


def _check(receipt: Receipt, now: datetime) -> None:
    if not receipt.external_id.strip() or len(receipt.external_id) > 80:
        raise ValidationFailed(
            "warehouse.external_id",
            N_("The warehouse's receipt id is 1 to 80 characters."),
            field="external_id",
        )
    if len(receipt.note) > NOTE_MAX:
        raise ValidationFailed(
            "warehouse.note_too_long", N_("The note is at most 2000 characters."), field="note"
        )
    if len(receipt.photos) > MAX_PHOTOS or any(
        not p.startswith(("https://", "http://")) or len(p) > PHOTO_URL_MAX for p in receipt.photos
    ):
        raise ValidationFailed(
            "warehouse.photos",
            N_("Photos are up to 20 http(s) links of at most 500 characters."),
            field="photos",
        )
    if receipt.inspected_at < receipt.received_at or receipt.received_at > now:
        raise ValidationFailed(
            "warehouse.dates",
            N_("Goods are inspected after they are received, and not in the future."),
            field="inspected_at",
        )


def _same(row: Any, receipt: Receipt, case_id: int) -> bool:
    return (
        row.case_id == case_id
        and row.result == receipt.result.value
        and row.note == receipt.note
        and list(row.photos) == list(receipt.photos)
    )


def _view(conn: Connection, row: Any, *, replayed: bool) -> InspectionView:
    case = case_store.load_case_by_id(conn, row.case_id)
    assert case is not None
    return InspectionView(
        row.id,
        case.number,
        row.external_id,
        Result(row.result),
        row.note,
        list(row.photos),
        row.received_at,
        row.inspected_at,
        row.reported_at,
        row.reported_by,
        row.applied_action,
        case.state,
        replayed,
    )


def _record(
    ctx: Context, conn: Connection, shop_id: int, reporter: str, receipt: Receipt
) -> InspectionView:
    now = ctx.now()
    _check(receipt, now)
    case = case_store.load_case(conn, receipt.case_number)
    if case is None or case.shop_id != shop_id:
        raise NotFound("case.not_found", N_("Case {number} not found."), number=receipt.case_number)
    assert case.id is not None
    known = store.inspection_by_external_id(conn, shop_id, receipt.external_id)
    if known is not None:
        if not _same(known, receipt, case.id):
            raise Conflict(
                "warehouse.receipt_reused",
                N_("Receipt {id} was already reported with other contents."),
                field="external_id",
                id=receipt.external_id,
            )
        return _view(conn, known, replayed=True)
    if case.state not in RECEIVABLE:
        raise IllegalTransition(
            "warehouse.not_returning",
            N_("Case {number} has no return on its way back (state {state})."),
            rule="R5.4",
            number=case.number,
            state=case.state.value,
        )
    catalog_store.lock_order(conn, case.order_id)
    inspection_id = store.insert_inspection(
        conn,
        shop_id=shop_id,
        case_id=case.id,
        external_id=receipt.external_id,
        result=receipt.result.value,
        note=receipt.note,
        photos=list(receipt.photos),
        received_at=receipt.received_at,
        inspected_at=receipt.inspected_at,
        reported_at=now,
        reported_by=reporter,
    )
    warehouse = Actor(ActorKind.MERCHANT, reporter, shop_id=shop_id)
    engine.note(
        conn,
        case,
        warehouse,
        Action.WAREHOUSE_INSPECTION,
        "R6.3",
        {
            "inspection": {
                "id": inspection_id,
                "external_id": receipt.external_id,
                "result": receipt.result.value,
                "note": receipt.note,
                "photos": list(receipt.photos),
                "received_at": receipt.received_at.isoformat(),
                "inspected_at": receipt.inspected_at.isoformat(),
            }
        },
        now,
    )
    if case.state in (State.RETURN_SHIPPED, State.RETURN_DELIVERED):
        # The shop's warehouse has the goods: that is the shop's receipt (R5.4).
        case = engine.move(
            ctx,
            conn,
            warehouse,
            _reload(conn, case),
            Command(Action.CONFIRM_RECEIPT, ActorKind.MERCHANT),
            None,
            now,
            extra_changes={"warehouse_receipt": receipt.external_id},
        )
    applied = None
    if receipt.result is Result.PASS:
        after = automation.run_strategies(
            ctx, conn, _reload(conn, case), Trigger.WAREHOUSE_PASSED, now
        )
        if after.state is State.REFUNDED:
            applied = Action.REFUND.value
    if applied is not None:
        store.set_applied_action(conn, inspection_id, applied)
    return _view(conn, store.inspection_row(conn, inspection_id), replayed=False)


def _reload(conn: Connection, case: Case) -> Case:
    fresh = case_store.load_case_by_id(conn, case.id or 0)
    assert fresh is not None
    return fresh


def report(ctx: Context, actor: Actor, receipt: Receipt) -> InspectionView:
    """A shop account (its ERP's token) reports a receipt on one of the shop's cases."""
    if actor.kind is not ActorKind.MERCHANT or actor.shop_id is None:
        raise Forbidden(
            "warehouse.shop_only",
            N_("Only the shop (or its warehouse) reports receipts."),
            rule="R1",
        )
    require_permission(actor, Permission.HANDLE_AFTERSALES)
    require_scope(actor, Scope.CASES_WRITE)
    with ctx.db.write() as conn:
        return _record(ctx, conn, actor.shop_id, actor.id or "shop", receipt)


# --------------------------------------------------------------------------- signed inbound
def rotate_secret(ctx: Context, actor: Actor, shop_code: str) -> str:
    """A new warehouse signing secret for the shop (shown once; the old one stops)."""
    now = ctx.now()
    with ctx.db.write() as conn:
        shop = visible_shop(conn, actor, shop_code)
        require_configurer(actor)
        secret = new_secret()  # the same form as webhook endpoint secrets
        store.rotate_secret(conn, shop.id, secret, now)
        account_store.audit(
            conn,
            at=now,
            actor=actor.id or "",
            subject=f"shop:{shop.id}",
            action="warehouse_secret_rotated",
        )
        return secret


def report_signed(
    ctx: Context,
    shop_code: str,
    headers: Mapping[str, str],
    body: bytes,
    parse: Callable[[bytes], Receipt] | None = None,
) -> InspectionView:
    """The signed inbound endpoint: the body is verified against the shop's warehouse
    secret (Standard Webhooks: ``webhook-id``, ``webhook-timestamp``,
    ``webhook-signature``); an unsigned, mis-signed or stale request changes nothing.
    A verified body is read by ``parse`` (the API passes its own validation of the
    body; ``parse_receipt`` by default)."""
    with ctx.db.write() as conn:
        shop = catalog_store.shop_row_by_code(conn, shop_code)
        active = store.active_secrets(conn, shop.id) if shop is not None else []
        now = ctx.now().timestamp()
        if shop is None or not any(
            verify_signature(s.secret, headers, body, now=now) for s in active
        ):
            raise Unauthenticated(
                "warehouse.bad_signature",
                N_("The request is not signed with the shop's warehouse secret."),
            )
        receipt = (parse or parse_receipt)(body)
        return _record(ctx, conn, shop.id, f"warehouse:{shop.code}", receipt)


def parse_receipt(body: bytes) -> Receipt:
    """The inbound JSON body, validated with the same rules as the API's."""
    try:
        data = json.loads(body)
        return Receipt(
            case_number=str(data["case_number"]),
            external_id=str(data["external_id"]),
            result=Result(data["result"]),
            received_at=_moment(data["received_at"]),
            inspected_at=_moment(data["inspected_at"]),
            note=str(data.get("note", "")),
            photos=tuple(str(p) for p in _list(data.get("photos", []))),
        )
    except (ValueError, KeyError, TypeError):
        raise ValidationFailed(
            "warehouse.bad_body",
            N_(
                "The body is JSON with case_number, external_id, result (pass or fail), "
                "received_at and inspected_at."
            ),
            field="body",
        ) from None


def _moment(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("a date-time is ISO 8601 text")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("a date-time has a time zone")
    return moment


def _list(value: Any) -> Sequence[Any]:
    if not isinstance(value, list):
        raise ValueError("photos is a list")
    return value


def inspections(ctx: Context, actor: Actor, case_number: str) -> list[InspectionView]:
    with ctx.db.read() as conn:
        case = require_case_access(
            actor, case_store.load_case(conn, case_number), case_number, write=False
        )
        return [
            _view(conn, r, replayed=False) for r in store.inspections_of_case(conn, case.id or 0)
        ]
