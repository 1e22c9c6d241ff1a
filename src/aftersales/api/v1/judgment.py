"""The judgment (R10) on a case, for platform agents and admins: the recommended ruling
with every factor that decided it in the caller's language, and the agents' assessment
of evidence items (R9.3) that the recommendation reads. See docs/arbitration.md."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from aftersales.api.common import Bool, FreeText, QueryInt, Text
from aftersales.api.common import router as make_router
from aftersales.api.deps import Auth, IdempotencyKey, ctx_of, respond
from aftersales.api.problems import locale_of
from aftersales.domain import judgment as J
from aftersales.domain.case_types import CaseType
from aftersales.domain.policy import (
    EvidenceKind,
    FreightPayer,
    Issue,
    Judgment,
    Liability,
    Party,
    Remedy,
    RiskLevel,
    Side,
)
from aftersales.domain.reasons import ReasonGroup
from aftersales.i18n import gettext
from aftersales.services import judgment as svc

router = make_router("/cases", "judgment")

CaseNumber = Annotated[str, Text(32, min_length=1, pattern=r"^[A-Za-z0-9]+$"), Path()]
EvidenceId = Annotated[int, QueryInt(1, 2**31 - 1), Path(description="The evidence item's id")]


# --------------------------------------------------------------------------- models
class MoneyOut(BaseModel):
    amount: int
    currency: str


class DecisionOut(BaseModel):
    liability: Liability
    liability_label: str
    remedy: Remedy
    remedy_label: str
    freight_payer: FreightPayer
    freight_payer_label: str
    return_risk: Liability = Field(description="R10.4: who bears the return shipment's risk")
    return_risk_label: str


class FactorOut(BaseModel):
    kind: J.FactorKind
    ref: str = Field(description="A rule id, an evidence id (E<id>) or a signal name")
    label: str | None = Field(description="The rule's label (rules only)")
    clause: str = Field(description="The rulebook clause")
    toward: Side
    weight: float
    message: str = Field(description="The English message id")
    params: dict[str, str | int | float]
    text: str = Field(description="Why, in the caller's language")


class SupportsOut(BaseModel):
    buyer: float
    merchant: float


class FactsOut(BaseModel):
    case_type: CaseType
    reason_code: str
    reason_group: ReasonGroup
    issue: Issue = Field(description="The claim weighed (the reason code's, or `issue`)")
    issue_label: str
    requested: MoneyOut
    reported_at: datetime
    signed_at: datetime | None
    days_after_signing: int | None
    in_window: bool = Field(description="R4: inside its window when opened")
    shipped_late: bool
    intercept_missed: bool = Field(description="R16.2")
    parcel_lost: bool
    merchant_responded: bool = Field(description="R9.3: before its deadline")
    shipping_insurance: bool = Field(description="R16.3")


class EvidenceFactOut(BaseModel):
    id: str = Field(description="E<evidence id>")
    party: Party
    kind: EvidenceKind
    supports: Side
    claim: Issue | None
    first_submission: bool
    relevant: bool
    credible: bool
    in_time: bool


class SignalsOut(BaseModel):
    positive_review_rate: float | None
    shop_complaints: int = Field(description="Merchant-liable rulings, last 30 days")
    shop_orders: int = Field(description="Orders paid, last 30 days")
    buyer_risk: RiskLevel
    force_majeure_approved: bool


class RecommendationOut(BaseModel):
    case_number: str
    profile: str
    profile_version: int
    computed_at: datetime
    in_intervention: bool = Field(
        description="The latest intervention round's response and evidence deadlines applied"
    )
    decision: DecisionOut
    buyer_succeeds: bool
    decided_for: Side
    basis: str = Field(description="rule | buyer_evidence | merchant_evidence | insufficient")
    basis_label: str
    confidence: float = Field(ge=0, le=1)
    supports: SupportsOut
    balance: float = Field(description="Toward the buyer (negative: the merchant)")
    factors: list[FactorOut] = Field(description="R10.5: what decided it, the winner's first")
    ignored: list[FactorOut] = Field(description="R9.3: evidence set aside, and why")
    facts: FactsOut
    evidence: list[EvidenceFactOut]
    signals: SignalsOut


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    relevant: Bool = Field(description="R9.3: relevant to the dispute")
    credible: Bool = Field(description="R9.3: true (not forged, not contradicted by records)")
    supports: Side = Field(description="Whom the item supports")
    claim: Issue | None = Field(
        None, description="The claim it speaks to (omit: the dispute as a whole)"
    )
    note: Annotated[str, FreeText(svc.NOTE_MAX, min_length=1, blank=False)] = Field(
        description="Why (shown to the agents; kept on record)"
    )


class AssessmentOut(BaseModel):
    id: int
    case_number: str
    evidence_id: int
    relevant: bool
    credible: bool
    supports: Side
    claim: Issue | None
    note: str
    assessed_by: str
    created_at: datetime


# --------------------------------------------------------------------------- mapping
def _factor(f: J.Factor, policy: Judgment, locale: str) -> FactorOut:
    return FactorOut(
        kind=f.kind,
        ref=f.ref,
        label=svc.rule_label(policy, f.ref, locale) if f.kind is J.FactorKind.RULE else None,
        clause=f.clause,
        toward=f.toward,
        weight=f.weight,
        message=f.message,
        params=dict(f.params),
        text=svc.render_factor(f, locale),
    )


def recommendation_out(view: svc.AgentRecommendation, locale: str) -> RecommendationOut:
    result = view.result
    rec = result.recommendation
    d = rec.decision
    snap: dict[str, Any] = result.to_json()

    def t(message: str) -> str:
        return gettext(message, locale)

    return RecommendationOut(
        case_number=view.case_number,
        profile=view.profile_id,
        profile_version=view.profile_version,
        computed_at=view.computed_at,
        in_intervention=view.in_intervention,
        decision=DecisionOut(
            liability=d.liability,
            liability_label=t(J.LIABILITY_LABELS[d.liability]),
            remedy=d.remedy,
            remedy_label=t(J.REMEDY_LABELS[d.remedy]),
            freight_payer=d.freight_payer,
            freight_payer_label=t(J.FREIGHT_LABELS[d.freight_payer]),
            return_risk=d.return_risk,
            return_risk_label=t(J.LIABILITY_LABELS[d.return_risk]),
        ),
        buyer_succeeds=rec.buyer_succeeds,
        decided_for=rec.decided_for,
        basis=rec.basis,
        basis_label=t(J.BASIS_LABELS[rec.basis]),
        confidence=rec.confidence,
        supports=SupportsOut(buyer=rec.buyer_support, merchant=rec.merchant_support),
        balance=rec.balance,
        factors=[_factor(f, view.policy, locale) for f in rec.factors],
        ignored=[_factor(f, view.policy, locale) for f in rec.ignored],
        facts=FactsOut(
            **snap["facts"],
            issue_label=t(J.ISSUE_LABELS[result.facts.issue]),
        ),
        evidence=[EvidenceFactOut(**e) for e in snap["evidence"]],
        signals=SignalsOut(**snap["signals"]),
    )


def _assessment_out(v: svc.AssessmentView) -> AssessmentOut:
    return AssessmentOut(
        id=v.id,
        case_number=v.case_number,
        evidence_id=v.evidence_id,
        relevant=v.relevant,
        credible=v.credible,
        supports=v.supports,
        claim=v.claim,
        note=v.note,
        assessed_by=v.assessed_by,
        created_at=v.created_at,
    )


# --------------------------------------------------------------------------- routes
@router.get("/{number}/recommendation", response_model=RecommendationOut)
def get_recommendation(
    number: CaseNumber,
    request: Request,
    auth: Auth,
    issue: Annotated[
        Issue | None,
        Query(description="The claim to weigh (default: the one the reason code makes)"),
    ] = None,
) -> RecommendationOut:
    """R10: the recommended ruling on the case now, with the rules, evidence and signals
    that decided it (R10.5) and the evidence set aside (R9.3). Platform agents and
    admins only; under an intervention, its round's deadlines apply."""
    view = svc.recommendation_for(ctx_of(request), auth.actor, number, issue=issue)
    return recommendation_out(view, locale_of(request))


@router.post(
    "/{number}/evidence/{evidence_id}/assessments",
    response_model=AssessmentOut,
    status_code=201,
)
def assess_evidence(
    number: CaseNumber,
    evidence_id: EvidenceId,
    body: AssessmentIn,
    request: Request,
    auth: Auth,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R9.3: a platform agent assesses one evidence item of the case (relevant, true,
    whom it supports, which claim). The newest assessment supersedes earlier ones; the
    recommendation reads it."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: _assessment_out(
            svc.assess_evidence(
                ctx_of(request),
                auth.actor,
                number,
                evidence_id,
                relevant=body.relevant,
                credible=body.credible,
                supports=body.supports,
                claim=body.claim,
                note=body.note,
            )
        ),
        status=201,
    )
