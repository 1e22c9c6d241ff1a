"""Cases (售后单): open, list, read, follow the timeline, and take every action of the
state machine a person takes. Case numbers (``AS…``) are the public ids."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from aftersales.api.common import (
    Bool,
    FreeText,
    Int,
    Moment,
    QueryInt,
    Text,
    decode_cursor,
    encode_cursor,
)
from aftersales.api.common import router as make_router
from aftersales.api.deps import Auth, IdempotencyKey, ctx_of, respond
from aftersales.api.problems import locale_of
from aftersales.domain.case import Case, Shipment
from aftersales.domain.case_types import CaseType, State
from aftersales.domain.errors import ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.policy import EvidenceKind
from aftersales.i18n import gettext
from aftersales.labels import ACTION_LABELS, STATE_LABELS, TYPE_LABELS
from aftersales.services import cases as svc
from aftersales.services import parcels
from aftersales.services.actors import Actor

router = make_router("/cases", "cases")

CaseNumber = Annotated[str, Text(32, min_length=1, pattern=r"^[A-Za-z0-9]+$"), Path()]
Amount = Annotated[int, Int(0, 10**13), Field(description="Minor units of the case currency")]
Note = Annotated[str, FreeText(2000), Field(default="")]
Version = Annotated[
    Annotated[int, Int(1, 2**31 - 1)] | None,
    Field(
        default=None,
        description="The case version you read; a stale one gets 409 and changes nothing",
    ),
]


class MoneyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read from a Money (api/views.py)

    amount: int
    currency: str


class ShipmentOut(BaseModel):
    carrier: str
    tracking_number: str
    shipped_at: datetime
    freight: int


class OfferOut(BaseModel):
    amount: MoneyOut
    return_required: bool
    note: str


class DeadlineOut(BaseModel):
    kind: str
    due_at: datetime


class CaseLineOut(BaseModel):
    order_line_id: int
    quantity: int


class CaseOut(BaseModel):
    number: str
    type: CaseType
    type_label: str
    state: State
    state_label: str
    shop: str
    order_number: str
    lines: list[CaseLineOut]
    first_reason: str
    reason: str
    description: str
    requested: MoneyOut
    agreed: MoneyOut | None
    offer: OfferOut | None
    return_address: str | None
    return_shipment: ShipmentOut | None
    replacement_shipment: ShipmentOut | None
    refusal_code: str | None
    refusal_note: str | None
    edits: int
    profile: str
    profile_version: int
    version: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    close_reason: str | None
    deadline: DeadlineOut | None
    actions: list[str] = Field(description="Actions you may take now (hyphenated route names)")
    intercept_missed: bool = Field(
        default=False,
        description="R16.2: the merchant refunded while the parcel could still have been "
        "intercepted, and no intercept was asked for (counts against the merchant)",
    )


def _money(amount: int | None, currency: str) -> MoneyOut | None:
    return MoneyOut(amount=amount, currency=currency) if amount is not None else None


def _ship(s: Shipment | None) -> ShipmentOut | None:
    if s is None:
        return None
    return ShipmentOut(
        carrier=s.carrier,
        tracking_number=s.tracking_number,
        shipped_at=s.shipped_at,
        freight=s.freight,
    )


def route_name(action: str) -> str:
    return action.replace("_", "-")


def case_out(view: svc.CaseCard, actor: Actor, locale: str) -> CaseOut:
    c: Case = view.case
    cur = c.requested.currency
    return CaseOut(
        number=c.number,
        type=c.type,
        type_label=gettext(TYPE_LABELS[c.type.value], locale),
        state=c.state,
        state_label=gettext(STATE_LABELS[c.state.value], locale),
        shop=view.shop_code,
        order_number=view.order_number,
        lines=[CaseLineOut(order_line_id=ln.order_line_id, quantity=ln.quantity) for ln in c.lines],
        first_reason=c.first_reason,
        reason=c.reason,
        description=c.description,
        requested=MoneyOut(amount=c.requested.amount, currency=cur),
        agreed=_money(c.agreed.amount if c.agreed else None, cur),
        offer=OfferOut(
            amount=MoneyOut(amount=c.offer.amount.amount, currency=cur),
            return_required=c.offer.return_required,
            note=c.offer.note,
        )
        if c.offer
        else None,
        return_address=c.return_address,
        return_shipment=_ship(c.return_shipment),
        replacement_shipment=_ship(c.replacement_shipment),
        refusal_code=c.refusal_code,
        refusal_note=c.refusal_note,
        edits=c.edits,
        profile=c.profile_id,
        profile_version=c.profile_version,
        version=c.version,
        created_at=c.created_at,
        updated_at=c.updated_at,
        closed_at=c.closed_at,
        close_reason=c.close_reason,
        deadline=DeadlineOut(kind=c.deadline_kind.value, due_at=c.deadline_at)
        if c.deadline_kind and c.deadline_at
        else None,
        actions=[
            route_name(a) for a in view.actions.get(actor.kind.value, []) if a in PERSON_ACTIONS
        ],
        intercept_missed=view.intercept_missed,
    )


def _full(request: Request, auth: Any, number: str) -> CaseOut:
    view = svc.get_case(ctx_of(request), auth.actor, number)
    return case_out(svc.card_of(view), auth.actor, locale_of(request))


def _moved(request: Request, auth: Any, case: Case) -> CaseOut:
    """The answer to an action: built from the case the move produced."""
    card = svc.card_after_move(ctx_of(request), auth.actor, case)
    return case_out(card, auth.actor, locale_of(request))


# --------------------------------------------------------------------------- open
class LineIn(BaseModel):
    order_line_id: Annotated[int, Int(1, 2**31 - 1)]
    quantity: Annotated[int, Int(1, 100000)]


class OpenIn(BaseModel):
    order_number: Annotated[str, Text(64, min_length=1)]
    type: CaseType
    lines: list[LineIn] = Field(min_length=1, max_length=200)
    reason: Annotated[str, Text(40, min_length=1)]
    amount: Amount
    description: Annotated[str, FreeText(2000)] = ""
    evidence: list[EvidenceKind] = Field(default_factory=list, max_length=20)


@router.post("", response_model=CaseOut, status_code=201)
def open_case(
    body: OpenIn, request: Request, auth: Auth, idempotency_key: IdempotencyKey = None
) -> Response:
    """R2: the buyer opens an after-sales request on one of their orders."""

    def call() -> CaseOut:
        case = svc.open_case(
            ctx_of(request),
            auth.actor,
            order_number=body.order_number,
            type=body.type,
            lines=[svc.LineRequest(ln.order_line_id, ln.quantity) for ln in body.lines],
            reason=body.reason,
            amount=body.amount,
            description=body.description,
            evidence=body.evidence,
        )
        return _moved(request, auth, case)

    return respond(request, auth, idempotency_key, body, call, status=201)


# --------------------------------------------------------------------------- list
class CaseSummary(BaseModel):
    number: str
    type: CaseType
    state: State
    state_label: str
    shop: str
    order_number: str
    buyer_name: str
    first_reason: str
    reason: str
    requested: MoneyOut
    agreed: MoneyOut | None
    created_at: datetime
    updated_at: datetime
    deadline: DeadlineOut | None
    version: int


class CasePageOut(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed(
        "cursor.invalid", N_("The cursor is not one this API returned."), field="cursor"
    )


def _decode_after(cursor: str, sort: str) -> tuple[Any, int]:
    raw = decode_cursor(cursor, 3)
    if raw[0] != sort or not isinstance(raw[2], int):
        raise _bad_cursor()
    value, last_id = raw[1], raw[2]
    key = sort.lstrip("-")
    try:
        if value is not None and key in ("created_at", "updated_at", "deadline_at"):
            value = datetime.fromisoformat(value)
            if value.tzinfo is None:
                raise ValueError
        elif value is not None and not isinstance(value, int):
            raise ValueError
    except (TypeError, ValueError):
        raise _bad_cursor() from None
    if value is None and key != "deadline_at":
        raise _bad_cursor()
    return value, last_id


SortKey = Annotated[
    str,
    Text(40, pattern="^-?(" + "|".join(sorted({k.lstrip("-") for k in svc.CASE_SORTS})) + ")$"),
    Query(description="Sort key; `-` for descending. Ties break on creation order."),
]


@router.get("", response_model=CasePageOut)
def list_cases(
    request: Request,
    auth: Auth,
    state: Annotated[list[State] | None, Query(max_length=20)] = None,
    type: Annotated[list[CaseType] | None, Query(max_length=10)] = None,
    reason: Annotated[list[Annotated[str, Text(40)]] | None, Query(max_length=20)] = None,
    shop: Annotated[Annotated[str, Text(40)] | None, Query()] = None,
    created_from: Moment | None = None,
    created_to: Moment | None = None,
    order_number: Annotated[Annotated[str, Text(64)] | None, Query()] = None,
    buyer_phone: Annotated[Annotated[str, Text(40)] | None, Query()] = None,
    buyer_name: Annotated[Annotated[str, Text(200)] | None, Query()] = None,
    sort: SortKey = "-created_at",
    cursor: Annotated[Annotated[str, Text(500)] | None, Query()] = None,
    limit: Annotated[int, QueryInt(1, 200), Query()] = 50,
) -> CasePageOut:
    """Cases the caller may see (a buyer: their own; a shop: its own; the platform:
    all), filtered and sorted, one page at a time (keyset cursor: stable under inserts)."""
    f = svc.CaseFilter(
        shop_code=shop,
        states=tuple(s.value for s in state or ()),
        types=tuple(t.value for t in type or ()),
        reasons=tuple(reason or ()),
        created_from=created_from,
        created_to=created_to,
        order_number=order_number,
        buyer_phone=buyer_phone,
        buyer_name=buyer_name,
    )
    after = _decode_after(cursor, sort) if cursor else None
    page = svc.list_cases(ctx_of(request), auth.actor, f, sort=sort, after=after, limit=limit)
    locale = locale_of(request)
    items = [
        CaseSummary(
            number=r.number,
            type=CaseType(r.type),
            state=State(r.state),
            state_label=gettext(STATE_LABELS[r.state], locale),
            shop=r.shop_code,
            order_number=r.order_number,
            buyer_name=r.buyer_name,
            first_reason=r.first_reason,
            reason=r.reason,
            requested=MoneyOut(amount=r.requested, currency=r.currency),
            agreed=_money(r.agreed, r.currency),
            created_at=r.created_at,
            updated_at=r.updated_at,
            deadline=DeadlineOut(kind=r.deadline_kind, due_at=r.deadline_at)
            if r.deadline_kind and r.deadline_at
            else None,
            version=r.version,
        )
        for r in page.rows
    ]
    nxt = encode_cursor([sort, *page.next_after]) if page.next_after else None
    return CasePageOut(items=items, next_cursor=nxt)


# --------------------------------------------------------------------------- read
@router.get("/{number}", response_model=CaseOut)
def get_case(number: CaseNumber, request: Request, auth: Auth) -> CaseOut:
    """The case, with the deadline running and the actions you may take now."""
    return _full(request, auth, number)


class EventOut(BaseModel):
    seq: int
    at: datetime
    actor_kind: str
    actor_id: str | None
    action: str
    action_label: str
    rule: str | None
    strategy: str | None
    from_state: State | None
    to_state: State
    changes: dict[str, Any]
    note: str | None


@router.get("/{number}/timeline", response_model=list[EventOut])
def timeline(number: CaseNumber, request: Request, auth: Auth) -> list[EventOut]:
    """Everything that happened to the case, oldest first: who, which rule, what changed."""
    view = svc.get_case(ctx_of(request), auth.actor, number)
    locale = locale_of(request)
    return [
        EventOut(
            seq=e.seq,
            at=e.at,
            actor_kind=e.actor_kind,
            actor_id=e.actor_id,
            action=e.action,
            action_label=gettext(ACTION_LABELS.get(e.action, e.action), locale),
            rule=e.rule,
            strategy=e.strategy,
            from_state=State(e.from_state) if e.from_state else None,
            to_state=State(e.to_state),
            changes=e.changes,
            note=e.note,
        )
        for e in view.timeline
    ]


# --------------------------------------------------------------------------- actions
class VersionOnly(BaseModel):
    expected_version: Version


class NoteIn(VersionOnly):
    note: Note


class ApproveRefundIn(NoteIn):
    amount: Amount | None = Field(default=None, description="Defaults to the requested amount")


class ApproveReturnIn(NoteIn):
    return_address: Annotated[str, FreeText(1000, blank=False)] | None = Field(
        default=None, description="Defaults to the shop's return address"
    )


class CounterOfferIn(NoteIn):
    amount: Amount
    return_required: Bool = False


class RejectIn(NoteIn):
    refusal_code: Annotated[str, Text(64, min_length=1)]
    evidence_ids: list[Annotated[int, Int(1, 2**31 - 1)]] = Field(
        default_factory=list,
        max_length=20,
        description=(
            "R5.5: ids of evidence items the shop added to this case "
            "(POST /cases/{number}/evidence), of the kinds the refusal code requires"
        ),
    )


class EditIn(VersionOnly):
    amount: Amount | None = None
    reason: Annotated[str, Text(40, min_length=1)] | None = None
    description: Annotated[str, FreeText(2000)] | None = None


class ShipIn(VersionOnly):
    carrier: Annotated[str, Text(16, min_length=1)]
    tracking_number: Annotated[str, Text(40, min_length=1)]


class ShipReturnIn(ShipIn):
    freight: Amount | None = Field(default=None, description="Return postage paid (R16.3)")


class RefundIn(NoteIn):
    amount: Amount | None = None


# Route -> (body model, service function). Each body's fields are the service's keyword
# arguments, so one call serves every action; the service docstring (with its rule) is the
# route's description.
ACTIONS: dict[str, tuple[type[BaseModel], Callable[..., object]]] = {
    "approve_refund": (ApproveRefundIn, svc.approve_refund),
    "approve_return": (ApproveReturnIn, svc.approve_return),
    "approve_reship": (NoteIn, svc.approve_reship),
    "counter_offer": (CounterOfferIn, svc.counter_offer),
    "reject": (RejectIn, svc.reject),
    "confirm_receipt": (NoteIn, svc.confirm_receipt),
    "refund": (RefundIn, svc.refund),
    "refuse_refund": (RejectIn, svc.refuse_refund),
    "ship_replacement": (ShipIn, svc.ship_replacement),
    "edit_request": (EditIn, svc.edit_request),
    "accept_offer": (VersionOnly, svc.accept_offer),
    "ship_return": (ShipReturnIn, svc.ship_return),
    "resubmit": (EditIn, svc.resubmit),
    "cancel": (NoteIn, svc.cancel),
    "confirm_replacement": (VersionOnly, svc.confirm_replacement),
    "request_intercept": (NoteIn, parcels.request_intercept),  # R16.2
}
PERSON_ACTIONS = frozenset(ACTIONS)


def _add_action_route(action: str, model: type[BaseModel], service: Callable[..., object]) -> None:
    def endpoint(
        number: CaseNumber,
        body: BaseModel,
        request: Request,
        auth: Auth,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        def run() -> CaseOut:
            kwargs = {name: getattr(body, name) for name in type(body).model_fields}
            case = service(ctx_of(request), auth.actor, number, **kwargs)
            assert isinstance(case, Case)
            return _moved(request, auth, case)

        return respond(request, auth, idempotency_key, body, run)

    summary = (service.__doc__ or action).strip()
    endpoint.__annotations__["body"] = model  # a real class, not a forward reference
    endpoint.__name__ = action
    endpoint.__doc__ = summary
    router.add_api_route(
        f"/{{number}}/{route_name(action)}",
        endpoint,
        methods=["POST"],
        response_model=CaseOut,
        name=action,
        summary=gettext(ACTION_LABELS.get(action, action), "en"),
        description=summary,
    )


for _action, (_model, _service) in ACTIONS.items():
    _add_action_route(_action, _model, _service)
