"""Product reviews, the positive-review rate (an R10.3 signal) and negative-review appeals
(R12.3). See docs/reviews.md.

Who may do what. Recording a review: the marketplace pushes it (a service account or a
platform admin, scope ``orders:write``), or the order's buyer writes it (``cases:write``)
once the order is signed for; one review per order line, never edited or deleted.
Reading a product's reviews: the shop's accounts and platform agents and admins.
Appealing (R12.3): the shop's main account or a sub-account granted
``handle_aftersales`` (a token with ``cases:write``), on a review of its own product; the
review's buyer and the platform see the review and are refused (403); anyone else is
answered as if it did not exist (404). Listing appeals: the shop's after-sales accounts
see their shop's, platform agents and admins every shop's. Deciding: platform agents and
admins, once (again: 409); the appealing shop is refused (403), anyone else 404.

Storage (append-only): ``product_reviews``, ``review_appeals`` (one row per attempt) and
``review_appeal_decisions`` (at most one per appeal, by a unique key). An appeal is pending
until its decision exists; an upheld decision removes the review from the counts, the
review row itself stays.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from aftersales.domain import reviews as domain
from aftersales.domain.accounts import Permission, Scope
from aftersales.domain.case_types import ActorKind
from aftersales.domain.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from aftersales.domain.i18n import N_
from aftersales.domain.policy import Profile
from aftersales.domain.reviews import AppealStatus, EvidenceKind, EvidenceRef, ReviewSource, Topic
from aftersales.services.actors import (
    Actor,
    is_agent,
    is_marketplace_system,
    owns_shop,
    reader_shop,
    require_case_reading,
    require_permission,
    require_scope,
    visible_shop,
)
from aftersales.services.context import Context
from aftersales.store import catalog as catalog_store
from aftersales.store import reviews as store
from aftersales.store.records import known

MAX_PAGE = 200
TEXT_MAX = 2000
REASON_MAX = 2000
NOTE_MAX = 2000
REF_MAX = 120
DESCRIPTION_MAX = 500
MAX_EVIDENCE = 20
RULE = domain.RULE
# R12.3 chat evidence: a case message or an evidence item on a case of the order.
CHAT_REF_PATTERN = r"^(?i:message|evidence):[1-9][0-9]{0,9}$"
_CHAT_REF = re.compile(CHAT_REF_PATTERN)


@dataclass(frozen=True, slots=True)
class ReviewView:
    id: int
    shop_code: str
    sku: str
    product_title: str
    order_number: str
    order_line_id: int
    rating: int
    topic: Topic
    text: str
    source: ReviewSource
    created_at: datetime
    recorded_at: datetime
    negative: bool | None  # None: the shop's profile defines no negative reviews
    removed_by_appeal: int | None  # the upheld appeal that removed it (it no longer counts)

    @property
    def removed(self) -> bool:
        """An upheld appeal removed it: it no longer counts."""
        return self.removed_by_appeal is not None


@dataclass(frozen=True, slots=True)
class ProductReviews:
    shop_code: str
    sku: str
    title: str
    positive_rate: float | None  # None: no counted reviews
    counted: int
    reviews: list[ReviewView]


@dataclass(frozen=True, slots=True)
class ReviewAppealView:
    id: int
    review_id: int
    shop_code: str
    order_number: str
    sku: str
    attempt: int
    status: AppealStatus
    reason: str
    evidence: list[EvidenceRef]
    filed_by: str
    filed_at: datetime
    expected_from: datetime
    decide_by: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision_note: str | None
    profile_id: str
    profile_version: int

    @property
    def profile(self) -> str:
        """The policy profile and version applied: ``tiktok v5``."""
        return f"{self.profile_id} v{self.profile_version}"


# --------------------------------------------------------------------------- helpers


def _text(value: str, field: str, maximum: int, *, required: bool) -> str:
    value = value.strip()
    if required and not value:
        raise ValidationFailed("review.text_missing", N_("Write what this is about."), field=field)
    if len(value) > maximum:
        raise ValidationFailed(
            "review.text_too_long", N_("The text is too long."), field=field, max=maximum
        )
    return value


def _profile(ctx: Context, conn: Connection, shop_id: int, now: datetime) -> Profile:
    shop = catalog_store.get_shop(conn, shop_id)
    assert shop is not None
    return ctx.profiles.current_for(conn, shop.profile_id, now)


def _review_not_found(review_id: int) -> NotFound:
    return NotFound("review.not_found", N_("Review {id} not found."), id=review_id)


def _appeal_not_found(appeal_id: int) -> NotFound:
    return NotFound("review_appeal.not_found", N_("Review appeal {id} not found."), id=appeal_id)


def _review_view(conn: Connection, row: store.Review, profile: Profile | None) -> ReviewView:
    rules = domain.negative_rules(profile) if profile is not None else None
    return ReviewView(
        id=row.id,
        shop_code=catalog_store.shop_code(conn, row.shop_id),
        sku=row.sku,
        product_title=row.title,
        order_number=row.order_number,
        order_line_id=row.order_line_id,
        rating=row.rating,
        topic=Topic(row.topic),
        text=row.text,
        source=ReviewSource(row.source),
        created_at=row.created_at,
        recorded_at=row.recorded_at,
        negative=domain.is_negative(row.rating, rules),
        removed_by_appeal=row.removed_by_appeal,
    )


def _status(row: store.ReviewAppeal) -> AppealStatus:
    return AppealStatus.PENDING if row.outcome is None else AppealStatus(row.outcome)


def _evidence_of(row: store.ReviewAppeal) -> list[EvidenceRef]:
    return [
        EvidenceRef(EvidenceKind(e["kind"]), e["ref"], e.get("description", ""))
        for e in row.evidence or []
    ]


def _appeal_view(conn: Connection, row: store.ReviewAppeal) -> ReviewAppealView:
    return ReviewAppealView(
        id=row.id,
        review_id=row.review_id,
        shop_code=catalog_store.shop_code(conn, row.shop_id),
        order_number=row.order_number,
        sku=row.sku,
        attempt=row.attempt,
        status=_status(row),
        reason=row.reason,
        evidence=_evidence_of(row),
        filed_by=row.filed_by,
        filed_at=row.filed_at,
        expected_from=row.expected_from,
        decide_by=row.decide_by,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
        decision_note=row.note,
        profile_id=row.profile_id,
        profile_version=row.profile_version,
    )


# --------------------------------------------------------------------------- reviews
def record_review(
    ctx: Context,
    actor: Actor,
    *,
    order_number: str,
    order_line_id: int,
    rating: int,
    topic: Topic,
    text: str = "",
    created_at: datetime | None = None,
) -> ReviewView:
    """Record a buyer's review of an order line: pushed by the marketplace (which may date
    it, ``created_at``: not before payment, not in the future) or written by the order's
    buyer once the order is signed for (dated now). One review per order line (409)."""
    if is_marketplace_system(actor):
        require_scope(actor, Scope.ORDERS_WRITE)
        source = ReviewSource.PLATFORM
    elif actor.kind is ActorKind.BUYER:
        require_scope(actor, Scope.CASES_WRITE)
        source = ReviewSource.BUYER
    else:
        raise Forbidden("auth.not_allowed", N_("Your account may not do this."), rule="R1")
    if not domain.RATING_MIN <= rating <= domain.RATING_MAX:
        raise ValidationFailed(
            "review.rating_range",
            N_("A rating is from {min} to {max}."),
            field="rating",
            min=domain.RATING_MIN,
            max=domain.RATING_MAX,
        )
    text = _text(text, "text", TEXT_MAX, required=False)
    now = ctx.now()
    with ctx.db.write() as conn:
        order_id = catalog_store.order_id_by_number(conn, order_number)
        order = catalog_store.load_order(conn, order_id) if order_id is not None else None
        if order is None or (source is ReviewSource.BUYER and order.buyer_id != actor.buyer_id):
            raise NotFound("order.not_found", N_("Order {number} not found."), number=order_number)
        line = next((ln for ln in order.lines if ln.id == order_line_id), None)
        if line is None:
            raise ValidationFailed(
                "review.unknown_line",
                N_("Order line {line} is not on order {order}."),
                field="order_line_id",
                line=order_line_id,
                order=order_number,
            )
        if source is ReviewSource.BUYER:
            if created_at is not None:
                raise ValidationFailed(
                    "review.buyer_cannot_date",
                    N_("Only the marketplace dates a review; a buyer's is dated now."),
                    field="created_at",
                )
            if order.signed_at is None or order.signed_at > now:
                raise IllegalTransition(
                    "review.not_signed",
                    N_("A buyer reviews an order once it is signed for."),
                )
        written = created_at or now
        if written > now or written < order.paid_at:
            raise ValidationFailed(
                "review.date_invalid",
                N_("A review is written after the order is paid and not in the future."),
                field="created_at",
            )
        if store.review_of_line(conn, line.id) is not None:
            raise _already_reviewed(line.id)
        try:
            with conn.begin_nested():
                review_id = store.insert_review(
                    conn,
                    order_line_id=line.id,
                    order_id=order.id,
                    product_id=line.product.id,
                    shop_id=order.shop_id,
                    buyer_id=order.buyer_id,
                    rating=rating,
                    topic=Topic(topic).value,
                    text=text,
                    source=source.value,
                    recorded_by=actor.id or "",
                    created_at=written,
                    now=now,
                )
        except IntegrityError:
            raise _already_reviewed(line.id) from None
        profile = _profile(ctx, conn, order.shop_id, now)
        return _review_view(conn, known(store.review(conn, review_id)), profile)


def _already_reviewed(line_id: int) -> Conflict:
    return Conflict(
        "review.already_recorded",
        N_("Order line {line} already has a review."),
        line=line_id,
    )


def product_reviews(
    ctx: Context, actor: Actor, shop_code: str, sku: str, *, limit: int = 50
) -> ProductReviews:
    """A product's reviews (newest first; removed ones included and marked) with its
    positive-review rate. The shop's accounts and the platform read them."""
    now = ctx.now()
    with ctx.db.read() as conn:
        shop = visible_shop(conn, actor, shop_code)
        require_case_reading(actor)
        product = store.product_of_shop(conn, shop.id, sku)
        if product is None:
            raise NotFound("product.not_found", N_("Product {sku} not found."), sku=sku)
        profile = ctx.profiles.current.get(shop.profile_id)  # a read: nothing stored
        counted, positive = store.rating_counts(conn, product.id, now, domain.POSITIVE_MIN_RATING)
        rows = store.reviews_of_product(conn, product.id, limit=min(max(limit, 1), MAX_PAGE))
        return ProductReviews(
            shop_code=shop.code,
            sku=product.sku,
            title=product.title,
            positive_rate=positive / counted if counted else None,
            counted=counted,
            reviews=[_review_view(conn, r, profile) for r in rows],
        )


