"""Product reviews and negative-review appeals (R12.3). Pure: no I/O, no clock reads.

A buyer reviews an order line with a rating on the 1-5 scale and a topic. Where the
profile offers negative-review appeals (``[appeals.negative_review]``, tiktok), a review
rated at most ``negative_max_rating`` is *negative*, and the shop may appeal it:

* within ``window_days`` of the review: the review's local day (profile time zone) plus
  ``window_days`` is the last day, the appeal is on time until that day ends;
* never about a topic in ``excluded_topics`` (product quality, service);
* with evidence of every kind in ``required_evidence`` (order, logistics, chat);
* one appeal at a time; a review an upheld appeal removed is not appealed again;
* after a dismissal, only with evidence not named by an earlier attempt.

An agent decides between ``decision_workdays_min`` and ``decision_workdays_max`` working
days after filing (the profile's calendar); ``decide_by`` is the end of the local day
``decision_workdays_max`` working days after the filing day.

A profile without the table does not offer the appeal, and for it no review is negative
(:func:`is_negative` answers None): the threshold is the profile's, never a constant here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from aftersales.domain.calendar import add_workdays, end_of_local_day
from aftersales.domain.errors import Conflict, IllegalTransition, ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.policy import NegativeReviewAppealRules, Profile

RULE = "R12.3"

# The rating scale (a fixed vocabulary, like the topics).
RATING_MIN = 1
RATING_MAX = 5
# A positive review for the product's positive-review rate (R10.3 signal): 4 or 5 stars.
POSITIVE_MIN_RATING = 4


class Topic(StrEnum):
    """What a review is about (the marketplace's fixed vocabulary)."""

    PRODUCT_QUALITY = "product_quality"
    SERVICE = "service"
    LOGISTICS = "logistics"
    DESCRIPTION_MISMATCH = "description_mismatch"
    PRICE = "price"
    OTHER = "other"


TOPIC_LABELS: dict[Topic, str] = {
    Topic.PRODUCT_QUALITY: N_("Product quality"),
    Topic.SERVICE: N_("Service"),
    Topic.LOGISTICS: N_("Logistics"),
    Topic.DESCRIPTION_MISMATCH: N_("Not as described"),
    Topic.PRICE: N_("Price"),
    Topic.OTHER: N_("Other"),
}


class ReviewSource(StrEnum):
    PLATFORM = "platform"  # pushed by the marketplace (an integration or an admin)
    BUYER = "buyer"  # written here by the order's buyer


class EvidenceKind(StrEnum):
    """R12.3: the kinds of evidence an appeal brings."""

    ORDER = "order"  # the order number of the reviewed order
    LOGISTICS = "logistics"  # a tracking number of the order's parcels
    CHAT = "chat"  # a case message or evidence item on a case of the order


class AppealStatus(StrEnum):
    PENDING = "pending"
    UPHELD = "upheld"  # the review is removed: it no longer counts
    DISMISSED = "dismissed"  # the review stays; a retry needs new evidence


STATUS_LABELS: dict[AppealStatus, str] = {
    AppealStatus.PENDING: N_("Pending"),
    AppealStatus.UPHELD: N_("Upheld: the review no longer counts"),
    AppealStatus.DISMISSED: N_("Dismissed: the review stays"),
}


class Outcome(StrEnum):
    UPHELD = "upheld"
    DISMISSED = "dismissed"


@dataclass(frozen=True, slots=True)
class EvidenceRef:
    kind: EvidenceKind
    ref: str
    description: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """What makes two references the same evidence (kind and reference)."""
        return (self.kind.value, normalise_ref(self.ref))


def normalise_ref(ref: str) -> str:
    return ref.strip().upper()


def negative_rules(profile: Profile) -> NegativeReviewAppealRules | None:
    """The profile's R12.3 table, or None where negative-review appeals are not offered."""
    return profile.appeals.negative_review if profile.appeals is not None else None


def is_negative(rating: int, rules: NegativeReviewAppealRules | None) -> bool | None:
    """A negative review under ``rules``; None where the profile defines no threshold."""
    if rules is None:
        return None
    return rating <= rules.negative_max_rating


def is_positive(rating: int) -> bool:
    return rating >= POSITIVE_MIN_RATING


def window_end(
    profile: Profile, rules: NegativeReviewAppealRules, reviewed_at: datetime
) -> datetime:
    """R12.3: the first instant an appeal is late. The review's local day plus
    ``window_days`` is the last day on time (the review at 10:00 on 1 May, 30 days: an
    appeal at 23:59:59 on 31 May is on time, at 00:00 on 1 June it is late)."""
    day = reviewed_at.astimezone(ZoneInfo(profile.timezone)).date()
    return end_of_local_day(day + timedelta(days=rules.window_days), profile.timezone)


def decision_window(
    profile: Profile, rules: NegativeReviewAppealRules, filed_at: datetime
) -> tuple[datetime, datetime]:
    """R12.3: (expected_from, decide_by). ``expected_from`` is the start of the local day
    ``decision_workdays_min`` working days after the filing day; ``decide_by`` the end of
    the local day ``decision_workdays_max`` working days after it (profile calendar)."""
    tz = ZoneInfo(profile.timezone)
    filed_day = filed_at.astimezone(tz).date()
    first = add_workdays(filed_day, rules.decision_workdays_min, profile.calendar)
    last = add_workdays(filed_day, rules.decision_workdays_max, profile.calendar)
    start = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    return start, end_of_local_day(last, profile.timezone)


@dataclass(frozen=True, slots=True)
class ReviewFacts:
    """What the appeal rules need to know about the review and its earlier appeals."""

    rating: int
    topic: Topic
    reviewed_at: datetime
    removed: bool  # an upheld appeal removed it
    pending: bool  # an appeal on it awaits the agent
    earlier_evidence: frozenset[tuple[str, str]]  # keys named by earlier attempts
    dismissed_before: bool  # an earlier attempt was dismissed


def not_offered() -> IllegalTransition:
    return IllegalTransition(
        "review_appeal.not_offered",
        N_("Negative-review appeals are not offered on this marketplace."),
        rule=RULE,
    )


def check_appeal(
    profile: Profile, facts: ReviewFacts, evidence: Sequence[EvidenceRef], now: datetime
) -> NegativeReviewAppealRules:
    """R12.3: may the shop appeal this review now with this evidence? Returns the rules
    applied; raises the first refusal, each naming R12.3."""
    rules = negative_rules(profile)
    if rules is None:
        raise not_offered()
    if facts.removed:
        raise IllegalTransition(
            "review_appeal.review_removed",
            N_("This review was already removed by an upheld appeal."),
            rule=RULE,
        )
    if not is_negative(facts.rating, rules):
        raise IllegalTransition(
            "review_appeal.not_negative",
            N_("Only a negative review (rated {max} or lower) can be appealed."),
            rule=RULE,
            max=rules.negative_max_rating,
        )
    if facts.topic.value in rules.excluded_topics:
        raise IllegalTransition(
            "review_appeal.topic_excluded",
            N_("A review about {topic} cannot be appealed."),
            rule=RULE,
            topic=facts.topic.value,
        )
    due = window_end(profile, rules, facts.reviewed_at)
    if now >= due:
        raise IllegalTransition(
            "review_appeal.window_closed",
            N_("A review is appealed within {days} days; this one's time ended at {due}."),
            rule=RULE,
            days=rules.window_days,
            due=due.isoformat(),
        )
    if facts.pending:
        raise Conflict(
            "review_appeal.already_pending",
            N_("An appeal on this review is already waiting for a decision."),
            rule=RULE,
        )
    given = {e.kind.value for e in evidence}
    for kind in rules.required_evidence:
        if kind not in given:
            raise ValidationFailed(
                "review_appeal.evidence_missing",
                N_("An appeal needs {kind} evidence."),
                rule=RULE,
                field="evidence",
                kind=kind,
            )
    if facts.dismissed_before and not {e.key for e in evidence} - facts.earlier_evidence:
        raise ValidationFailed(
            "review_appeal.no_new_evidence",
            N_("A dismissed appeal is retried only with evidence not named before."),
            rule=RULE,
            field="evidence",
        )
    return rules
