"""Reviewed orders for the R12.3 tests, built through the real services.

Every number comes from the profile under test: the shipped ``tiktok`` profile, or a copy
with other numbers (:func:`install_other_numbers`) so that nothing is hard-coded.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aftersales.domain.policy import NegativeReviewAppealRules, Profile
from aftersales.domain.reviews import EvidenceKind, EvidenceRef, Topic
from aftersales.services import messages as messages_svc
from aftersales.services import orders as orders_svc
from aftersales.services import reviews as svc
from aftersales.services.actors import Actor
from aftersales.services.context import Context
from aftersales.store import catalog as catalog_store
from tests.factories import World, make_world

ORDER_SYSTEM = Actor.system("order-system")
AGENT = Actor.platform("agent-9")
_seq = itertools.count(1)


def rules(ctx: Context, profile_id: str = "tiktok") -> NegativeReviewAppealRules:
    profile = ctx.profiles.current[profile_id]
    assert profile.appeals is not None and profile.appeals.negative_review is not None
    return profile.appeals.negative_review


def with_review_rules(profile: Profile, **changes: Any) -> Profile:
    """A copy of ``profile`` (a new version) with other [appeals.negative_review] numbers."""
    assert profile.appeals is not None and profile.appeals.negative_review is not None
    nr = profile.appeals.negative_review.model_copy(update=changes)
    appeals = profile.appeals.model_copy(update={"negative_review": nr})
    return profile.model_copy(update={"version": profile.version + 1000, "appeals": appeals})


OTHER_NUMBERS: dict[str, Any] = {
    "window_days": 10,
    "decision_workdays_min": 2,
    "decision_workdays_max": 3,
    "excluded_topics": ("logistics", "price"),
    "required_evidence": ("order", "chat"),
    "negative_max_rating": 3,
}


def install_other_numbers(ctx: Context, profile_id: str = "tiktok") -> None:
    ctx.profiles.current[profile_id] = with_review_rules(
        ctx.profiles.current[profile_id], **OTHER_NUMBERS
    )


def appealable_topic(r: NegativeReviewAppealRules) -> Topic:
    return next(t for t in Topic if t.value not in r.excluded_topics)


@dataclass
class Reviewed:
    """A signed order of the world's buyer, a case on it with a buyer message (chat
    evidence), and the buyer's review of its line."""

    world: World
    profile_id: str
    order_number: str
    line_id: int
    case_number: str
    message_id: int
    tracking: str  # a logistics reference (the order has no parcel recorded)
    review: svc.ReviewView

    @property
    def shop(self) -> Actor:
        return self.world.merchant

    @property
    def rules(self) -> NegativeReviewAppealRules:
        return rules(self.world.ctx, self.profile_id)

    def evidence(self, kinds: Iterable[str] | None = None) -> list[EvidenceRef]:
        """One reference per kind (default: every kind the profile requires)."""
        wanted = list(kinds) if kinds is not None else list(self.rules.required_evidence)
        refs = {
            EvidenceKind.ORDER: self.order_number,
            EvidenceKind.LOGISTICS: self.tracking,
            EvidenceKind.CHAT: f"message:{self.message_id}",
        }
        return [EvidenceRef(EvidenceKind(k), refs[EvidenceKind(k)], f"{k} proof") for k in wanted]

    def new_chat_message(self) -> EvidenceRef:
        """Another published message on the order's case: new chat evidence."""
        msg = messages_svc.post_message(
            self.world.ctx, self.world.buyer, self.case_number, "Sorry, wrong shop."
        )
        return EvidenceRef(EvidenceKind.CHAT, f"message:{msg.id}", "the buyer's apology")


def tiktok_world(ctx: Context) -> World:
    return make_world(ctx, profile_id="tiktok")


def reviewed(
    w: World,
    *,
    rating: int | None = None,
    topic: Topic | None = None,
    created_at: datetime | None = None,
    product: str = "plain",
) -> Reviewed:
    """A negative review (the profile's ``negative_max_rating``, an appealable topic)
    unless told otherwise, pushed by the order system."""
    ctx = w.ctx
    profile_id = _profile_id(ctx, w.shop_id)
    profile = ctx.profiles.current[profile_id]
    nr = profile.appeals.negative_review if profile.appeals else None
    number = w.order(product=product)
    case = w.open(order=number)
    msg = messages_svc.post_message(ctx, w.buyer, case, "The courier left it in the rain.")
    assert msg.status == "published", msg
    review = svc.record_review(
        ctx,
        ORDER_SYSTEM,
        order_number=number,
        order_line_id=w.line_id(number),
        rating=rating if rating is not None else (nr.negative_max_rating if nr else 1),
        topic=topic or (appealable_topic(nr) if nr else Topic.LOGISTICS),
        text="Terrible.",
        created_at=created_at,
    )
    tracking = f"SF{1_200_000_000_000 + next(_seq)}"
    return Reviewed(w, profile_id, number, w.line_id(number), case, msg.id, tracking, review)


def _profile_id(ctx: Context, shop_id: int) -> str:
    with ctx.db.read() as conn:
        shop = catalog_store.get_shop(conn, shop_id)
        assert shop is not None
        return shop.profile_id


def add_parcel(w: World, order_number: str) -> str:
    """An outbound parcel of the order (R16); returns its tracking number."""
    tracking = f"SF{1_300_000_000_000 + next(_seq)}"
    orders_svc.record_fulfilment(
        w.ctx,
        ORDER_SYSTEM,
        order_number,
        shipped_at=w.ctx.now() - timedelta(days=3),
        carrier="SF",
        tracking_number=tracking,
    )
    return tracking


def file(r: Reviewed, evidence: list[EvidenceRef] | None = None, **kw: Any) -> svc.ReviewAppealView:
    return svc.file_appeal(
        r.world.ctx,
        kw.pop("actor", r.shop),
        r.review.id,
        reason=kw.pop("reason", "The buyer reviewed another shop's parcel."),
        evidence=r.evidence() if evidence is None else evidence,
    )


def rate(ctx: Context, product_id: int) -> float | None:
    with ctx.db.read() as conn:
        return svc.positive_review_rate(conn, product_id, ctx.now())
