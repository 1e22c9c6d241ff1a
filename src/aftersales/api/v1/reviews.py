"""Product reviews and negative-review appeals (R12.3): reviews pushed by the marketplace
or written by the buyer, a product's reviews with its positive-review rate, a shop's
appeals on negative reviews and the agent's decision (docs/reviews.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from aftersales.api.common import FreeText, Int, Moment, QueryInt, Text
from aftersales.api.common import router as _router
from aftersales.api.deps import Auth, Ctx, IdempotencyKey, respond
from aftersales.api.views import list_model, view_model
from aftersales.domain.reviews import (
    RATING_MAX,
    RATING_MIN,
    AppealStatus,
    EvidenceKind,
    EvidenceRef,
    Topic,
)
from aftersales.services import reviews as svc

router = _router("", "reviews")

MAX_ID = 2**31 - 1
ReviewId = Annotated[int, QueryInt(1, MAX_ID), Path(description="The review's id")]
AppealId = Annotated[int, QueryInt(1, MAX_ID), Path(description="The review appeal's id")]
ShopCode = Annotated[str, Text(40, min_length=1), Path(description="Shop code")]
Sku = Annotated[str, Text(80, min_length=1), Path(description="The product's SKU")]
Limit = Annotated[int, QueryInt(1, svc.MAX_PAGE), Query()]
Reason = Annotated[str, FreeText(svc.REASON_MAX, min_length=1, blank=False)]


# --------------------------------------------------------------------------- models
class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_number: Annotated[str, Text(64, min_length=1)]
    order_line_id: Annotated[int, Int(1, MAX_ID)] = Field(
        description="The reviewed line (GET /orders)"
    )
    rating: Annotated[int, Int(RATING_MIN, RATING_MAX)] = Field(description="1 (worst) to 5 (best)")
    topic: Topic
    text: Annotated[str, FreeText(svc.TEXT_MAX)] = ""
    created_at: Moment | None = Field(
        None,
        description="When the buyer wrote it (the marketplace only; default: now). Not "
        "before the order was paid, not in the future.",
    )


ReviewOut = view_model(
    svc.ReviewView,
    "ReviewOut",
    rename={"shop_code": "shop"},
    computed={"removed": bool},
    describe={
        "negative": "R12.3: rated at most the profile's negative_max_rating; null where "
        "the shop's profile offers no negative-review appeals",
        "removed": "An upheld appeal removed it: it no longer counts",
    },
    module=__name__,
)
ProductReviewsOut = view_model(
    svc.ProductReviews,
    "ProductReviewsOut",
    rename={"shop_code": "shop", "reviews": "items"},
    describe={
        "positive_rate": "Share of counted reviews rated 4 or 5 (R10.3); null without any",
        "counted": "Reviews that count (removed ones do not)",
        "items": "Newest first, removed ones included",
    },
    models={svc.ReviewView: ReviewOut},
    module=__name__,
)


class EvidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: EvidenceKind
    ref: Annotated[str, Text(svc.REF_MAX, min_length=1, blank=False)] = Field(
        description="order: the order number; logistics: a tracking number of the order's "
        "parcels; chat: `message:ID` or `evidence:ID` on a case of the order",
    )
    description: Annotated[str, FreeText(svc.DESCRIPTION_MAX)] = ""


EvidenceOut = view_model(EvidenceRef, "EvidenceOut", module=__name__)


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason
    evidence: list[EvidenceIn] = Field(
        max_length=svc.MAX_EVIDENCE,
        description="R12.3: every kind the profile requires (tiktok: order, logistics, "
        "chat); a retry after a dismissal names evidence not named before",
    )


AppealOut = view_model(
    svc.ReviewAppealView,
    "AppealOut",
    rename={"shop_code": "shop"},
    omit=("profile_id", "profile_version"),
    computed={"profile": str},
    describe={
        "attempt": "1 for the first appeal on the review, then 2, ...",
        "expected_from": "decision_workdays_min working days on",
        "decide_by": "decision_workdays_max working days on",
        "profile": "The policy profile and version applied: tiktok v5",
    },
    models={EvidenceRef: EvidenceOut},
    module=__name__,
)
AppealList = list_model("AppealList", AppealOut, module=__name__)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["uphold", "dismiss"]
    note: Reason


# --------------------------------------------------------------------------- reviews
@router.post("/reviews", status_code=201, response_model=ReviewOut)
def record_review(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    body: ReviewIn,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """A buyer's review of an order line: pushed by the marketplace (a service account or
    an admin, scope `orders:write`) or written by the order's buyer once it is signed for.
    One review per order line (409 after); never edited or deleted."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: ReviewOut.model_validate(
            svc.record_review(
                ctx,
                auth.actor,
                order_number=body.order_number,
                order_line_id=body.order_line_id,
                rating=body.rating,
                topic=body.topic,
                text=body.text,
                created_at=body.created_at,
            )
        ),
        status=201,
    )


@router.get("/shops/{code}/products/{sku}/reviews", response_model=ProductReviewsOut)
def product_reviews(ctx: Ctx, auth: Auth, code: ShopCode, sku: Sku, limit: Limit = 50) -> BaseModel:
    """A product's reviews and its positive-review rate (reviews removed by an upheld
    R12.3 appeal are listed, marked, and do not count). The shop's accounts and the
    platform."""
    v = svc.product_reviews(ctx, auth.actor, code, sku, limit=limit)
    return ProductReviewsOut.model_validate(v)


# --------------------------------------------------------------------------- R12.3
@router.post("/reviews/{review_id}/appeals", status_code=201, response_model=AppealOut)
def file_appeal(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    review_id: ReviewId,
    body: AppealIn,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R12.3: the shop appeals a negative review of its product within the profile's
    window, with the evidence it requires; an agent decides by `decide_by`. Refusals
    name R12.3 (not offered on the marketplace, late, excluded topic, not negative,
    evidence missing or not about the order, already pending or removed, a retry
    without new evidence)."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: AppealOut.model_validate(
            svc.file_appeal(
                ctx,
                auth.actor,
                review_id,
                reason=body.reason,
                evidence=[EvidenceRef(e.kind, e.ref, e.description) for e in body.evidence],
            )
        ),
        status=201,
    )


@router.get("/review-appeals", response_model=AppealList)
def list_appeals(
    ctx: Ctx,
    auth: Auth,
    shop: Annotated[Annotated[str, Text(40, min_length=1)] | None, Query()] = None,
    status: Annotated[AppealStatus | None, Query()] = None,
    limit: Limit = 50,
) -> BaseModel:
    """A shop's own review appeals; platform agents and admins see every shop's (newest
    first)."""
    views = svc.list_appeals(ctx, auth.actor, shop_code=shop, status=status, limit=limit)
    return AppealList(items=views)


@router.post("/review-appeals/{appeal_id}/decision", response_model=AppealOut)
def decide_appeal(
    request: Request,
    ctx: Ctx,
    auth: Auth,
    appeal_id: AppealId,
    body: DecisionIn,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """R12.3: a platform agent upholds (the review no longer counts) or dismisses the
    appeal, with a note, once (again: 409)."""
    return respond(
        request,
        auth,
        idempotency_key,
        body,
        lambda: AppealOut.model_validate(
            svc.decide_appeal(
                ctx, auth.actor, appeal_id, uphold=body.decision == "uphold", note=body.note
            )
        ),
    )