def positive_review_rate(conn: Connection, product_id: int, now: datetime) -> float | None:
    """R10.3 signal: the share of the product's counted reviews rated 4 or 5 (a review
    counts once recorded by ``now``, unless an appeal upheld by ``now`` removed it
    (R12.3)); None when the product has no counted review."""
    counted, positive = store.rating_counts(conn, product_id, now, domain.POSITIVE_MIN_RATING)
    return positive / counted if counted else None


# --------------------------------------------------------------------------- R12.3 appeals
def _require_appellant(actor: Actor, row: store.Review, review_id: int) -> None:
    """The review's shop, its after-sales accounts (404 for others; 403 for the review's
    buyer and the platform, who see it, and for sub-accounts without the permission)."""
    if owns_shop(actor, row.shop_id):
        require_scope(actor, Scope.CASES_WRITE)
        require_permission(actor, Permission.HANDLE_AFTERSALES)
        return
    sees = is_agent(actor) or (actor.kind is ActorKind.BUYER and actor.buyer_id == row.buyer_id)
    if sees:
        raise Forbidden(
            "review_appeal.shop_only",
            N_("Only the shop appeals a review of its product."),
            rule=RULE,
        )
    raise _review_not_found(review_id)


def _clean_evidence(evidence: Sequence[EvidenceRef]) -> list[EvidenceRef]:
    if len(evidence) > MAX_EVIDENCE:
        raise ValidationFailed(
            "review_appeal.evidence_too_many",
            N_("Name at most {max} pieces of evidence."),
            field="evidence",
            max=MAX_EVIDENCE,
        )
    out: dict[tuple[str, str], EvidenceRef] = {}
    for item in evidence:
        ref = item.ref.strip()
        if not ref or len(ref) > REF_MAX:
            raise ValidationFailed(
                "review_appeal.evidence_ref_invalid",
                N_("Each piece of evidence names a reference of 1 to {max} characters."),
                field="evidence",
                max=REF_MAX,
            )
        cleaned = EvidenceRef(
            EvidenceKind(item.kind),
            ref,
            _text(item.description, "evidence", DESCRIPTION_MAX, required=False),
        )
        out.setdefault(cleaned.key, cleaned)
    return list(out.values())


