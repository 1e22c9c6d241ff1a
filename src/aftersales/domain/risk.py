"""R15.2: a buyer's risk level, from facts about the buyer and the profile's risk rules.

Pure: :func:`assess` is a function of (:class:`BuyerFacts`, :class:`RiskRules`); storage
gathers the facts (``store.risk``) and services decide when to ask (``services.risk``).
Every signal that fired says why, as an English message id plus parameters, so an agent,
a judgment (R10.3) or an express-refund check (R7.1) can show its reasons.

Signals (names are the keys of ``[risk.weights]``, see ``policy.RISK_SIGNALS``):

- ``new_account``: the marketplace account is younger than ``new_account_days``;
- ``no_purchase_history``: fewer than ``min_purchase_history`` earlier paid orders;
- ``many_units_of_one_item``: the order being assessed has ``many_units_of_one_item`` or
  more units of one item;
- ``frequent_refunds``: ``frequent_refund_requests`` or more after-sales requests in the
  last ``refund_history_days``;
- ``vague_compensation_demands``: requests in that window with a merchant-side reason
  (R3.2) and a description of at most ``vague_description_max_chars`` characters;
- ``refused_photos``: claims about the goods (:data:`GOODS_CLAIM_GROUPS`) in that window
  opened without a photo or video of them (:data:`GOODS_IMAGERY`).

Each fired signal adds its weight once (a weight of 0 switches it off). The level is
``high`` from ``high_at`` points, ``medium`` from ``medium_at``, else ``low``; a confirmed
malicious-buyer report then raises it to at least ``confirmed_report_level``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from aftersales.domain.i18n import N_
from aftersales.domain.policy import EvidenceKind, RiskLevel, RiskRules
from aftersales.domain.reasons import ReasonGroup

NEW_ACCOUNT: Final = "new_account"
NO_PURCHASE_HISTORY: Final = "no_purchase_history"
MANY_UNITS_OF_ONE_ITEM: Final = "many_units_of_one_item"
FREQUENT_REFUNDS: Final = "frequent_refunds"
VAGUE_COMPENSATION_DEMANDS: Final = "vague_compensation_demands"
REFUSED_PHOTOS: Final = "refused_photos"
CONFIRMED_MALICIOUS_REPORT: Final = "confirmed_malicious_report"

# R15.2 "refusing to photograph the goods": claims about goods the buyer holds, which a
# photo or video would show (quality defects, not as described, wrong/missing/damaged).
# Logistics claims (not received, lost) have nothing to photograph.
GOODS_CLAIM_GROUPS: Final[tuple[ReasonGroup, ...]] = (
    ReasonGroup.QUALITY,
    ReasonGroup.MISMATCH,
    ReasonGroup.FULFILMENT,
)
# Evidence that shows the goods: any of these at opening means the buyer did not refuse.
GOODS_IMAGERY: Final[tuple[EvidenceKind, ...]] = (
    EvidenceKind.PHOTO,
    EvidenceKind.VIDEO,
    EvidenceKind.UNBOXING_VIDEO,
)

LEVEL_LABELS: Final = MappingProxyType(
    {
        RiskLevel.LOW: N_("Low risk"),
        RiskLevel.MEDIUM: N_("Medium risk"),
        RiskLevel.HIGH: N_("High risk"),
    }
)

SIGNAL_LABELS: Final = MappingProxyType(
    {
        NEW_ACCOUNT: N_("New account"),
        NO_PURCHASE_HISTORY: N_("No purchase history"),
        MANY_UNITS_OF_ONE_ITEM: N_("Many units of one item"),
        FREQUENT_REFUNDS: N_("Frequent after-sales requests"),
        VAGUE_COMPENSATION_DEMANDS: N_("Compensation demands without details"),
        REFUSED_PHOTOS: N_("Claims without a photo of the goods"),
        CONFIRMED_MALICIOUS_REPORT: N_("Confirmed malicious-buyer report"),
    }
)


@dataclass(frozen=True, slots=True)
class BuyerFacts:
    """What R15.2 looks at, gathered for one buyer at one moment (``now``)."""

    account_age_days: int  # whole days since the marketplace account was made
    earlier_paid_orders: int  # paid orders before the one assessed (or before now)
    max_units_of_one_item: int  # in the order assessed; 0 without one
    requests_in_window: int  # after-sales requests opened in the window
    vague_compensation_demands: int  # merchant-side reason, (near-)blank description
    claims_without_photo: int  # claims about the goods opened without a photo or video
    confirmed_reports: int  # confirmed malicious-buyer reports (R15.2), any shop


@dataclass(frozen=True, slots=True)
class Signal:
    """One reason the level is what it is: ``message`` is an English message id whose
    placeholders ``params`` fill (interfaces translate it; a ``level`` parameter is a
    :class:`RiskLevel` value, shown by its label)."""

    name: str  # a key of [risk.weights], or CONFIRMED_MALICIOUS_REPORT
    points: int
    message: str
    params: Mapping[str, int | str] = field(default_factory=lambda: MappingProxyType({}))
    raises_to: RiskLevel | None = None  # a floor on the level (a confirmed report)


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    level: RiskLevel
    score: int
    signals: tuple[Signal, ...]

    def passes(self, max_level: RiskLevel) -> bool:
        """R7.1: the buyer passes a risk check that admits levels up to ``max_level``."""
        return self.level.rank <= max_level.rank


def _signal(rules: RiskRules, name: str, message: str, **params: int) -> Signal | None:
    points = rules.weights[name]
    if points <= 0:
        return None  # the operator switched this signal off
    return Signal(name, points, message, MappingProxyType(params))


def _weighted(facts: BuyerFacts, rules: RiskRules) -> list[Signal | None]:
    window = rules.refund_history_days
    fired: list[Signal | None] = []
    if facts.account_age_days < rules.new_account_days:
        fired.append(
            _signal(
                rules,
                NEW_ACCOUNT,
                N_("Account age: {days} days; an account younger than {limit} days is new."),
                days=facts.account_age_days,
                limit=rules.new_account_days,
            )
        )
    if facts.earlier_paid_orders < rules.min_purchase_history:
        fired.append(
            _signal(
                rules,
                NO_PURCHASE_HISTORY,
                N_("Earlier paid orders: {count}; fewer than {min} means no purchase history."),
                count=facts.earlier_paid_orders,
                min=rules.min_purchase_history,
            )
        )
    if facts.max_units_of_one_item >= rules.many_units_of_one_item:
        fired.append(
            _signal(
                rules,
                MANY_UNITS_OF_ONE_ITEM,
                N_("Units of one item in this order: {units}; {limit} or more is many."),
                units=facts.max_units_of_one_item,
                limit=rules.many_units_of_one_item,
            )
        )
    if facts.requests_in_window >= rules.frequent_refund_requests:
        fired.append(
            _signal(
                rules,
                FREQUENT_REFUNDS,
                N_(
                    "After-sales requests in the last {days} days: {count}; "
                    "{limit} or more is frequent."
                ),
                count=facts.requests_in_window,
                days=window,
                limit=rules.frequent_refund_requests,
            )
        )
    if facts.vague_compensation_demands > 0:
        fired.append(
            _signal(
                rules,
                VAGUE_COMPENSATION_DEMANDS,
                N_(
                    "Requests in the last {days} days blaming the merchant without details "
                    "(a description of at most {chars} characters): {count}."
                ),
                count=facts.vague_compensation_demands,
                days=window,
                chars=rules.vague_description_max_chars,
            )
        )
    if facts.claims_without_photo > 0:
        fired.append(
            _signal(
                rules,
                REFUSED_PHOTOS,
                N_(
                    "Claims about the goods in the last {days} days without a photo or "
                    "video of them: {count}."
                ),
                count=facts.claims_without_photo,
                days=window,
            )
        )
    return fired


def level_for(score: int, rules: RiskRules) -> RiskLevel:
    """The level a score reaches on the profile's thresholds (before any report floor)."""
    if score >= rules.high_at:
        return RiskLevel.HIGH
    if score >= rules.medium_at:
        return RiskLevel.MEDIUM
    return RiskLevel.LOW


def assess(facts: BuyerFacts, rules: RiskRules) -> RiskAssessment:
    """R15.2: the buyer's risk level, its score and every signal that made it."""
    signals = [s for s in _weighted(facts, rules) if s is not None]
    score = sum(s.points for s in signals)
    level = level_for(score, rules)
    if facts.confirmed_reports > 0:
        floor = rules.confirmed_report_level
        signals.append(
            Signal(
                CONFIRMED_MALICIOUS_REPORT,
                0,
                N_("Confirmed malicious-buyer reports: {count}; the level is at least {level}."),
                MappingProxyType({"count": facts.confirmed_reports, "level": floor.value}),
                raises_to=floor,
            )
        )
        if floor.rank > level.rank:
            level = floor
    return RiskAssessment(level, score, tuple(signals))
