"""Automation (docs/automation.md): strategies 售后小助手 (R6) and service hours, the dry
run, express refund (R7), and warehouse receipts (the API and the signed inbound
endpoint)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aftersales.api.common import (
    LINE_CHAR,
    Bool,
    FreeText,
    Int,
    Moment,
    QueryInt,
    Text,
    load_json,
)
from aftersales.api.common import router as make_router
from aftersales.api.deps import Auth, IdempotencyKey, ctx_of, respond
from aftersales.api.problems import locale_of
from aftersales.domain.automation import (
    KIND_LABELS,
    Conditions,
    ServiceHours,
    StrategyKind,
    Trigger,
    Verdict,
)
from aftersales.domain.express_refund import CONDITION_LABELS
from aftersales.i18n import gettext
from aftersales.services import automation as svc
from aftersales.services import express_refund as express
from aftersales.services import warehouse

router = make_router("", "automation")

ShopCode = Annotated[str, Text(40, min_length=1), Path()]
CaseNumber = Annotated[str, Text(32, min_length=1), Path()]
StrategyId = Annotated[int, QueryInt(1, 2**31 - 1), Path()]
Amount = Annotated[int, Int(0, 10**13), Field(description="Minor units (fen, cents)")]
TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


# --------------------------------------------------------------------------- models
class ConditionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reasons: list[Annotated[str, Text(40)]] = Field(
        default_factory=list, max_length=50, description="Empty: every reason (R6.1)"
    )
    min_amount: Amount | None = Field(None, description="Inclusive")
    max_amount: Amount | None = Field(None, description="Inclusive")
    skus: list[Annotated[str, Text(80, min_length=1)]] = Field(
        default_factory=list, max_length=200, description="Empty: every product"
    )
    max_days_since_signing: Annotated[int, Int(0, 3650)] | None = None

    def domain(self) -> Conditions:
        return Conditions(
            tuple(self.reasons),
            self.min_amount,
            self.max_amount,
            tuple(self.skus),
            self.max_days_since_signing,
        )


class ConditionsOut(BaseModel):
    reasons: list[str]
    min_amount: int | None
    max_amount: int | None
    skus: list[str]
    max_days_since_signing: int | None


class StrategyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: StrategyKind
    name: Annotated[str, Text(svc.NAME_MAX, min_length=1, blank=False)]
    enabled: Bool = True
    priority: Annotated[int, Int(0, 10_000)] = Field(100, description="Lower acts first")
    conditions: ConditionsIn = Field(default_factory=ConditionsIn)


class StrategyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Text(svc.NAME_MAX, min_length=1, blank=False)] | None = None
    enabled: Bool | None = None
    priority: Annotated[int, Int(0, 10_000)] | None = None
    conditions: ConditionsIn | None = None
    expected_version: Annotated[int, Int(1, 2**31 - 1)] | None = None


class StrategyOut(BaseModel):
    id: int
    kind: StrategyKind
    kind_label: str
    name: str
    enabled: bool
    priority: int
    conditions: ConditionsOut
    version: int
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None


class ServiceHoursModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: list[Annotated[int, Int(1, 7)]] = Field(
        min_length=1,
        max_length=7,
        json_schema_extra={"uniqueItems": True},
        description="ISO weekdays, 1 = Monday, each once",
    )
    start: Annotated[str, Text(5, pattern=TIME_PATTERN)] = Field(examples=["09:00"])
    end: Annotated[str, Text(5, pattern=TIME_PATTERN)] = Field(
        examples=["18:00"], description="Exclusive"
    )


class ServiceHoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_hours: ServiceHoursModel | None = Field(
        description="In the shop's time zone; end exclusive; null: none (R6.4)"
    )


class SettingsOut(BaseModel):
    shop: str
    timezone: str
    service_hours: ServiceHoursModel | None
    strategies: list[StrategyOut]


class CheckOut(BaseModel):
    name: str
    held: bool
    rule: str
    label: str | None = None
    detail: dict[str, Any]


class VerdictOut(BaseModel):
    strategy_id: int
    name: str
    kind: StrategyKind
    priority: int
    enabled: bool
    would_act: bool
    actions: list[str]
    checks: list[CheckOut]


class PreviewOut(BaseModel):
    case_number: str
    trigger: Trigger
    regional_rule: str | None = Field(description="R8.2: the platform refunds first")
    acting_strategy_id: int | None
    verdicts: list[VerdictOut]


class ExpressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: Bool


class SwitchOut(BaseModel):
    enabled: bool
    at: datetime


class ExpressOut(BaseModel):
    shop: str
    enabled: bool
    since: datetime | None
    locked_until: datetime | None = Field(description="R7.3: it cannot be switched off before")
    history: list[SwitchOut]


class ExpressCheckOut(BaseModel):
    at: datetime
    eligible: bool
    conditions: list[CheckOut]
    advance_entry_id: int | None


class ReceiptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_number: Annotated[str, Text(32, min_length=1)]
    external_id: Annotated[str, Text(80, min_length=1)] = Field(description="The warehouse's id")
    result: warehouse.Result
    received_at: Moment
    inspected_at: Moment
    note: Annotated[str, FreeText(warehouse.NOTE_MAX)] = ""
    photos: list[
        Annotated[str, Text(warehouse.PHOTO_URL_MAX, pattern=rf"^https?://{LINE_CHAR}*$")]
    ] = Field(default_factory=list, max_length=warehouse.MAX_PHOTOS)


class InspectionOut(BaseModel):
    id: int
    case_number: str
    external_id: str
    result: warehouse.Result
    note: str
    photos: list[str]
    received_at: datetime
    inspected_at: datetime
    reported_at: datetime
    reported_by: str
    applied_action: str | None = Field(description="What the automation did (refund)")
    case_state: str
    replayed: bool


class InspectionList(BaseModel):
    items: list[InspectionOut]


class SecretOut(BaseModel):
    shop: str
    secret: str = Field(description="`whsec_...`: shown once; the previous one stops working")


# --------------------------------------------------------------------------- converters
def _conditions(c: Conditions) -> ConditionsOut:
    return ConditionsOut(**c.to_json())


def _strategy(v: svc.StrategyView, locale: str) -> StrategyOut:
    return StrategyOut(
        id=v.id,
        kind=v.kind,
        kind_label=gettext(KIND_LABELS[v.kind], locale),
        name=v.name,
        enabled=v.enabled,
        priority=v.priority,
        conditions=_conditions(v.conditions),
        version=v.version,
        created_at=v.created_at,
        updated_at=v.updated_at,
        archived_at=v.archived_at,
    )


def _hours(h: ServiceHours | None) -> ServiceHoursModel | None:
    return ServiceHoursModel(**h.to_json()) if h else None


def _settings(v: svc.AutomationSettings, locale: str) -> SettingsOut:
    return SettingsOut(
        shop=v.shop_code,
        timezone=v.timezone,
        service_hours=_hours(v.service_hours),
        strategies=[_strategy(s, locale) for s in v.strategies],
    )


def _check(c: dict[str, Any], locale: str) -> CheckOut:
    label = CONDITION_LABELS.get(c["name"])
    return CheckOut(
        name=c["name"],
        held=c["held"],
        rule=c["rule"],
        label=gettext(label, locale) if label else None,
        detail=c.get("detail", {}),
    )


def _verdict(v: Verdict, locale: str) -> VerdictOut:
    return VerdictOut(
        strategy_id=v.strategy.id,
        name=v.strategy.name,
        kind=v.strategy.kind,
        priority=v.strategy.priority,
        enabled=v.strategy.enabled,
        would_act=v.matched,
        actions=[a.value for a in v.actions],
        checks=[_check(c.to_json(), locale) for c in v.checks],
    )


def _express(v: express.ExpressStatus) -> ExpressOut:
    return ExpressOut(
        shop=v.shop_code,
        enabled=v.enabled,
        since=v.since,
        locked_until=v.locked_until,
        history=[SwitchOut(enabled=s.enabled, at=s.at) for s in v.history],
    )


def _inspection(v: warehouse.InspectionView) -> InspectionOut:
    return InspectionOut(
        id=v.id,
        case_number=v.case_number,
        external_id=v.external_id,
        result=v.result,
        note=v.note,
        photos=v.photos,
        received_at=v.received_at,
        inspected_at=v.inspected_at,
        reported_at=v.reported_at,
        reported_by=v.reported_by,
        applied_action=v.applied_action,
        case_state=v.case_state.value,
        replayed=v.replayed,
    )


# --------------------------------------------------------------------------- strategies
@router.get("/shops/{code}/automation", response_model=SettingsOut)
def get_settings(code: ShopCode, request: Request, auth: Auth) -> SettingsOut:
    """The shop's strategies in priority order and its service hours (R6)."""
    return _settings(svc.settings(ctx_of(request), auth.actor, code), locale_of(request))


