"""R12.3: the rows of product reviews, of negative-review appeals and of their decisions
(all append-only), and the reads the services and the judgment need."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Exists, Select, and_, case, exists, func, insert, select

from aftersales.store.records import every, one
from aftersales.store.schema import (
    case_messages,
    cases,
    evidence_items,
    order_parcels,
    orders,
    product_reviews,
    products,
    review_appeal_decisions,
    review_appeals,
)

UPHELD = "upheld"


# --------------------------------------------------------------------------- records
@dataclass(frozen=True, slots=True)
class Review:
    """A product review, with its order number, SKU and title, and the upheld appeal that
    removed it (None: it counts)."""

    id: int
    order_line_id: int
    order_id: int
    product_id: int
    shop_id: int
    buyer_id: int
    rating: int
    topic: str
    text: str
    source: str
    recorded_by: str
    created_at: datetime
    recorded_at: datetime
    order_number: str
    sku: str
    title: str
    removed_by_appeal: int | None


@dataclass(frozen=True, slots=True)
class ReviewAppeal:
    """An R12.3 appeal with its decision (``outcome`` … None while pending) and its
    review's order number and SKU."""

    id: int
    review_id: int
    shop_id: int
    attempt: int
    reason: str
    evidence: list[dict[str, str]]
    filed_by: str
    filed_at: datetime
    expected_from: datetime
    decide_by: datetime
    profile_id: str
    profile_version: int
    outcome: str | None
    note: str | None
    decided_by: str | None
    decided_at: datetime | None
    order_number: str
    sku: str


@dataclass(frozen=True, slots=True)
class PendingAppeal:
    """An appeal without a decision (an item of the agent queue)."""

    id: int
    shop_id: int
    review_id: int
    decide_by: datetime
    filed_at: datetime


@dataclass(frozen=True, slots=True)
class ReviewedProduct:
    """A shop's product a review is about."""

    id: int
    shop_id: int
    sku: str
    title: str
    flags: list[str]
    declared_no_reason_days: int | None


# --------------------------------------------------------------------------- reviews
def insert_review(
    conn: Connection,
    *,
    order_line_id: int,
    order_id: int,
    product_id: int,
    shop_id: int,
    buyer_id: int,
    rating: int,
    topic: str,
    text: str,
    source: str,
    recorded_by: str,
    created_at: datetime,
    now: datetime,
) -> int:
    return int(
        conn.execute(
            insert(product_reviews)
            .values(
                order_line_id=order_line_id,
                order_id=order_id,
                product_id=product_id,
                shop_id=shop_id,
                buyer_id=buyer_id,
                rating=rating,
                topic=topic,
                text=text,
                source=source,
                recorded_by=recorded_by,
                created_at=created_at,
                recorded_at=now,
            )
            .returning(product_reviews.c.id)
        ).scalar_one()
    )


def _review_query() -> Select[Any]:
    """A review with its order number, SKU and title, and the upheld appeal that removed
    it (None: it counts)."""
    upheld = (
        select(review_appeal_decisions.c.appeal_id)
        .where(
            review_appeal_decisions.c.review_id == product_reviews.c.id,
            review_appeal_decisions.c.outcome == UPHELD,
        )
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            product_reviews,
            orders.c.number.label("order_number"),
            products.c.sku,
            products.c.title,
            upheld.label("removed_by_appeal"),
        )
        .join(orders, orders.c.id == product_reviews.c.order_id)
        .join(products, products.c.id == product_reviews.c.product_id)
    )


def review(conn: Connection, review_id: int) -> Review | None:
    return one(
        Review, conn.execute(_review_query().where(product_reviews.c.id == review_id)).first()
    )


def review_of_line(conn: Connection, order_line_id: int) -> Review | None:
    return one(
        Review,
        conn.execute(
            _review_query().where(product_reviews.c.order_line_id == order_line_id)
        ).first(),
    )


def reviews_of_product(conn: Connection, product_id: int, *, limit: int) -> list[Review]:
    """Newest first, removed ones included (marked)."""
    query = (
        _review_query()
        .where(product_reviews.c.product_id == product_id)
        .order_by(product_reviews.c.created_at.desc(), product_reviews.c.id.desc())
        .limit(limit)
    )
    return every(Review, conn.execute(query))


def _removed_by(now: datetime) -> Exists:
    """An upheld decision, made by ``now``, removed the review."""
    return exists().where(
        review_appeal_decisions.c.review_id == product_reviews.c.id,
        review_appeal_decisions.c.outcome == UPHELD,
        review_appeal_decisions.c.decided_at <= now,
    )


def rating_counts(
    conn: Connection, product_id: int, now: datetime, positive_min: int
) -> tuple[int, int]:
    """(counted, positive): the product's reviews recorded by ``now`` that no upheld
    appeal (decided by ``now``) removed, and how many of them are rated ``positive_min``
    or more."""
    row = conn.execute(
        select(
            func.count(),
            func.coalesce(
                func.sum(case((product_reviews.c.rating >= positive_min, 1), else_=0)), 0
            ),
        ).where(
            product_reviews.c.product_id == product_id,
            product_reviews.c.recorded_at <= now,
            ~_removed_by(now),
        )
    ).one()
    return int(row[0]), int(row[1])


