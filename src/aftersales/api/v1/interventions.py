"""Platform intervention (R9), rulings (R10.4, R11), appeals (R12), dispute flags (R9.2)
and the agent queue (docs/arbitration.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Body, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, PlainValidator

from aftersales.api.common import Bool, FreeText, Int, QueryBool, QueryInt, Text
from aftersales.api.common import router as _router
from aftersales.api.deps import Auth, Ctx, IdempotencyKey, respond
from aftersales.api.v1.cases import MoneyOut
from aftersales.api.views import list_model, view_model
from aftersales.domain.intervention import Grounds
from aftersales.domain.money import Money
from aftersales.domain.policy import FreightPayer, Liability, Remedy
from aftersales.services import interventions as svc
from aftersales.services import queue as queue_svc

router = _router("", "arbitration")

MAX_ID = 2**31 - 1
CaseNumber = Annotated[str, Text(32, min_length=1, pattern=r"^[A-Za-z0-9]+$"), Path()]
Statement = Annotated[str, FreeText(svc.MAX_TEXT, min_length=1, blank=False)]
Version = Annotated[
    Annotated[int, Int(1, MAX_ID)] | None,
    Field(
        default=None, description="The version you read; a stale one gets 409 and changes nothing"
    ),
]
Amount = Annotated[int, Int(1, 10**13), Field(description="Minor units of the case currency")]


# --------------------------------------------------------------------------- models
class EscalateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    statement: Statement = Field(description="What the party asks the platform to decide")
    expected_version: Version = Field(None, description="The case version you read")


class ResponseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    response: Statement
    expected_version: Version = Field(None, description="The intervention version you read")


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    settlement: Statement = Field(description="R9.4: what the buyer and the merchant agreed")
    expected_version: Version = Field(None, description="The case version you read")


class Empty(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RulingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reasons: Statement = Field(description="R10.5: the reasons told to both parties")
    accept: Bool = Field(True, description="Accept the recommendation as it stands")
    liability: Liability | None = None
    remedy: Remedy | None = None
    freight_payer: FreightPayer | None = None
    return_risk: Liability | None = None
    amount: Amount | None = Field(
        None, description="A partial refund's amount (other remedies: leave it out)"
    )
    override_reason: Annotated[str, FreeText(svc.MAX_TEXT)] = Field(
        "", description="R10.5: required when not accepting"
    )
    expected_version: Version = Field(None, description="The case version you read")


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grounds: Grounds
    statement: Annotated[str, FreeText(svc.MAX_TEXT)] = ""
    evidence: list[Annotated[int, Int(1, MAX_ID)]] = Field(
        default_factory=list,
        max_length=50,
        description="Your evidence items on the case, added after the ruling",
    )
    expected_version: Version = Field(None, description="The case version you read")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["uphold", "dismiss"]
    note: Statement
    expected_version: Version = Field(None, description="The appeal version you read")


class OrderFlagIn(BaseModel):
    """A flag on an order (legal proceedings are recorded on a case)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["off_platform", "invalid_transaction", "not_actual_consumer"]
    note: Statement
    order_number: Annotated[str, Text(64, min_length=1)]