@router.post("/shops/{code}/service-hours", response_model=SettingsOut)
def set_service_hours(
    code: ShopCode,
    body: ServiceHoursIn,
    request: Request,
    auth: Auth,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R6.4: set (or clear) the shop's service hours. Main account, a sub-account with
    `configure_strategies` (R1.2), or an admin."""
    h = body.service_hours
    locale = locale_of(request)
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: _settings(
            svc.set_service_hours(
                ctx_of(request),
                auth.actor,
                code,
                h.model_dump() if h else None,
            ),
            locale,
        ),
    )


@router.post("/shops/{code}/strategies", response_model=StrategyOut, status_code=201)
def create_strategy(
    code: ShopCode,
    body: StrategyIn,
    request: Request,
    auth: Auth,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R6: add a strategy. Main account, a sub-account with `configure_strategies`
    (R1.2), or an admin."""
    locale = locale_of(request)
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: _strategy(
            svc.create_strategy(
                ctx_of(request),
                auth.actor,
                code,
                kind=body.kind,
                name=body.name,
                enabled=body.enabled,
                priority=body.priority,
                conditions=body.conditions.domain(),
            ),
            locale,
        ),
        status=201,
    )


@router.patch("/shops/{code}/strategies/{strategy_id}", response_model=StrategyOut)
def update_strategy(
    code: ShopCode, strategy_id: StrategyId, body: StrategyPatch, request: Request, auth: Auth
) -> StrategyOut:
    """R6: switch on/off, reorder, rename or change the conditions (`expected_version`:
    409 when the strategy changed since it was read)."""
    return _strategy(
        svc.update_strategy(
            ctx_of(request),
            auth.actor,
            code,
            strategy_id,
            name=body.name,
            enabled=body.enabled,
            priority=body.priority,
            conditions=body.conditions.domain() if body.conditions else None,
            expected_version=body.expected_version,
        ),
        locale_of(request),
    )


