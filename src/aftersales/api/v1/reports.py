"""Reports (R15): force-majeure reports (报备中心) and malicious-buyer reports (举报中心),
filed by a shop and reviewed once by a platform agent (docs/arbitration.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from aftersales.api.common import Day, FreeText, Int, QueryInt, Text
from aftersales.api.common import router as _router
from aftersales.api.deps import Auth, Ctx, IdempotencyKey, respond
from aftersales.api.views import list_model, view_model
from aftersales.services import reports as svc

router = _router("/reports", "reports")

MAX_ID = 2**31 - 1
ReportId = Annotated[int, QueryInt(1, MAX_ID), Path(description="The report's id")]
ShopCode = Annotated[str, Text(40, min_length=1), Field(description="Shop code")]
Region = Annotated[
    str,
    Text(svc.REGION_MAX, min_length=1, pattern=svc.REGION_PATTERN),
    Field(description="A region code or name (compared ignoring case)"),
]
CaseNumber = Annotated[str, Text(32, min_length=1)]
EvidenceId = Annotated[int, Int(1, MAX_ID)]
Statement = Annotated[str, FreeText(svc.DESCRIPTION_MAX, min_length=1, blank=False)]
Note = Annotated[str, FreeText(svc.NOTE_MAX)]
Limit = Annotated[int, QueryInt(1, svc.MAX_PAGE), Query()]


# --------------------------------------------------------------------------- models
class ForceMajeureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shop: ShopCode
    kind: svc.EventKind
    regions: list[Region] = Field(
        min_length=1,
        max_length=svc.MAX_REGIONS,
        description="Affected regions (the profile may allow fewer: reports.force_majeure_"
        "max_regions)",
    )
    starts_on: Day = Field(description="First day, in the shop's time zone (inclusive)")
    ends_on: Day = Field(description="Last day, in the shop's time zone (inclusive)")
    description: Statement


ForceMajeureOut = view_model(
    svc.ForceMajeureView, "ForceMajeureOut", rename={"shop_code": "shop"}, module=__name__
)
ForceMajeureList = list_model("ForceMajeureList", ForceMajeureOut, module=__name__)


class ForceMajeureReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    note: Note = ""


class BuyerReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shop: ShopCode
    buyer: Annotated[str, Text(80, min_length=1)] | None = Field(
        None, description="The marketplace's buyer id; or omit it and name `case_numbers`"
    )
    case_numbers: list[CaseNumber] = Field(
        default_factory=list,
        max_length=svc.MAX_EVIDENCE,
        description="The buyer's cases at the shop (the first names the buyer when "
        "`buyer` is omitted)",
    )
    evidence_ids: list[EvidenceId] = Field(
        default_factory=list,
        max_length=svc.MAX_EVIDENCE,
        description="Evidence items on the buyer's cases at the shop",
    )
    reason: Statement


BuyerReportOut = view_model(
    svc.BuyerReportView,
    "BuyerReportOut",
    rename={"shop_code": "shop", "buyer_ref": "buyer"},
    describe={"rejected_cases": "R15.2: the requests the confirmation rejected"},
    module=__name__,
)
BuyerReportList = list_model("BuyerReportList", BuyerReportOut, module=__name__)


class BuyerReportReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["confirm", "reject"]
    note: Note = ""


# --------------------------------------------------------------------------- R15.1
@router.post("/force-majeure", status_code=201, response_model=ForceMajeureOut)
def file_force_majeure(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    body: ForceMajeureIn,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R15.1: the shop reports an event; an agent reviews it."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: ForceMajeureOut.model_validate(
            svc.file_force_majeure(
                ctx,
                auth.actor,
                body.shop,
                kind=body.kind,
                regions=body.regions,
                starts_on=body.starts_on,
                ends_on=body.ends_on,
                description=body.description,
            )
        ),
        status=201,
    )


@router.get("/force-majeure", response_model=ForceMajeureList)
def list_force_majeure(
    ctx: Ctx,
    auth: Auth,
    shop: Annotated[Annotated[str, Text(40, min_length=1)] | None, Query()] = None,
    status: Annotated[svc.FmStatus | None, Query()] = None,
    limit: Limit = 50,
) -> BaseModel:
    """A shop's own reports; platform agents and admins see every shop's (newest first)."""
    views = svc.list_force_majeure(ctx, auth.actor, shop_code=shop, status=status, limit=limit)
    return ForceMajeureList(items=views)


@router.post("/force-majeure/{report_id}/review", response_model=ForceMajeureOut)
def review_force_majeure(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    report_id: ReportId,
    body: ForceMajeureReviewIn,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R15.1: a platform agent approves or rejects the report, once (again: 409)."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: ForceMajeureOut.model_validate(
            svc.review_force_majeure(
                ctx, auth.actor, report_id, approve=body.decision == "approve", note=body.note
            )
        ),
    )


# --------------------------------------------------------------------------- R15.2
@router.post("/buyers", status_code=201, response_model=BuyerReportOut)
def file_buyer_report(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    body: BuyerReportIn,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R15.2: the shop reports a buyer it sold to, with evidence; an agent reviews it."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: BuyerReportOut.model_validate(
            svc.file_buyer_report(
                ctx,
                auth.actor,
                body.shop,
                reason=body.reason,
                buyer_ref=body.buyer,
                case_numbers=body.case_numbers,
                evidence_ids=body.evidence_ids,
            )
        ),
        status=201,
    )


@router.get("/buyers", response_model=BuyerReportList)
def list_buyer_reports(
    ctx: Ctx,
    auth: Auth,
    shop: Annotated[Annotated[str, Text(40, min_length=1)] | None, Query()] = None,
    status: Annotated[svc.BuyerReportStatus | None, Query()] = None,
    limit: Limit = 50,
) -> BaseModel:
    """A shop's own reports; platform agents and admins see every shop's (newest first)."""
    views = svc.list_buyer_reports(ctx, auth.actor, shop_code=shop, status=status, limit=limit)
    return BuyerReportList(items=views)


@router.post("/buyers/{report_id}/review", response_model=BuyerReportOut)
def review_buyer_report(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    report_id: ReportId,
    body: BuyerReportReviewIn,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R15.2: a platform agent confirms (the buyer's risk rises; matching pending requests
    are rejected) or rejects the report, once (again: 409)."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: BuyerReportOut.model_validate(
            svc.review_buyer_report(
                ctx, auth.actor, report_id, confirm=body.decision == "confirm", note=body.note
            )
        ),
    )