def _check_refs(conn: Connection, evidence: Sequence[EvidenceRef], review: store.Review) -> None:
    """R12.3: the evidence is about the reviewed order. Order: its number. Logistics: a
    tracking number of its parcels (any reference while it has none recorded). Chat: a
    published case message (``message:ID``) or an evidence item (``evidence:ID``) on a
    case of the order."""
    tracking: set[str] | None = None
    for item in evidence:
        ref = domain.normalise_ref(item.ref)
        if item.kind is EvidenceKind.ORDER:
            ok = ref == domain.normalise_ref(review.order_number)
        elif item.kind is EvidenceKind.LOGISTICS:
            if tracking is None:
                tracking = {
                    domain.normalise_ref(t)
                    for t in store.tracking_numbers_of_order(conn, review.order_id)
                }
            ok = not tracking or ref in tracking
        else:
            if not _CHAT_REF.fullmatch(item.ref.strip()):
                raise ValidationFailed(
                    "review_appeal.chat_ref_format",
                    N_(
                        "Chat evidence names a case message (message:ID) or an evidence "
                        "item (evidence:ID)."
                    ),
                    rule=RULE,
                    field="evidence",
                )
            kind, _, number = item.ref.strip().partition(":")
            if kind.lower() == "message":
                ok = store.message_on_order(conn, int(number), review.order_id)
            else:
                ok = store.evidence_on_order(conn, int(number), review.order_id)
        if not ok:
            raise ValidationFailed(
                "review_appeal.evidence_not_of_order",
                N_("The {kind} evidence {ref} is not about order {order}."),
                rule=RULE,
                field="evidence",
                kind=item.kind.value,
                ref=item.ref.strip(),
                order=review.order_number,
            )