def product_of_shop(conn: Connection, shop_id: int, sku: str) -> ReviewedProduct | None:
    return one(
        ReviewedProduct,
        conn.execute(
            select(products).where(products.c.shop_id == shop_id, products.c.sku == sku)
        ).first(),
    )


# --------------------------------------------------------------------------- evidence refs
def tracking_numbers_of_order(conn: Connection, order_id: int) -> list[str]:
    return list(
        conn.execute(
            select(order_parcels.c.tracking_number).where(order_parcels.c.order_id == order_id)
        ).scalars()
    )


def message_on_order(conn: Connection, message_id: int, order_id: int) -> bool:
    """A published case message on a case of the order (a held one is not part of the
    conversation)."""
    return bool(
        conn.execute(
            select(
                exists().where(
                    and_(
                        case_messages.c.id == message_id,
                        case_messages.c.status == "published",
                        cases.c.id == case_messages.c.case_id,
                        cases.c.order_id == order_id,
                    )
                )
            )
        ).scalar()
    )


def evidence_on_order(conn: Connection, item_id: int, order_id: int) -> bool:
    """An evidence item on a case of the order."""
    return bool(
        conn.execute(
            select(
                exists().where(
                    and_(
                        evidence_items.c.id == item_id,
                        cases.c.id == evidence_items.c.case_id,
                        cases.c.order_id == order_id,
                    )
                )
            )
        ).scalar()
    )


# --------------------------------------------------------------------------- appeals
def insert_appeal(
    conn: Connection,
    *,
    review_id: int,
    shop_id: int,
    attempt: int,
    reason: str,
    evidence: Sequence[dict[str, str]],
    filed_by: str,
    filed_at: datetime,
    expected_from: datetime,
    decide_by: datetime,
    profile_id: str,
    profile_version: int,
) -> int:
    return int(
        conn.execute(
            insert(review_appeals)
            .values(
                review_id=review_id,
                shop_id=shop_id,
                attempt=attempt,
                reason=reason,
                evidence=list(evidence),
                filed_by=filed_by,
                filed_at=filed_at,
                expected_from=expected_from,
                decide_by=decide_by,
                profile_id=profile_id,
                profile_version=profile_version,
            )
            .returning(review_appeals.c.id)
        ).scalar_one()
    )


def _appeal_query() -> Select[Any]:
    """An appeal with its decision (outer join: None while pending) and its review's
    order number and SKU."""
    return (
        select(
            review_appeals,
            review_appeal_decisions.c.outcome,
            review_appeal_decisions.c.note,
            review_appeal_decisions.c.decided_by,
            review_appeal_decisions.c.decided_at,
            orders.c.number.label("order_number"),
            products.c.sku,
        )
        .outerjoin(
            review_appeal_decisions, review_appeal_decisions.c.appeal_id == review_appeals.c.id
        )
        .join(product_reviews, product_reviews.c.id == review_appeals.c.review_id)
        .join(orders, orders.c.id == product_reviews.c.order_id)
        .join(products, products.c.id == product_reviews.c.product_id)
    )


def appeal(conn: Connection, appeal_id: int) -> ReviewAppeal | None:
    row = conn.execute(_appeal_query().where(review_appeals.c.id == appeal_id)).first()
    return one(ReviewAppeal, row)


def appeals_of_review(conn: Connection, review_id: int) -> list[ReviewAppeal]:
    """Oldest first."""
    return every(
        ReviewAppeal,
        conn.execute(
            _appeal_query()
            .where(review_appeals.c.review_id == review_id)
            .order_by(review_appeals.c.attempt)
        ),
    )


def appeal_rows(
    conn: Connection, *, shop_id: int | None, status: str | None, limit: int
) -> list[ReviewAppeal]:
    """Newest first; ``shop_id`` None: every shop's; ``status`` pending | upheld |
    dismissed."""
    query = _appeal_query().order_by(review_appeals.c.id.desc())
    if shop_id is not None:
        query = query.where(review_appeals.c.shop_id == shop_id)
    if status == "pending":
        query = query.where(review_appeal_decisions.c.id.is_(None))
    elif status is not None:
        query = query.where(review_appeal_decisions.c.outcome == status)
    return every(ReviewAppeal, conn.execute(query.limit(limit)))


def pending_rows(conn: Connection) -> list[PendingAppeal]:
    """Every appeal without a decision, soonest ``decide_by`` first (then oldest)."""
    return every(
        PendingAppeal,
        conn.execute(
            select(
                review_appeals.c.id,
                review_appeals.c.shop_id,
                review_appeals.c.review_id,
                review_appeals.c.decide_by,
                review_appeals.c.filed_at,
            )
            .where(~exists().where(review_appeal_decisions.c.appeal_id == review_appeals.c.id))
            .order_by(review_appeals.c.decide_by, review_appeals.c.filed_at, review_appeals.c.id)
        ),
    )


def insert_decision(
    conn: Connection,
    *,
    appeal_id: int,
    review_id: int,
    outcome: str,
    note: str,
    decided_by: str,
    now: datetime,
) -> None:
    conn.execute(
        insert(review_appeal_decisions).values(
            appeal_id=appeal_id,
            review_id=review_id,
            outcome=outcome,
            note=note,
            decided_by=decided_by,
            decided_at=now,
        )
    )