@router.post("/shops/{code}/strategies/{strategy_id}/archive", response_model=StrategyOut)
def archive_strategy(
    code: ShopCode,
    strategy_id: StrategyId,
    request: Request,
    auth: Auth,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Stop using a strategy; it stays on record (timelines name it)."""
    locale = locale_of(request)
    return respond(
        request,
        auth,
        idempotency_key,
        None,
        lambda: _strategy(
            svc.archive_strategy(ctx_of(request), auth.actor, code, strategy_id), locale
        ),
    )


@router.get("/cases/{number}/automation-preview", response_model=PreviewOut)
def preview(
    number: CaseNumber,
    request: Request,
    auth: Auth,
    trigger: Annotated[Trigger | None, Query()] = None,
) -> PreviewOut:
    """The dry run: which strategy would act on this case now, and every condition of
    every strategy with whether it held. Changes nothing."""
    p = svc.preview(ctx_of(request), auth.actor, number, trigger)
    locale = locale_of(request)
    return PreviewOut(
        case_number=p.case_number,
        trigger=p.trigger,
        regional_rule=p.regional_rule,
        acting_strategy_id=p.acting.strategy.id if p.acting else None,
        verdicts=[_verdict(v, locale) for v in p.verdicts],
    )


# --------------------------------------------------------------------------- express refund
@router.get("/shops/{code}/express-refund", response_model=ExpressOut)
def get_express(code: ShopCode, request: Request, auth: Auth) -> ExpressOut:
    """R7: whether the shop offers express refund, since when, the lock, the history."""
    return _express(express.status(ctx_of(request), auth.actor, code))


@router.post("/shops/{code}/express-refund", response_model=ExpressOut)
def switch_express(
    code: ShopCode,
    body: ExpressIn,
    request: Request,
    auth: Auth,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R7.3: on at once (then locked on for the profile's hours); off at once, except
    inside the lock (409 naming R7.3)."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: _express(express.switch(ctx_of(request), auth.actor, code, enabled=body.enabled)),
    )


@router.get("/cases/{number}/express-refund", response_model=ExpressCheckOut | None)
def express_check(number: CaseNumber, request: Request, auth: Auth) -> ExpressCheckOut | None:
    """R7.1: the case's last express refund check, each condition and whether it held
    (null: none was made)."""
    v = express.latest_check(ctx_of(request), auth.actor, number)
    if v is None:
        return None
    locale = locale_of(request)
    return ExpressCheckOut(
        at=v.at,
        eligible=v.eligible,
        conditions=[_check(c, locale) for c in v.conditions],
        advance_entry_id=v.advance_entry_id,
    )


# --------------------------------------------------------------------------- warehouse
def _receipt(body: ReceiptIn) -> warehouse.Receipt:
    return warehouse.Receipt(
        body.case_number,
        body.external_id,
        body.result,
        body.received_at,
        body.inspected_at,
        body.note,
        tuple(body.photos),
    )


def _inbound_parser(content_type: str | None) -> Callable[[bytes], warehouse.Receipt]:
    """Reads a signed body as `POST /warehouse/receipts` reads its body (`ReceiptIn`)."""

    def parse(raw: bytes) -> warehouse.Receipt:
        try:
            return _receipt(ReceiptIn.model_validate(load_json(raw, content_type)))
        except ValidationError as exc:
            errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
            raise RequestValidationError(errors) from None

    return parse


@router.post("/warehouse/receipts", response_model=InspectionOut, status_code=201)
def report_receipt(
    body: ReceiptIn, request: Request, auth: Auth, idempotency_key: IdempotencyKey = None
) -> Response:
    """A shop's warehouse (a shop account's token with `cases:write`) reports a return
    received and inspected. A pass starts `warehouse_receipt_auto_refund` (R6.3). The
    same `external_id` again changes nothing (`replayed`)."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: _inspection(warehouse.report(ctx_of(request), auth.actor, _receipt(body))),
        status=201,
    )


