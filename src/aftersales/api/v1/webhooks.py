"""Webhook endpoints and their delivery log (docs/webhooks.md).

A shop's main account manages its shop's endpoints; platform admins manage every endpoint
and the platform's own (``shop`` omitted: every shop's events). The signing secret is in
the answer to create and rotate-secret only.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from aftersales.api.common import FreeText, QueryBool, QueryInt, Text, decode_cursor, encode_cursor
from aftersales.api.common import router as _router
from aftersales.api.deps import Auth, Ctx, IdempotencyKey, respond
from aftersales.api.views import list_model, view_model
from aftersales.domain.errors import ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.services import webhooks as svc

router = _router("/webhooks", "webhooks")

MAX_ID = 2**31 - 1
EndpointId = Annotated[int, QueryInt(1, MAX_ID), Path(description="The endpoint's id")]
DeliveryId = Annotated[int, QueryInt(1, MAX_ID), Path(description="The delivery's id")]
EventType = Annotated[
    str, Text(80), Field(json_schema_extra={"enum": svc.subscribable_event_types()})
]


# --------------------------------------------------------------------------- models
class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shop: Annotated[str, Text(40)] | None = Field(
        None, description="Shop code; omit for a platform endpoint (every shop's events, admins)."
    )
    url: Annotated[str, Text(svc.MAX_URL_LENGTH, pattern=svc.URL_PATTERN)] = Field(
        description=(
            "http(s) URL with an ASCII host name (punycode for IDN) or IPv4 address, no "
            "user name or password; the host must resolve to public addresses."
        ),
    )
    description: Annotated[str, FreeText(svc.MAX_DESCRIPTION_LENGTH)] = ""
    event_types: list[EventType] | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="Event types (or `case.*`) to receive; omit for every event.",
    )


class DeliveryCounts(BaseModel):
    pending: int
    delivered: int
    failed: int


EndpointOut = view_model(
    svc.EndpointView,
    "EndpointOut",
    rename={"shop_code": "shop"},
    shapes={"deliveries": DeliveryCounts},
    defaults={"secret": None},
    describe={
        "shop": "Shop code; null for a platform endpoint",
        "secret": "`whsec_...`: only in the answer to create and rotate-secret; keep it.",
    },
    module=__name__,
)
EndpointList = list_model("EndpointList", EndpointOut, module=__name__)
AttemptOut = view_model(svc.AttemptView, "AttemptOut", module=__name__)
DeliveryOut = view_model(
    svc.DeliveryView,
    "DeliveryOut",
    describe={
        "event_id": "The `webhook-id` header: the same on every retry",
        "payload": "The body that is sent",
    },
    models={svc.AttemptView: AttemptOut},
    module=__name__,
)
DeliveryList = list_model(
    "DeliveryList",
    DeliveryOut,
    next_cursor=(str | None, Field(description="Pass as `cursor` for older deliveries")),
    module=__name__,
)


class EventTypes(BaseModel):
    items: list[str]


# --------------------------------------------------------------------------- routes
@router.get("/event-types", response_model=EventTypes)
def event_types(auth: Auth) -> EventTypes:
    """Every event type an endpoint can filter on (`<family>.*` takes a whole family)."""
    return EventTypes(items=sorted(svc.EVENT_TYPES))


@router.post(
    "/endpoints",
    status_code=201,
    response_model=EndpointOut,
    responses={201: {"description": "Created; `secret` is shown this once"}},
)
def create_endpoint(
    request: Request, ctx: Ctx, auth: Auth, body: EndpointIn, idempotency_key: IdempotencyKey = None
) -> Response:
    """Register an endpoint. The answer carries its signing secret, shown only here."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: EndpointOut.model_validate(
            svc.create_endpoint(
                ctx, auth.actor, body.shop, body.url, body.description, body.event_types
            )
        ),
        status=201,
    )


@router.get("/endpoints", response_model=EndpointList)
def list_endpoints(
    ctx: Ctx,
    auth: Auth,
    shop: Annotated[
        Annotated[str, Text(40)] | None, Query(description="One shop's endpoints")
    ] = None,
    platform: Annotated[QueryBool, Query(description="Only platform endpoints (admins)")] = False,
) -> BaseModel:
    """The endpoints the caller manages."""
    views = svc.list_endpoints(ctx, auth.actor, shop, platform=platform)
    return EndpointList(items=views)


@router.get("/endpoints/{endpoint_id}", response_model=EndpointOut)
def get_endpoint(ctx: Ctx, auth: Auth, endpoint_id: EndpointId) -> BaseModel:
    return EndpointOut.model_validate(svc.get_endpoint(ctx, auth.actor, endpoint_id))


@router.post("/endpoints/{endpoint_id}/disable", response_model=EndpointOut)
def disable_endpoint(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    endpoint_id: EndpointId,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Stop delivering: nothing new is sent; undelivered events are marked failed."""
    return respond(
        request,
        auth,
        idempotency_key,
        None,
        lambda: EndpointOut.model_validate(svc.disable_endpoint(ctx, auth.actor, endpoint_id)),
    )


@router.post("/endpoints/{endpoint_id}/rotate-secret", response_model=EndpointOut)
def rotate_secret(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    endpoint_id: EndpointId,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """A new signing secret, used from the next attempt on; shown only in this answer."""
    return respond(
        request,
        auth,
        idempotency_key,
        None,
        lambda: EndpointOut.model_validate(svc.rotate_secret(ctx, auth.actor, endpoint_id)),
    )


@router.get("/endpoints/{endpoint_id}/deliveries", response_model=DeliveryList)
def list_deliveries(
    ctx: Ctx,
    auth: Auth,
    endpoint_id: EndpointId,
    cursor: Annotated[Annotated[str, Text(200)] | None, Query()] = None,
    limit: Annotated[int, QueryInt(1, svc.MAX_PAGE), Query()] = 50,
    status: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
) -> BaseModel:
    """The delivery log: newest first, each delivery with every attempt."""
    before = None
    if cursor is not None:
        (value,) = decode_cursor(cursor, 1)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ID:
            raise ValidationFailed(
                "cursor.invalid", N_("The cursor is not one this API returned."), field="cursor"
            )
        before = value
    page = svc.list_deliveries(
        ctx, auth.actor, endpoint_id, before=before, limit=limit, status=status
    )
    return DeliveryList(
        items=page.items,
        next_cursor=encode_cursor([page.next_before]) if page.next_before is not None else None,
    )


@router.post(
    "/endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryOut,
)
def redeliver(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    endpoint_id: EndpointId,
    delivery_id: DeliveryId,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Send a delivery again now, with the same `webhook-id`."""
    return respond(
        request,
        auth,
        idempotency_key,
        None,
        lambda: DeliveryOut.model_validate(
            svc.redeliver(ctx, auth.actor, endpoint_id, delivery_id)
        ),
        status=202,
    )