def file_appeal(
    ctx: Context,
    actor: Actor,
    review_id: int,
    *,
    reason: str,
    evidence: Sequence[EvidenceRef],
) -> ReviewAppealView:
    """R12.3: the shop appeals a negative review of its product (see
    :func:`aftersales.domain.reviews.check_appeal` for every refusal); the appeal waits
    for an agent, who should decide by ``decide_by``."""
    now = ctx.now()
    with ctx.db.write() as conn:
        row = store.review(conn, review_id)
        if row is None:
            raise _review_not_found(review_id)
        _require_appellant(actor, row, review_id)
        profile = _profile(ctx, conn, row.shop_id, now)
        if domain.negative_rules(profile) is None:
            raise domain.not_offered()
        reason = _text(reason, "reason", REASON_MAX, required=True)
        cleaned = _clean_evidence(evidence)
        earlier = store.appeals_of_review(conn, review_id)
        facts = domain.ReviewFacts(
            rating=row.rating,
            topic=Topic(row.topic),
            reviewed_at=row.created_at,
            removed=row.removed_by_appeal is not None,
            pending=any(a.outcome is None for a in earlier),
            earlier_evidence=frozenset(e.key for a in earlier for e in _evidence_of(a)),
            dismissed_before=any(a.outcome == AppealStatus.DISMISSED.value for a in earlier),
        )
        rules = domain.check_appeal(profile, facts, cleaned, now)
        _check_refs(conn, cleaned, row)
        expected_from, decide_by = domain.decision_window(profile, rules, now)
        try:
            with conn.begin_nested():
                appeal_id = store.insert_appeal(
                    conn,
                    review_id=review_id,
                    shop_id=row.shop_id,
                    attempt=len(earlier) + 1,
                    reason=reason,
                    evidence=[
                        {"kind": e.kind.value, "ref": e.ref, "description": e.description}
                        for e in cleaned
                    ],
                    filed_by=actor.id or "",
                    filed_at=now,
                    expected_from=expected_from,
                    decide_by=decide_by,
                    profile_id=profile.id,
                    profile_version=profile.version,
                )
        except IntegrityError:
            raise Conflict(
                "review_appeal.already_pending",
                N_("An appeal on this review is already waiting for a decision."),
                rule=RULE,
            ) from None
        return _appeal_view(conn, known(store.appeal(conn, appeal_id)))