@router.get("/cases/{number}/inspections", response_model=InspectionList)
def list_inspections(number: CaseNumber, request: Request, auth: Auth) -> InspectionList:
    """The warehouse's reports on the case."""
    items = warehouse.inspections(ctx_of(request), auth.actor, number)
    return InspectionList(items=[_inspection(v) for v in items])


@router.post("/shops/{code}/warehouse-secret", response_model=SecretOut)
def rotate_warehouse_secret(
    code: ShopCode, request: Request, auth: Auth, idempotency_key: IdempotencyKey = None
) -> Response:
    """A new secret for the shop's signed inbound endpoint (shown once)."""
    return respond(
        request,
        auth,
        idempotency_key,
        None,
        lambda: SecretOut(
            shop=code, secret=warehouse.rotate_secret(ctx_of(request), auth.actor, code)
        ),
    )


@router.post(
    "/inbound/warehouse/{code}",
    response_model=InspectionOut,
    status_code=201,
    openapi_extra={
        "security": [],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReceiptIn"}}},
        },
    },
)
async def inbound_receipt(code: ShopCode, request: Request) -> Response:
    """The signed inbound endpoint for warehouses that send webhooks: the body of
    `POST /warehouse/receipts`, signed with the shop's warehouse secret by the Standard
    Webhooks scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature`). Unsigned,
    mis-signed or older than 5 minutes: 401, nothing recorded."""
    raw = await request.body()
    ctx = ctx_of(request)
    view = await run_in_threadpool(
        warehouse.report_signed,
        ctx,
        code,
        dict(request.headers),
        raw,
        _inbound_parser(request.headers.get("content-type")),
    )
    return Response(
        InspectionOut.model_validate(_inspection(view)).model_dump_json(),
        status_code=201,
        media_type="application/json",
    )