class CaseFlagIn(BaseModel):
    """A flag on a case (legal proceedings also end its open intervention)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["off_platform", "invalid_transaction", "not_actual_consumer", "legal_proceedings"]
    note: Statement
    case_number: Annotated[str, Text(32, min_length=1)]


def _one_flag(value: Any) -> OrderFlagIn | CaseFlagIn:
    """A body naming `case_number` is a case flag, any other an order flag: the errors are
    those of that one shape, naming its fields (`body.note`)."""
    shape = CaseFlagIn if isinstance(value, dict) and "case_number" in value else OrderFlagIn
    return shape.model_validate(value)


# R9.2: exactly one of an order or a case (the schema says so: each shape forbids the other
# field), so a schema-valid body is never refused for naming both or neither.
FlagIn = Annotated[
    OrderFlagIn | CaseFlagIn,
    PlainValidator(_one_flag, json_schema_input_type=OrderFlagIn | CaseFlagIn),
    Body(),
]


class FlagOut(BaseModel):
    id: int


SlotOut = view_model(
    svc.TemplateSlot,
    "SlotOut",
    describe={"kinds": "Any one of these fills the slot"},
    module=__name__,
)
TemplateOut = view_model(
    svc.EvidenceTemplateView, "TemplateOut", models={svc.TemplateSlot: SlotOut}, module=__name__
)
RulingOut = view_model(
    svc.RulingView,
    "RulingOut",
    describe={
        "agent": "Shown to the platform only (empty for the parties)",
        "recommendation": "Platform callers only",
    },
    models={Money: MoneyOut},
    module=__name__,
)
AppealOut = view_model(
    svc.AppealView,
    "AppealOut",
    describe={
        "refunded_entry": "The first of refunded_entries",
        "refunded_entries": "R12.1: ledger entries returning the pay-first deduction to the "
        "deposit and the settlement balance it was taken from",
    },
    module=__name__,
)
InterventionOut = view_model(
    svc.InterventionView,
    "InterventionOut",
    models={
        svc.EvidenceTemplateView: TemplateOut,
        svc.RulingView: RulingOut,
        svc.AppealView: AppealOut,
    },
    module=__name__,
)
QueueItemOut = view_model(queue_svc.QueueItem, "QueueItemOut", module=__name__)
QueueOut = list_model("QueueOut", QueueItemOut, module=__name__)


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_account_id: Annotated[int, Int(1, MAX_ID)] | None = Field(
        None, description="Admins only: hand the item to this agent (default: yourself)"
    )
    release: Bool = Field(False, description="Give the item back to the queue")


# --------------------------------------------------------------------------- R9
@router.post("/cases/{number}/intervention", status_code=201, response_model=InterventionOut)
def escalate(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    number: CaseNumber,
    body: EscalateIn,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R9.1/R9.2: the buyer (after a refusal or a counter-offer) or the merchant asks the
    platform to step in; refused, naming the R9.2 reason, when the platform does not take
    it."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: InterventionOut.model_validate(
            svc.escalate(
                ctx,
                auth.actor,
                number,
                statement=body.statement,
                expected_version=body.expected_version,
            )
        ),
        status=201,
    )


@router.get("/cases/{number}/intervention", response_model=InterventionOut)
def get_intervention(ctx: Ctx, auth: Auth, number: CaseNumber) -> BaseModel:
    """R9.3: the current round, its deadlines, the evidence template for your side (both
    for the platform), rulings and appeals."""
    return InterventionOut.model_validate(svc.get_intervention(ctx, auth.actor, number))


@router.post("/cases/{number}/intervention/response", response_model=InterventionOut)
def respond_to_intervention(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    number: CaseNumber,
    body: ResponseIn,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R9.3: the merchant's response, once; after its deadline the merchant counts as
    silent."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: InterventionOut.model_validate(
            svc.respond(
                ctx,
                auth.actor,
                number,
                response=body.response,
                expected_version=body.expected_version,
            )
        ),
    )


@router.post("/cases/{number}/intervention/urgent", response_model=InterventionOut)
def mark_urgent(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    number: CaseNumber,
    body: Empty,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R9.3: the platform marks the intervention urgent (the merchant's shorter deadline)."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: InterventionOut.model_validate(svc.mark_urgent(ctx, auth.actor, number)),
    )


@router.post("/cases/{number}/intervention/withdrawal", response_model=InterventionOut)
def withdraw(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    number: CaseNumber,
    body: WithdrawIn,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R9.4: the buyer withdraws after settling with the merchant; no effect on the shop."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: InterventionOut.model_validate(
            svc.withdraw(
                ctx,
                auth.actor,
                number,
                settlement=body.settlement,
                expected_version=body.expected_version,
            )
        ),
    )


@router.post("/dispute-flags", status_code=201, response_model=FlagOut)
def flag(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    body: FlagIn,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R9.2: the platform records a fact that keeps a dispute out of intervention (legal
    proceedings on a case also end its open intervention)."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: FlagOut(
            id=svc.flag(
                ctx,
                auth.actor,
                kind=body.kind,
                note=body.note,
                order_number=body.order_number if isinstance(body, OrderFlagIn) else None,
                case_number=body.case_number if isinstance(body, CaseFlagIn) else None,
            )
        ),
        status=201,
    )


# --------------------------------------------------------------------------- R10, R11
@router.post("/cases/{number}/ruling", response_model=InterventionOut)
def rule(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    number: CaseNumber,
    body: RulingIn,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R10.4/R10.5/R11.1: an agent rules, accepting the recommendation or overriding it
    with a written reason; the case moves to execution, the return, or closes."""
    ruling = svc.RulingInput(
        reasons=body.reasons,
        accept=body.accept,
        liability=body.liability,
        remedy=body.remedy,
        freight_payer=body.freight_payer,
        return_risk=body.return_risk,
        amount=body.amount,
        override_reason=body.override_reason,
    )
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: InterventionOut.model_validate(
            svc.rule(ctx, auth.actor, number, ruling, expected_version=body.expected_version)
        ),
    )