def list_appeals(
    ctx: Context,
    actor: Actor,
    *,
    shop_code: str | None = None,
    status: AppealStatus | None = None,
    limit: int = 50,
) -> list[ReviewAppealView]:
    """A shop's own review appeals; the platform's every shop's (newest first)."""
    with ctx.db.read() as conn:
        shop_id = reader_shop(conn, actor, shop_code)
        rows = store.appeal_rows(
            conn,
            shop_id=shop_id,
            status=status.value if status else None,
            limit=min(max(limit, 1), MAX_PAGE),
        )
        return [_appeal_view(conn, r) for r in rows]


def decide_appeal(
    ctx: Context, actor: Actor, appeal_id: int, *, uphold: bool, note: str
) -> ReviewAppealView:
    """R12.3: an agent upholds (the review no longer counts) or dismisses the appeal, with
    a note, once (again: 409)."""
    now = ctx.now()
    with ctx.db.write() as conn:
        row = store.appeal(conn, appeal_id)
        if row is None:
            raise _appeal_not_found(appeal_id)
        if not is_agent(actor):
            if owns_shop(actor, row.shop_id):
                raise Forbidden(
                    "review_appeal.agents_only",
                    N_("Only a platform agent decides a review appeal."),
                    rule=RULE,
                )
            raise _appeal_not_found(appeal_id)
        require_scope(actor, Scope.CASES_WRITE)
        if row.outcome is not None:
            raise _already_decided(appeal_id)
        note = _text(note, "note", NOTE_MAX, required=True)
        outcome = domain.Outcome.UPHELD if uphold else domain.Outcome.DISMISSED
        try:
            with conn.begin_nested():
                store.insert_decision(
                    conn,
                    appeal_id=appeal_id,
                    review_id=row.review_id,
                    outcome=outcome.value,
                    note=note,
                    decided_by=actor.id or "",
                    now=now,
                )
        except IntegrityError:
            raise _already_decided(appeal_id) from None
        return _appeal_view(conn, known(store.appeal(conn, appeal_id)))


def _already_decided(appeal_id: int) -> Conflict:
    return Conflict(
        "review_appeal.already_decided",
        N_("Review appeal {id} has already been decided."),
        rule=RULE,
        id=appeal_id,
    )


def pending_review_appeals(conn: Connection) -> list[store.PendingAppeal]:
    """The agent queue's R12.3 items: every appeal awaiting a decision, soonest
    ``decide_by`` first (then the oldest filing, then the lowest id)."""
    return store.pending_rows(conn)
