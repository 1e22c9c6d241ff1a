"""R10: the judgment (判责) engine, which recommends a ruling on a dispute from facts,
evidence, signals and the profile's rules, and says what decided it.

Pure: :func:`recommend` is a function of (:class:`DisputeFacts`, evidence,
:class:`Signals`, :class:`~aftersales.domain.policy.Judgment`). There is no rule in this
module: the rules are rows of the profile's ``[judgment]`` section, each a declarative
condition (``when``) with an effect (a lean, a decision, an allocation); the engine
evaluates every row the same way.

How a recommendation is made:

1. Evidence that is irrelevant, untrue, about another claim or late is set aside
   (R9.3), and listed as such. The rest weighs by kind (``evidence_weights``); the buyer's
   first submission weighs ``first_submission_multiplier`` times as much (R9.3).
2. Every rule whose condition holds applies. A deciding rule (merchant silence, out of
   window, approved force majeure) decides at once with its confidence.
3. Otherwise each side's support is its evidence plus the leans of the rules that hold
   (facts on record, such as a late shipment, need no proof from the buyer), and the
   signals of R10.3 lean one way or the other. R10.1: a buyer whose support is below
   ``min_buyer_support`` has insufficient evidence and loses; otherwise the side the
   balance favours wins.
4. A buyer's win takes the allocation (liability, remedy, freight, return risk) of the
   first rule that sets one, filled from ``default_allocation`` and ``remedies`` by
   request type (R10.4); a loss takes ``reject_allocation``.

Every applied rule, weighed item and signal is a :class:`Factor` with an English message
id and parameters (R10.5). :func:`override` lets an agent replace the recommendation, only
with a written reason (R10.5).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from aftersales.domain.case_types import CaseType
from aftersales.domain.errors import ValidationFailed
from aftersales.domain.i18n import N_
from aftersales.domain.money import Money
from aftersales.domain.policy import (
    Allocation,
    Condition,
    EvidenceKind,
    FreightPayer,
    Issue,
    Judgment,
    JudgmentRule,
    Liability,
    Party,
    Remedy,
    RiskLevel,
    Side,
)
from aftersales.domain.reasons import ReasonGroup

Params = Mapping[str, str | int | float]


def _params(**values: str | int | float) -> Params:
    return MappingProxyType(values)


@dataclass(frozen=True, slots=True)
class DisputeFacts:
    """What the platform knows about a dispute, apart from the evidence and the signals.

    Facts on record come from the order, the parcels and the case (not from either
    party's word); the claim is what the buyer says happened.
    """

    case_type: CaseType  # R2: the request type (sets the remedy of a buyer's win)
    reason_code: str  # R3.1: the request's reason code
    reason_group: ReasonGroup  # R3.1: its group
    issue: Issue  # the buyer's claim, e.g. counterfeit, minor defect, lost in transit
    requested: Money  # the amount the buyer asks for (carried into the ruling)
    reported_at: datetime  # when the buyer raised the issue
    signed_at: datetime | None = None  # when the buyer signed for the goods (None: not)
    in_window: bool = True  # R4: raised inside its window (statutory cap included)
    shipped_late: bool = False  # shipped after the promised ship-by time (order record)
    intercept_missed: bool = False  # R16.2: an intercept was possible but not attempted
    parcel_lost: bool = False  # the carrier confirmed the parcel lost
    merchant_responded: bool = True  # R9.3: responded before its deadline (24 h / 2 h)
    shipping_insurance: bool = False  # R16.3: the order carries shipping insurance

    @property
    def days_after_signing(self) -> int | None:
        """Whole days from signing to the report (None when never signed)."""
        if self.signed_at is None:
            return None
        return max((self.reported_at - self.signed_at).days, 0)


@dataclass(frozen=True, slots=True)
class EvidenceFact:
    """One piece of evidence as the agent (or the platform's checks) assessed it."""

    id: str  # the evidence item's reference, shown in the explanation
    party: Party  # R9.3: who submitted it
    kind: EvidenceKind
    supports: Side  # whom it supports: buyer, merchant, or neither
    claim: Issue | None = None  # the claim it speaks to (None: the dispute as a whole)
    first_submission: bool = False  # R9.3: part of the buyer's first submission
    relevant: bool = True  # R9.3: relevant to the dispute
    credible: bool = True  # R9.3: true (not forged, not contradicted by records)
    in_time: bool = True  # R9.3: submitted before the evidence deadline


@dataclass(frozen=True, slots=True)
class Signals:
    """R10.3: what the platform knows besides the evidence."""

    positive_review_rate: float | None = None  # the product's, 0..1 (None: no reviews)
    shop_complaints: int = 0  # the shop's past complaints (merchant-liable disputes)
    shop_orders: int = 0  # the shop's orders over the same period
    buyer_risk: RiskLevel = RiskLevel.LOW  # R15.2
    force_majeure_approved: bool = False  # R15.1: an approved report covers the order


class FactorKind(StrEnum):
    RULE = "rule"
    EVIDENCE = "evidence"
    SIGNAL = "signal"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class Factor:
    """One thing that decided (or, for ``ignored``, did not count toward) a
    recommendation: ``message`` is an English message id filled by ``params``. The
    parameters ``side``, ``party``, ``kind`` and ``level`` are code values (``buyer``,
    ``photo``, ``high``): interfaces show them by their labels, as with ``risk.Signal``."""

    kind: FactorKind
    ref: str  # a rule id, an evidence id or a signal name
    clause: str  # the rulebook clause
    toward: Side
    weight: float  # how far it moved the balance toward ``toward`` (0: allocation only)
    message: str
    params: Params = field(default_factory=lambda: _params())


@dataclass(frozen=True, slots=True)
class Decision:
    """R10.4: what a ruling allocates."""

    liability: Liability
    remedy: Remedy
    freight_payer: FreightPayer
    return_risk: Liability

    @property
    def buyer_succeeds(self) -> bool:
        return self.remedy is not Remedy.REJECT


@dataclass(frozen=True, slots=True)
class Recommendation:
    decision: Decision
    decided_for: Side  # buyer or merchant
    basis: str  # R10.1 branch or "rule" (see BASIS_LABELS)
    confidence: float  # 0..1
    buyer_support: float
    merchant_support: float
    balance: float  # toward the buyer (negative: toward the merchant), signals included
    factors: tuple[Factor, ...]  # rules, evidence and signals that decided it (R10.5)
    ignored: tuple[Factor, ...]  # evidence set aside, and why (R9.3)

    @property
    def buyer_succeeds(self) -> bool:
        return self.decision.buyer_succeeds

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(f.ref for f in self.factors if f.kind is FactorKind.RULE)


BASIS_RULE = "rule"
BASIS_BUYER_EVIDENCE = "buyer_evidence"
BASIS_MERCHANT_EVIDENCE = "merchant_evidence"
BASIS_INSUFFICIENT = "insufficient"

BASIS_LABELS: Mapping[str, str] = MappingProxyType(
    {
        BASIS_RULE: N_("Decided by a rule"),
        BASIS_BUYER_EVIDENCE: N_("The evidence supports the buyer"),
        BASIS_MERCHANT_EVIDENCE: N_("The evidence supports the merchant"),
        BASIS_INSUFFICIENT: N_("The buyer's evidence is insufficient"),
    }
)


# ------------------------------------------------------------------------------ evidence
def _set_aside(item: EvidenceFact, issue: Issue) -> Factor | None:
    """R9.3: why an item does not count, or None when it counts."""
    if not item.relevant:
        why = N_("Evidence {evidence} is not relevant to the dispute and is not counted.")
    elif not item.credible:
        why = N_("Evidence {evidence} is not credible and is not counted.")
    elif not item.in_time:
        why = N_("Evidence {evidence} came after the evidence deadline and is not counted.")
    elif item.claim is not None and item.claim is not issue:
        why = N_("Evidence {evidence} speaks to another claim and is not counted.")
    else:
        return None
    return Factor(
        FactorKind.IGNORED,
        item.id,
        "R9.3",
        item.supports,
        0.0,
        why,
        _params(evidence=item.id, kind=item.kind.value),
    )


def _weigh(item: EvidenceFact, policy: Judgment) -> Factor:
    weight = policy.evidence_weights.get(item.kind, 0.0)
    if item.party is Party.BUYER and item.first_submission:
        weight *= policy.first_submission_multiplier
        message = N_(
            "Evidence {evidence} ({kind}, the buyer's first submission) supports the "
            "{side}: weight {weight}."
        )
    else:
        message = N_(
            "Evidence {evidence} ({kind}, from the {party}) supports the {side}: weight {weight}."
        )
    toward = item.supports if weight > 0 else Side.NEUTRAL
    return Factor(
        FactorKind.EVIDENCE,
        item.id,
        "R9.3" if item.first_submission else "R10.1",
        toward,
        round(weight, 4),
        message,
        _params(
            evidence=item.id,
            kind=item.kind.value,
            party=item.party.value,
            side=item.supports.value,
            weight=round(weight, 2),
        ),
    )


# ------------------------------------------------------------------------------ rules
def _flags(facts: DisputeFacts, signals: Signals) -> dict[str, bool]:
    """The yes/no facts a rule may test, by their names in ``policy.JUDGMENT_FACTS``."""
    return {
        "in_window": facts.in_window,
        "signed": facts.signed_at is not None,
        "shipped_late": facts.shipped_late,
        "intercept_missed": facts.intercept_missed,
        "parcel_lost": facts.parcel_lost,
        "merchant_responded": facts.merchant_responded,
        "shipping_insurance": facts.shipping_insurance,
        "force_majeure_approved": signals.force_majeure_approved,
    }


def holds(
    when: Condition,
    facts: DisputeFacts,
    signals: Signals,
    admitted: Sequence[EvidenceFact],
) -> bool:
    """Whether a rule's condition holds: every non-empty part of it."""
    if when.case_types and facts.case_type not in when.case_types:
        return False
    if when.reason_groups and facts.reason_group not in when.reason_groups:
        return False
    if when.reason_codes and facts.reason_code not in when.reason_codes:
        return False
    if when.issues and facts.issue not in when.issues:
        return False
    flags = _flags(facts, signals)
    if any(flags[name] is not value for name, value in when.facts.items()):
        return False
    days = facts.days_after_signing
    if when.min_days_after_signing is not None and (
        days is None or days < when.min_days_after_signing
    ):
        return False
    if when.max_days_after_signing is not None and (
        days is None or days > when.max_days_after_signing
    ):
        return False
    return all(
        any(
            e.party is need.party and e.kind in need.kinds and e.supports is need.supports
            for e in admitted
        )
        for need in when.evidence
    )


def _rule_factor(rule: JudgmentRule) -> Factor:
    if rule.decides is not None:
        message = N_("Rule {rule} ({clause}) decides for the {side}.")
        toward, weight = rule.decides, 0.0
    elif rule.lean is not Side.NEUTRAL:
        message = N_("Rule {rule} ({clause}) leans toward the {side}: weight {weight}.")
        toward, weight = rule.lean, rule.weight
    else:
        message = N_("Rule {rule} ({clause}) sets liability, remedy, freight and return risk.")
        toward, weight = Side.NEUTRAL, 0.0
    return Factor(
        FactorKind.RULE,
        rule.id,
        rule.clause,
        toward,
        weight,
        message,
        _params(rule=rule.id, clause=rule.clause, side=toward.value, weight=round(weight, 2)),
    )


# ------------------------------------------------------------------------------ signals
def completeness(
    facts: DisputeFacts, admitted: Sequence[EvidenceFact], policy: Judgment
) -> float | None:
    """R10.3: the share of the reason's evidence template that admitted evidence for the
    buyer fills, the buyer's own or the platform's records (None: no template for the
    reason's group)."""
    template = policy.template_for(facts.reason_group)
    if template is None:
        return None
    kinds = {e.kind for e in admitted if e.party is not Party.MERCHANT and e.supports is Side.BUYER}
    filled = sum(1 for slot in template.slots if kinds & set(slot))
    return filled / len(template.slots)


def _signals(
    facts: DisputeFacts, admitted: Sequence[EvidenceFact], signals: Signals, policy: Judgment
) -> list[Factor]:
    rules = policy.signals
    out: list[Factor] = []
    rate = signals.positive_review_rate
    if rate is not None and rate < rules.positive_review_threshold and rules.low_review_weight:
        out.append(
            Factor(
                FactorKind.SIGNAL,
                "positive_review_rate",
                "R10.3",
                Side.BUYER,
                rules.low_review_weight,
                N_(
                    "The product's positive-review rate {rate}% is below {threshold}%: leans "
                    "toward merchant liability."
                ),
                _params(
                    rate=round(rate * 100, 1),
                    threshold=round(rules.positive_review_threshold * 100, 1),
                ),
            )
        )
    if (
        signals.shop_orders > 0
        and signals.shop_complaints >= rules.min_complaints
        and signals.shop_complaints / signals.shop_orders >= rules.complaint_rate_at
        and rules.complaints_weight
    ):
        out.append(
            Factor(
                FactorKind.SIGNAL,
                "shop_complaints",
                "R10.3",
                Side.BUYER,
                rules.complaints_weight,
                N_(
                    "The shop's past complaints: {count} in {orders} orders, at or above "
                    "{threshold}%."
                ),
                _params(
                    count=signals.shop_complaints,
                    orders=signals.shop_orders,
                    threshold=round(rules.complaint_rate_at * 100, 2),
                ),
            )
        )
    share = completeness(facts, admitted, policy)
    if share is not None and share >= rules.complete_at and rules.complete_weight:
        out.append(
            Factor(
                FactorKind.SIGNAL,
                "evidence_completeness",
                "R10.3",
                Side.BUYER,
                rules.complete_weight,
                N_("Evidence for the buyer fills {percent}% of the template for this reason."),
                _params(percent=round(share * 100)),
            )
        )
    elif share is not None and share < rules.incomplete_below and rules.incomplete_weight:
        out.append(
            Factor(
                FactorKind.SIGNAL,
                "evidence_completeness",
                "R10.3",
                Side.MERCHANT,
                rules.incomplete_weight,
                N_("Evidence for the buyer fills only {percent}% of the template for this reason."),
                _params(percent=round(share * 100)),
            )
        )
    risk = rules.risk_weights[signals.buyer_risk]
    if risk:
        out.append(
            Factor(
                FactorKind.SIGNAL,
                "buyer_risk",
                "R10.3",
                Side.MERCHANT,
                risk,
                N_("The buyer's risk level is {level}."),
                _params(level=signals.buyer_risk.value),
            )
        )
    return out


# ------------------------------------------------------------------------------ decision
def _allocate(
    found: Allocation | None, case_type: CaseType, base: Allocation, policy: Judgment
) -> Decision:
    alloc = found or Allocation()
    remedy = alloc.remedy or base.remedy or policy.remedies[case_type]
    liability = alloc.liability or base.liability
    freight = alloc.freight_payer or base.freight_payer
    risk = alloc.return_risk or base.return_risk
    assert liability is not None and freight is not None and risk is not None  # validated
    return Decision(liability, remedy, freight, risk)


def _confidence(margin: float, policy: Judgment) -> float:
    m = abs(margin)
    return round(0.5 + 0.5 * m / (m + policy.confidence_half_at), 4)


def recommend(
    facts: DisputeFacts,
    evidence: Sequence[EvidenceFact],
    signals: Signals,
    policy: Judgment,
) -> Recommendation:
    """R10: the recommended ruling on a dispute, with everything that decided it."""
    ignored: list[Factor] = []
    admitted: list[EvidenceFact] = []
    for item in evidence:
        aside = _set_aside(item, facts.issue)
        if aside is None:
            admitted.append(item)
        else:
            ignored.append(aside)

    matched = [r for r in policy.rules if holds(r.when, facts, signals, admitted)]
    deciding = next((r for r in matched if r.decides is not None), None)
    if deciding is not None:
        assert deciding.decides is not None
        base = (
            policy.default_allocation
            if deciding.decides is Side.BUYER
            else policy.reject_allocation
        )
        return Recommendation(
            decision=_allocate(deciding.allocation, facts.case_type, base, policy),
            decided_for=deciding.decides,
            basis=BASIS_RULE,
            confidence=deciding.confidence,
            buyer_support=0.0,
            merchant_support=0.0,
            balance=0.0,
            factors=(_rule_factor(deciding),),
            ignored=tuple(ignored),
        )

    weighed = [_weigh(e, policy) for e in admitted]
    rule_factors = [_rule_factor(r) for r in matched]
    support = {Side.BUYER: 0.0, Side.MERCHANT: 0.0}
    for f in (*weighed, *rule_factors):
        if f.toward in support:
            support[f.toward] += f.weight
    leaning = _signals(facts, admitted, signals, policy)
    balance = support[Side.BUYER] - support[Side.MERCHANT]
    balance += sum(f.weight if f.toward is Side.BUYER else -f.weight for f in leaning)

    if support[Side.BUYER] < policy.min_buyer_support:  # R10.1 third branch
        winner, basis = Side.MERCHANT, BASIS_INSUFFICIENT
        margin = max(abs(balance), policy.min_buyer_support - support[Side.BUYER])
    elif balance > 0:
        winner, basis, margin = Side.BUYER, BASIS_BUYER_EVIDENCE, balance
    else:
        winner, basis, margin = Side.MERCHANT, BASIS_MERCHANT_EVIDENCE, balance

    if winner is Side.BUYER:
        allocating = next((r for r in matched if r.allocation is not None), None)
        found = allocating.allocation if allocating is not None else None
        decision = _allocate(found, facts.case_type, policy.default_allocation, policy)
        deciding_rules = [
            f
            for f, r in zip(rule_factors, matched, strict=True)
            if r.lean is Side.BUYER or r is allocating
        ]
    else:
        decision = _allocate(None, facts.case_type, policy.reject_allocation, policy)
        deciding_rules = [f for f in rule_factors if f.toward is Side.MERCHANT]
    # R10.5: what decided it: the rules that pointed the winner's way (and the one that
    # allocated), every weighed item and every signal, the winner's side first.
    counted = [f for f in (*weighed, *leaning) if f.weight > 0]
    counted.sort(key=lambda f: (f.toward is not winner, -f.weight))
    return Recommendation(
        decision=decision,
        decided_for=winner,
        basis=basis,
        confidence=_confidence(margin, policy),
        buyer_support=round(support[Side.BUYER], 4),
        merchant_support=round(support[Side.MERCHANT], 4),
        balance=round(balance, 4),
        factors=(*deciding_rules, *counted),
        ignored=tuple(ignored),
    )


# ------------------------------------------------------------------------------ R10.5
@dataclass(frozen=True, slots=True)
class Ruling:
    """What the agent decided on a recommendation: accepted as is, or overridden with a
    written reason (R10.5)."""

    recommendation: Recommendation
    decision: Decision
    overridden: bool
    reason: str | None = None


def accept(recommendation: Recommendation) -> Ruling:
    """The agent accepts the recommendation as the ruling."""
    return Ruling(recommendation, recommendation.decision, overridden=False)


def override(recommendation: Recommendation, decision: Decision, reason: str) -> Ruling:
    """R10.5: the agent rules otherwise; refused without a written reason."""
    written = reason.strip()
    if not written:
        raise ValidationFailed(
            "judgment.override_reason_required",
            N_("Overriding a recommendation needs a written reason."),
            rule="R10.5",
            field="override_reason",
        )
    return Ruling(recommendation, decision, overridden=True, reason=written)


# ------------------------------------------------------------------------------ stored cases
# The claim a request's reason code makes, when the agent names none (``issue`` of
# ``services.judgment.case_recommendation``): data, one row per reason code of R3.1. The
# agent narrows a claim the code leaves open (a quality ``defect`` may be minor; ``other``
# may be anything) by passing the issue.
REASON_ISSUES: Mapping[str, Issue] = MappingProxyType(
    {
        "changed_mind": Issue.CHANGED_MIND,
        "ordered_by_mistake": Issue.CHANGED_MIND,
        "no_longer_needed": Issue.CHANGED_MIND,
        "defect": Issue.SERIOUS_DEFECT,
        "function_failure": Issue.SERIOUS_DEFECT,
        "counterfeit": Issue.COUNTERFEIT,
        "completely_broken": Issue.SERIOUS_DEFECT,
        "not_as_described": Issue.NOT_AS_DESCRIBED,
        "size_colour_mismatch": Issue.NOT_AS_DESCRIBED,
        "wrong_item": Issue.WRONG_ITEM,
        "missing_item": Issue.MISSING_PART,
        "damaged_in_transit": Issue.DAMAGED,
        "not_received": Issue.NOT_RECEIVED,
        "stuck_in_transit": Issue.NOT_RECEIVED,
        "lost_in_transit": Issue.LOST_IN_TRANSIT,
        "late_shipment": Issue.LATE_SHIPMENT,
        "other": Issue.NOT_AS_DESCRIBED,
    }
)


def default_issue(reason_code: str) -> Issue:
    """The claim of a reason code (R3.1) when the agent names none."""
    try:
        return REASON_ISSUES[reason_code]
    except KeyError:
        raise ValidationFailed(
            "reason.unknown", N_("Unknown reason code {code}."), rule="R3.1", code=reason_code
        ) from None


# Labels (English message ids) of the codes a recommendation shows. SIDE_LABELS and
# PARTY_LABELS fill the ``side`` and ``party`` parameters of a Factor's message ("supports
# the {side}"), so they are lower case.
SIDE_LABELS: Mapping[Side, str] = MappingProxyType(
    {
        Side.BUYER: N_("buyer"),
        Side.MERCHANT: N_("merchant"),
        Side.NEUTRAL: N_("neutral side"),
    }
)
PARTY_LABELS: Mapping[Party, str] = MappingProxyType(
    {
        Party.BUYER: N_("buyer"),
        Party.MERCHANT: N_("merchant"),
        Party.PLATFORM: N_("platform"),
    }
)
EVIDENCE_KIND_LABELS: Mapping[EvidenceKind, str] = MappingProxyType(
    {
        EvidenceKind.PHOTO: N_("Photo"),
        EvidenceKind.VIDEO: N_("Video"),
        EvidenceKind.UNBOXING_VIDEO: N_("Unboxing video"),
        EvidenceKind.CARRIER_PROOF: N_("Carrier proof"),
        EvidenceKind.QC_RECORD: N_("QC record"),
        EvidenceKind.CHAT_LOG: N_("Chat log"),
        EvidenceKind.DOCUMENT: N_("Document"),
        EvidenceKind.FORCE_MAJEURE_APPROVAL: N_("Force-majeure approval"),
        EvidenceKind.LOGISTICS_RECORD: N_("Logistics record"),
    }
)
ISSUE_LABELS: Mapping[Issue, str] = MappingProxyType(
    {
        Issue.COUNTERFEIT: N_("Counterfeit"),
        Issue.NOT_AS_DESCRIBED: N_("Not as described"),
        Issue.PROMOTION_MISMATCH: N_("Differs from what was promoted"),
        Issue.WRONG_ITEM: N_("Wrong item sent"),
        Issue.MISSING_PART: N_("Missing item or part"),
        Issue.SERIOUS_DEFECT: N_("Serious defect (unusable)"),
        Issue.MINOR_DEFECT: N_("Minor defect (usable)"),
        Issue.DAMAGED: N_("Damaged goods"),
        Issue.LATE_SHIPMENT: N_("Shipped late"),
        Issue.NOT_RECEIVED: N_("Parcel not received"),
        Issue.LOST_IN_TRANSIT: N_("Lost in transit"),
        Issue.CHANGED_MIND: N_("Changed my mind"),
    }
)
LIABILITY_LABELS: Mapping[Liability, str] = MappingProxyType(
    {
        Liability.MERCHANT: N_("Merchant liable"),
        Liability.BUYER: N_("Buyer liable"),
        Liability.SHARED: N_("Shared liability"),
        Liability.CARRIER: N_("Carrier liable"),
        Liability.NONE: N_("No one liable"),
    }
)
REMEDY_LABELS: Mapping[Remedy, str] = MappingProxyType(
    {
        Remedy.FULL_REFUND: N_("Full refund"),
        Remedy.PARTIAL_REFUND: N_("Partial refund"),
        Remedy.RETURN_THEN_REFUND: N_("Return, then refund"),
        Remedy.REFUND_WITHOUT_RETURN: N_("Refund without return"),
        Remedy.EXCHANGE: N_("Exchange"),
        Remedy.RESHIP: N_("Reship"),
        Remedy.REJECT: N_("Reject the request"),
    }
)
FREIGHT_LABELS: Mapping[FreightPayer, str] = MappingProxyType(
    {
        FreightPayer.MERCHANT: N_("The merchant pays freight"),
        FreightPayer.BUYER: N_("The buyer pays freight"),
        FreightPayer.INSURER: N_("Shipping insurance pays freight"),
        FreightPayer.SHARED: N_("Freight is shared"),
        FreightPayer.NONE: N_("Nothing travels"),
    }
)
FACTOR_KIND_LABELS: Mapping[FactorKind, str] = MappingProxyType(
    {
        FactorKind.RULE: N_("Rule"),
        FactorKind.EVIDENCE: N_("Evidence"),
        FactorKind.SIGNAL: N_("Judgment signal"),
        FactorKind.IGNORED: N_("Set aside"),
    }
)
