"""Carrier events pushed by carriers (R16)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Request, Response
from pydantic import BaseModel, Field

from aftersales.api.common import Moment, Text
from aftersales.api.common import router as make_router
from aftersales.api.deps import Auth, IdempotencyKey, ctx_of, respond
from aftersales.domain.logistics import ParcelStatus
from aftersales.services import logistics

router = make_router("/logistics", "logistics")


class CarrierEventIn(BaseModel):
    carrier: Annotated[str, Text(16, min_length=1)] = Field(
        description="SF, ZTO, YTO, STO, JD, ..."
    )
    tracking_number: Annotated[str, Text(40, min_length=1)]
    status: ParcelStatus
    occurred_at: Moment
    location: Annotated[str, Text(200)] = ""


class CarrierEventOut(BaseModel):
    id: int
    carrier: str
    tracking_number: str
    status: ParcelStatus
    occurred_at: datetime
    case_number: str | None = Field(description="The case whose parcel this is, if any")
    applied_action: str | None = Field(description="What the event did to the case")
    duplicate: bool = Field(description="The same event was already recorded")


@router.post("/events", response_model=CarrierEventOut, status_code=201)
def push_event(
    body: CarrierEventIn, request: Request, auth: Auth, idempotency_key: IdempotencyKey = None
) -> Response:
    """A carrier reports a parcel event (scope `logistics:write`). A return parcel
    delivered or signed moves its case to `return_delivered` (R5.4)."""

    def call() -> CarrierEventOut:
        r = logistics.record_event(
            ctx_of(request),
            auth.actor,
            carrier=body.carrier,
            tracking_number=body.tracking_number,
            status=body.status,
            occurred_at=body.occurred_at,
            location=body.location,
        )
        return CarrierEventOut(
            id=r.id,
            carrier=r.carrier,
            tracking_number=r.tracking_number,
            status=r.status,
            occurred_at=r.occurred_at,
            case_number=r.case_number,
            applied_action=r.applied_action,
            duplicate=r.duplicate,
        )

    return respond(request, auth, idempotency_key, body, call, status=201)