# --------------------------------------------------------------------------- R12
@router.post("/cases/{number}/appeals", status_code=201, response_model=AppealOut)
def appeal(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    number: CaseNumber,
    body: AppealIn,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R12.1/R12.2: appeal the latest ruling against you (the merchant: within its working
    days, with new evidence or a claimed misjudgment; a buyer: where buyers appeal)."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: AppealOut.model_validate(
            svc.appeal(
                ctx,
                auth.actor,
                number,
                grounds=body.grounds.value,
                statement=body.statement,
                evidence=list(body.evidence),
                expected_version=body.expected_version,
            )
        ),
        status=201,
    )


@router.post("/appeals/{appeal_id}/decision", response_model=AppealOut)
def decide_appeal(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    appeal_id: Annotated[int, QueryInt(1, MAX_ID), Path()],
    body: DecisionIn,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R12.1: another agent than the one who ruled upholds or dismisses a merchant's
    appeal; upheld returns any pay-first deduction to the shop."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: AppealOut.model_validate(
            svc.decide_appeal(
                ctx,
                auth.actor,
                appeal_id,
                uphold=body.decision == "uphold",
                note=body.note,
                expected_version=body.expected_version,
            )
        ),
    )


# --------------------------------------------------------------------------- the queue
@router.get("/queue", response_model=QueueOut)
def agent_queue(
    ctx: Ctx,
    auth: Auth,
    mine: Annotated[QueryBool, Query()] = False,
    unassigned: Annotated[QueryBool, Query()] = False,
    kind: Annotated[queue_svc.ItemKind | None, Query()] = None,
    limit: Annotated[int, QueryInt(1, 1000), Query()] = 200,
) -> BaseModel:
    """What waits for an agent, soonest deadline first, with who has taken it."""
    items = queue_svc.agent_queue(
        ctx, auth.actor, mine=mine, unassigned=unassigned, kind=kind, limit=limit
    )
    return QueueOut(items=items)


@router.post("/queue/{kind}/{item_id}/assignment", response_model=QueueItemOut)
def assign(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    kind: queue_svc.ItemKind,
    item_id: Annotated[int, QueryInt(1, MAX_ID), Path()],
    body: AssignIn,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """An agent takes an item (or releases it); an admin may hand it to another agent."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: QueueItemOut.model_validate(
            queue_svc.assign(
                ctx,
                auth.actor,
                kind,
                item_id,
                to_account=body.agent_account_id,
                release=body.release,
            )
        ),
    )
