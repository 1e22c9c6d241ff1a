"""Buyers as the platform sees them: the R15.2 risk level and why."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path, Request
from pydantic import BaseModel, Field

from aftersales.api.common import Text
from aftersales.api.common import router as make_router
from aftersales.api.deps import Auth, ctx_of
from aftersales.api.problems import locale_of
from aftersales.domain.policy import RiskLevel
from aftersales.domain.risk import LEVEL_LABELS, SIGNAL_LABELS
from aftersales.i18n import gettext, risk_explanation
from aftersales.services import risk as svc

router = make_router("/buyers", "buyers")

BuyerRef = Annotated[str, Text(80, min_length=1), Path(description="The marketplace's buyer id")]


class RiskSignalOut(BaseModel):
    name: str = Field(
        description="new_account, no_purchase_history, many_units_of_one_item, "
        "frequent_refunds, vague_compensation_demands, refused_photos or "
        "confirmed_malicious_report"
    )
    label: str
    points: int = Field(description="Added to the score (the profile's weight)")
    explanation: str = Field(description="Why it fired, in the caller's language")
    params: dict[str, int | str] = Field(description="The numbers the explanation names")
    raises_to: RiskLevel | None = Field(
        description="The lowest level this signal allows (a confirmed report)"
    )


class BuyerRiskOut(BaseModel):
    buyer: str
    level: RiskLevel
    level_label: str
    score: int
    medium_at: int = Field(description="The profile's score from which the level is medium")
    high_at: int = Field(description="The profile's score from which the level is high")
    profile: str
    profile_version: int
    order_number: str | None = Field(
        description="The order assessed: the buyer's most recently paid order"
    )
    assessed_at: datetime
    signals: list[RiskSignalOut]


def risk_out(view: svc.RiskView, locale: str) -> BuyerRiskOut:
    a = view.assessment
    return BuyerRiskOut(
        buyer=view.buyer_ref,
        level=a.level,
        level_label=gettext(LEVEL_LABELS[a.level], locale),
        score=a.score,
        medium_at=view.rules.medium_at,
        high_at=view.rules.high_at,
        profile=view.profile_id,
        profile_version=view.profile_version,
        order_number=view.order_number,
        assessed_at=view.assessed_at,
        signals=[
            RiskSignalOut(
                name=s.name,
                label=gettext(SIGNAL_LABELS[s.name], locale),
                points=s.points,
                explanation=risk_explanation(s, locale),
                params=dict(s.params),
                raises_to=s.raises_to,
            )
            for s in a.signals
        ],
    )


@router.get("/{ref}/risk", response_model=BuyerRiskOut)
def buyer_risk(ref: BuyerRef, request: Request, auth: Auth) -> BuyerRiskOut:
    """R15.2: the buyer's risk level, its score and every signal that made it, under the
    current profile of the shop of the buyer's latest order. Platform agents and admins
    only: to anyone else a buyer is not found (404)."""
    return risk_out(svc.buyer_risk(ctx_of(request), auth.actor, ref), locale_of(request))
