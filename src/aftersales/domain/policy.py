"""Policy profiles: every number of the rulebook lives here, never in code.

A profile is validated data (TOML on disk, loaded by ``aftersales.profiles``). Each case
records the profile id and version it was opened under and keeps using that version.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aftersales.domain.case_types import CaseType
from aftersales.domain.reasons import ReasonGroup


class EvidenceKind(StrEnum):
    PHOTO = "photo"
    VIDEO = "video"
    UNBOXING_VIDEO = "unboxing_video"
    CARRIER_PROOF = "carrier_proof"
    QC_RECORD = "qc_record"
    CHAT_LOG = "chat_log"
    DOCUMENT = "document"
    FORCE_MAJEURE_APPROVAL = "force_majeure_approval"  # R15.1 report approval (R10.3)
    LOGISTICS_RECORD = "logistics_record"  # carrier tracking history (R10.2 logistics)


class ProductFlag(StrEnum):
    CUSTOM_MADE = "custom_made"
    PERISHABLE = "perishable"
    SEAL_SENSITIVE = "seal_sensitive"
    DIGITAL = "digital"
    SECOND_HAND = "second_hand"
    NON_RETURNABLE = "non_returnable"
    PERIODICAL = "periodical"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Windows(_Strict):
    """R4: request windows, in calendar days counted in the profile's time zone."""

    no_reason_days: int = Field(ge=0)
    # R4.1: counting starts the day after signing (the statutory reading of "seven days").
    count_from_next_day: bool
    guarantee_days: int = Field(ge=0)  # R4.2
    legal_cap_days: int = Field(ge=0)  # R4.2 statutory right for genuine quality defects
    statutory_groups: tuple[ReasonGroup, ...]  # groups accepted up to the legal cap
    # R4.3: flags that exclude the no-reason right (digital only once downloaded).
    no_reason_excluded_flags: tuple[ProductFlag, ...]
    # R4.3: a second-hand product may declare a shorter window, never shorter than this.
    second_hand_min_no_reason_days: int = Field(ge=0)


class Handling(_Strict):
    """R5: merchant handling and timeouts."""

    merchant_response_hours: int = Field(gt=0)  # R5.1
    buyer_offer_response_hours: int = Field(gt=0)  # R5.2 (buyer silent on a counter-offer)
    buyer_ship_return_days: int = Field(gt=0)  # R5.3
    merchant_receipt_hours: int = Field(gt=0)  # R5.4
    resubmit_window_hours: int = Field(gt=0)  # R5.6
    max_buyer_edits: int | None = Field(default=None, ge=0)  # R5.6 (tiktok: 2)
    replacement_auto_confirm_days: int = Field(gt=0)  # exchange/reship receipt
    first_contact_target_minutes: int = Field(gt=0)  # R5.7
    message_reply_hours: int = Field(gt=0)  # R5.7
    # R5.2: freight is refundable when the request covers the whole order and either the
    # order was not shipped or the reason is merchant-side.
    freight_refundable: bool


class NamedPattern(_Strict):
    """R5.7: a regular expression with a name that explains a moderation flag."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    # Python `re` syntax, matched against the message lower-cased and NFKC-normalised (full-
    # width forms become ASCII). A group named `host` is checked against the allow-list.
    pattern: str = Field(min_length=1)

    @model_validator(mode="after")
    def _compiles(self) -> NamedPattern:
        try:
            compiled = re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(f"pattern {self.name}: {exc}") from None
        if compiled.match(""):
            raise ValueError(f"pattern {self.name} matches the empty string")
        return self


class Messages(_Strict):
    """R5.7: what a shop may not write on a case's conversation (the numbers of R5.7 are
    `handling.first_contact_target_minutes` and `handling.message_reply_hours`)."""

    # Terms, zh and en, matched case-insensitively; ASCII terms only as whole words.
    abuse: tuple[str, ...]
    threat: tuple[str, ...]
    advertising: tuple[str, ...]
    phone_patterns: tuple[NamedPattern, ...]  # matched with CJK numerals read as digits
    link_patterns: tuple[NamedPattern, ...]  # URLs, bare domains, e-mail, WeChat/QQ ids
    # The marketplace's own hosts (and their subdomains) are not third-party links.
    allowed_link_hosts: tuple[str, ...]

    @model_validator(mode="after")
    def _clean(self) -> Messages:
        for kind in ("abuse", "threat", "advertising"):
            terms: tuple[str, ...] = getattr(self, kind)
            if any(not t.strip() for t in terms):
                raise ValueError(f"messages.{kind}: empty term")
        names = [p.name for p in (*self.phone_patterns, *self.link_patterns)]
        if len(names) != len(set(names)):
            raise ValueError("messages: pattern names must be unique")
        return self


class DeductionSource(StrEnum):
    """A shop's balance a deduction may take from (R11.2)."""

    DEPOSIT = "deposit"  # 保证金
    SETTLEMENT = "settlement"  # 货款


class MoneyRules(_Strict):
    """R7, R11, R14, R16: money movements."""

    deposit_debt_allowed: bool  # R14.1: may a deduction take the deposit below zero?
    fine_multiple_min: int = Field(ge=1)  # R14.1
    fine_multiple_max: int = Field(ge=1)  # R14.1
    withdrawal_freeze_days: int = Field(ge=0)  # R14.1
    statutory_compensation_multiple: int = Field(ge=1)  # R14.2 (退一赔三)
    statutory_compensation_min: int = Field(ge=0)  # R14.2, minor units of the currency
    refund_payout_max_workdays: int = Field(ge=0)  # R11.3: back to the original method
    max_return_freight: int = Field(ge=0)  # R16.3: return freight a buyer may claim
    # R11.2: where a pay-first deduction is taken from, in order (each source once).
    pay_first_sources: tuple[DeductionSource, ...] = Field(min_length=1, max_length=2)
    # R11.2: a deposit below this (minor units) freezes the shop's withdrawals until it is
    # topped up; 0: no required level.
    required_deposit: int = Field(ge=0)

    @model_validator(mode="after")
    def _range(self) -> MoneyRules:
        if self.fine_multiple_min > self.fine_multiple_max:
            raise ValueError("fine_multiple_min exceeds fine_multiple_max")
        if len(set(self.pay_first_sources)) != len(self.pay_first_sources):
            raise ValueError("pay_first_sources names a source twice")
        return self


class RiskLevel(StrEnum):
    """R15.2: a buyer's risk level, lowest first."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return list(RiskLevel).index(self)


class ExpressRefund(_Strict):
    """R7: express refund after shipment (发货后极速退款)."""

    # R7.1: the amount actually paid for the order must be below this (minor units).
    max_paid_amount: int = Field(gt=0)
    # R7.1: the reason is seven-day no-reason.
    reason_groups: tuple[ReasonGroup, ...]
    # R7.1: the buyer passes the risk check: a level no higher than this.
    max_risk_level: RiskLevel
    # R7.3: once switched on, it cannot be switched off for this long.
    switch_off_lock_hours: int = Field(ge=0)


class RegionalAutoRefund(_Strict):
    """R8.2: a region auto-approves refund-without-return requests in an amount range."""

    region: str = Field(min_length=1)
    from_date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")  # orders paid on or after (profile tz)
    min_amount: int = Field(ge=0)  # inclusive, minor units of the case's currency
    max_amount: int = Field(ge=0)  # inclusive

    @model_validator(mode="after")
    def _range(self) -> RegionalAutoRefund:
        if self.min_amount > self.max_amount:
            raise ValueError(f"auto refund {self.region}: min_amount exceeds max_amount")
        return self


class RefundWithoutReturn(_Strict):
    """R8: when no return is needed."""

    # R8.1: reasons that need no return (counterfeit, completely broken, lost) ...
    reasons: tuple[str, ...]
    # ... and product flags (custom-made goods).
    product_flags: tuple[ProductFlag, ...]
    # R8.2: regional auto-approval with no merchant action.
    auto_approval: tuple[RegionalAutoRefund, ...] = ()


# R15.2: the names of the buyer risk signals that carry points (`[risk.weights]` names
# exactly these; `domain.risk` computes them). A confirmed malicious-buyer report is not
# among them: it sets a floor on the level instead (`confirmed_report_level`).
RISK_SIGNALS: tuple[str, ...] = (
    "new_account",
    "no_purchase_history",
    "many_units_of_one_item",
    "frequent_refunds",
    "vague_compensation_demands",
    "refused_photos",
)


class ReportRules(_Strict):
    """R15: the numbers of force-majeure and malicious-buyer reports."""

    force_majeure_max_regions: int = Field(ge=1)  # R15.1: regions in one report
    force_majeure_max_days: int = Field(ge=1)  # R15.1: the longest window (days, inclusive)
    force_majeure_backdate_days: int = Field(ge=0)  # R15.1: how far before filing it starts
    # R15.2: a confirmed report rejects the buyer's requests at the shop still awaiting the
    # merchant whose current reason is in these groups, with this refusal code.
    malicious_reason_groups: tuple[ReasonGroup, ...]
    malicious_refusal_code: str = Field(min_length=1)


class InterventionRules(_Strict):
    """R9, R11: platform intervention (平台介入) and executing its ruling."""

    # R9.2: the buyer (or merchant) asks within this many hours of the refusal, refund
    # refusal or counter-offer that started the dispute; later is outside its window.
    escalate_within_hours: int = Field(ge=1)
    merchant_response_hours: int = Field(ge=1)  # R9.3: 24
    urgent_response_hours: int = Field(ge=1)  # R9.3: 2 when marked urgent
    evidence_hours: int = Field(ge=1)  # R9.3: evidence deadline, 48 after opening
    ruling_hours: int = Field(ge=1)  # the agent rules within this after the evidence deadline
    execution_hours: int = Field(ge=1)  # R11.1: 48
    report_review_hours: int = Field(ge=1)  # R15: an agent reviews a report within this

    @model_validator(mode="after")
    def _urgent_is_sooner(self) -> InterventionRules:
        if self.urgent_response_hours > self.merchant_response_hours:
            raise ValueError("urgent_response_hours cannot exceed merchant_response_hours")
        return self


class NegativeReviewAppealRules(_Strict):
    """R12.3 (tiktok): a shop appeals a negative review."""

    window_days: int = Field(ge=1)  # within 30 days of the review
    decision_workdays_min: int = Field(ge=0)  # decided within 5-7 working days
    decision_workdays_max: int = Field(ge=1)
    excluded_topics: tuple[str, ...]  # reviews about these are not appealable
    required_evidence: tuple[str, ...]  # order, logistics and chat evidence
    # A review rated at most this (on the 1-5 scale) is negative and may be appealed.
    negative_max_rating: int = Field(ge=1, le=5)


class AppealRules(_Strict):
    """R12: appeals against a ruling."""

    # R12.1: the merchant appeals within this many working days of the ruling, on the
    # profile's calendar (statutory holidays and make-up workdays count as such).
    merchant_window_workdays: int = Field(ge=0)
    merchant_channel: Literal["appeal", "ticket"]  # R12.2: tiktok merchants use a ticket
    decision_workdays: int = Field(ge=1)  # queue: an appeal is decided within this
    # R12.2: a buyer appeals a ruling against them at most this many times per case
    # (0: buyers do not appeal), one appeal per ruling, within buyer_window_hours.
    buyer_max_appeals: int = Field(ge=0)
    buyer_window_hours: int = Field(ge=0)
    negative_review: NegativeReviewAppealRules | None = None  # R12.3


class RiskRules(_Strict):
    """R15.2: the signals that raise a buyer's risk level, and their weights."""

    new_account_days: int = Field(ge=0)  # an account younger than this is new
    min_purchase_history: int = Field(ge=0)  # fewer earlier paid orders: no purchase history
    many_units_of_one_item: int = Field(gt=1)  # this many units of one item in one order
    refund_history_days: int = Field(gt=0)  # the window refund history is read over
    frequent_refund_requests: int = Field(gt=0)  # requests in the window at or above: frequent
    # A description this short (characters, surrounding white space trimmed) gives no details:
    # with a merchant-side reason, the request is a vague compensation demand.
    vague_description_max_chars: int = Field(ge=0)
    # Points per signal (keys: exactly RISK_SIGNALS); the level is the highest threshold the
    # sum reaches.
    weights: dict[str, int]
    medium_at: int = Field(gt=0)
    high_at: int = Field(gt=0)
    # A confirmed malicious-buyer report (R15.2) sets the level to at least this.
    confirmed_report_level: RiskLevel

    @model_validator(mode="after")
    def _thresholds(self) -> RiskRules:
        if self.medium_at > self.high_at:
            raise ValueError("risk: medium_at exceeds high_at")
        if any(w < 0 for w in self.weights.values()):
            raise ValueError("risk: weights are not negative")
        if set(self.weights) != set(RISK_SIGNALS):
            unknown = sorted(set(self.weights) - set(RISK_SIGNALS))
            missing = sorted(set(RISK_SIGNALS) - set(self.weights))
            raise ValueError(
                f"risk.weights: names exactly the signals {', '.join(RISK_SIGNALS)}"
                f" (unknown: {unknown or '-'}; missing: {missing or '-'})"
            )
        return self


class LogisticsRules(_Strict):
    """R16: parcels that come back, and intercepts."""

    # R16.1: a refused or undeliverable parcel goes back to the merchant; the refund follows
    # on its receipt, or this long after the failure if it never arrives back.
    returned_parcel_timeout_hours: int = Field(gt=0)
    # R16.2: before the parcel is delivered, a refund may trigger an intercept; a merchant
    # who refunds without attempting one when it was possible is marked liable.
    intercept_enabled: bool


# ---------------------------------------------------------------------------------- R10
# The judgment's vocabulary and its rules as data (`[judgment]`); `domain.judgment` is the
# one generic engine that evaluates them.


class Issue(StrEnum):
    """R10.2: what the buyer claims happened (finer than the reason code: severity, and
    the influencer's promotion as opposed to the listing)."""

    COUNTERFEIT = "counterfeit"
    NOT_AS_DESCRIBED = "not_as_described"  # differs from the listing
    PROMOTION_MISMATCH = "promotion_mismatch"  # differs from what an influencer claimed
    WRONG_ITEM = "wrong_item"
    MISSING_PART = "missing_part"
    SERIOUS_DEFECT = "serious_defect"  # unusable
    MINOR_DEFECT = "minor_defect"  # usable, with a flaw
    DAMAGED = "damaged"  # broken or crushed goods
    LATE_SHIPMENT = "late_shipment"
    NOT_RECEIVED = "not_received"
    LOST_IN_TRANSIT = "lost_in_transit"
    CHANGED_MIND = "changed_mind"  # seven-day no-reason


class Party(StrEnum):
    """R9.3: who submitted a piece of evidence."""

    BUYER = "buyer"
    MERCHANT = "merchant"
    PLATFORM = "platform"


class Side(StrEnum):
    """R10.1: whom a piece of evidence (or a rule, or a signal) supports."""

    BUYER = "buyer"
    MERCHANT = "merchant"
    NEUTRAL = "neutral"


class Liability(StrEnum):
    """R10.4: who is liable (also who bears the return shipment's risk)."""

    MERCHANT = "merchant"
    BUYER = "buyer"
    SHARED = "shared"
    CARRIER = "carrier"
    NONE = "none"


class Remedy(StrEnum):
    """R10.4: what the ruling gives the buyer."""

    FULL_REFUND = "full_refund"
    PARTIAL_REFUND = "partial_refund"
    RETURN_THEN_REFUND = "return_then_refund"
    REFUND_WITHOUT_RETURN = "refund_without_return"
    EXCHANGE = "exchange"
    RESHIP = "reship"
    REJECT = "reject"


class FreightPayer(StrEnum):
    """R10.4, R16.3: who pays the freight (the merchant unless a rule says otherwise)."""

    MERCHANT = "merchant"
    BUYER = "buyer"
    INSURER = "insurer"  # R16.3 shipping insurance (运费险)
    SHARED = "shared"
    NONE = "none"  # nothing travels


# The yes/no facts a judgment rule may test (`when.facts`); `domain.judgment` reads them
# from the case facts and the signals under exactly these names.
JUDGMENT_FACTS: tuple[str, ...] = (
    "in_window",  # R4: the request was inside its window
    "signed",  # the buyer signed for the goods
    "shipped_late",  # R10.2: shipped after the promised ship-by time (order records)
    "intercept_missed",  # R16.2: an intercept was possible and not attempted
    "parcel_lost",  # the carrier confirmed the parcel lost
    "merchant_responded",  # R9.3: the merchant responded before its deadline
    "shipping_insurance",  # R16.3: the order carries 运费险
    "force_majeure_approved",  # R15.1/R10.3: an approved report covers the order
)


class EvidenceNeed(_Strict):
    """A rule condition: admissible evidence of one of ``kinds`` from ``party`` that
    supports ``supports``."""

    party: Party
    kinds: tuple[EvidenceKind, ...] = Field(min_length=1)
    supports: Side = Side.BUYER


class Condition(_Strict):
    """When a judgment rule applies: every non-empty part must hold (empty: any)."""

    case_types: tuple[CaseType, ...] = ()
    reason_groups: tuple[ReasonGroup, ...] = ()
    reason_codes: tuple[str, ...] = ()
    issues: tuple[Issue, ...] = ()
    facts: dict[str, bool] = Field(default_factory=dict)  # names from JUDGMENT_FACTS
    min_days_after_signing: int | None = Field(default=None, ge=0)  # issue reported ...
    max_days_after_signing: int | None = Field(default=None, ge=0)  # ... this long after
    evidence: tuple[EvidenceNeed, ...] = ()  # each need met by at least one item

    @model_validator(mode="after")
    def _known_facts(self) -> Condition:
        unknown = sorted(set(self.facts) - set(JUDGMENT_FACTS))
        if unknown:
            raise ValueError(f"judgment: unknown facts {unknown} (known: {JUDGMENT_FACTS})")
        return self


class Allocation(_Strict):
    """R10.4: what a ruling allocates; an unset part falls back to
    ``Judgment.default_allocation`` (remedy: ``Judgment.remedies`` by case type)."""

    liability: Liability | None = None
    remedy: Remedy | None = None
    freight_payer: FreightPayer | None = None
    return_risk: Liability | None = None


class JudgmentRule(_Strict):
    """One rule of R10 (or of a rule R10 relies on) as data.

    A matching rule may ``lean`` toward a side by ``weight`` (added to that side's
    support like evidence: facts on record that the buyer need not prove), may ``decide``
    the case outright (with ``confidence``), and may set the ``allocation`` of the
    decision (a deciding rule's decision; otherwise a win for the buyer). The first
    matching rule with an allocation sets it; the first deciding rule decides.
    """

    id: str = Field(pattern=r"^J-[a-z0-9-]+$")
    clause: str = Field(pattern=r"^R\d+(\.\d+)?$")  # the rulebook clause it restates
    label_en: str
    label_zh_CN: str
    when: Condition = Field(default_factory=Condition)
    lean: Side = Side.NEUTRAL
    weight: float = Field(default=0.0, ge=0)
    decides: Side | None = None
    confidence: float = Field(default=0.9, ge=0, le=1)
    allocation: Allocation | None = None

    @model_validator(mode="after")
    def _effect(self) -> JudgmentRule:
        if self.decides is Side.NEUTRAL:
            raise ValueError(f"judgment rule {self.id}: decides buyer or merchant")
        if (self.lean is Side.NEUTRAL) != (self.weight == 0):
            raise ValueError(f"judgment rule {self.id}: a lean needs a weight and vice versa")
        if self.decides is None and self.lean is Side.NEUTRAL and self.allocation is None:
            raise ValueError(f"judgment rule {self.id}: no effect")
        return self


class EvidenceTemplate(_Strict):
    """R9.3: the evidence a buyer is asked for, per reason group: each slot is filled by
    one admissible buyer item of any of its kinds (R10.3 completeness = filled / slots)."""

    reason_groups: tuple[ReasonGroup, ...] = Field(min_length=1)
    slots: tuple[tuple[EvidenceKind, ...], ...] = Field(min_length=1)
    # R9.3: what the merchant is asked for in an intervention on such a request.
    merchant_slots: tuple[tuple[EvidenceKind, ...], ...] = ()


class JudgmentSignals(_Strict):
    """R10.3: signals besides evidence, and how far each leans."""

    positive_review_threshold: float = Field(ge=0, le=1)  # below: leans merchant-liable
    low_review_weight: float = Field(ge=0)
    complaint_rate_at: float = Field(ge=0, le=1)  # shop complaints / orders at or above ...
    min_complaints: int = Field(ge=0)  # ... with at least this many complaints
    complaints_weight: float = Field(ge=0)
    complete_at: float = Field(ge=0, le=1)  # template completeness at or above: toward buyer
    complete_weight: float = Field(ge=0)
    incomplete_below: float = Field(ge=0, le=1)  # below: toward merchant
    incomplete_weight: float = Field(ge=0)
    risk_weights: dict[RiskLevel, float]  # R15.2 buyer risk level: toward merchant
    # R10.3/R13.1: the shop's past complaints are its merchant-liable rulings over this
    # many days. Optional only so that frozen v4 bodies still load (services then read
    # the current version's number); every shipped profile sets it.
    complaint_window_days: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _levels(self) -> JudgmentSignals:
        if set(self.risk_weights) != set(RiskLevel):
            raise ValueError("judgment.signals.risk_weights: one weight per risk level")
        if any(w < 0 for w in self.risk_weights.values()):
            raise ValueError("judgment.signals.risk_weights: weights are not negative")
        if self.incomplete_below > self.complete_at:
            raise ValueError("judgment.signals: incomplete_below exceeds complete_at")
        return self


class Judgment(_Strict):
    """R10: how the platform weighs a dispute (`domain.judgment.recommend`)."""

    # R10.1: the buyer's support (evidence plus facts on record) below this is insufficient.
    min_buyer_support: float = Field(gt=0)
    # R9.3: the buyer's first submission weighs this many times as much.
    first_submission_multiplier: float = Field(ge=1)
    # Confidence of a weighed decision: 0.5 + 0.5 * margin / (margin + this).
    confidence_half_at: float = Field(gt=0)
    evidence_weights: dict[EvidenceKind, float]  # per kind; a kind not listed weighs 0
    signals: JudgmentSignals
    templates: tuple[EvidenceTemplate, ...] = ()
    remedies: dict[CaseType, Remedy]  # R10.4: a buyer's win, by request type
    default_allocation: Allocation  # R10.4: a buyer's win no rule allocates
    reject_allocation: Allocation  # R10.1: the buyer loses
    rules: tuple[JudgmentRule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> Judgment:
        ids = [r.id for r in self.rules]
        if len(ids) != len(set(ids)):
            raise ValueError("judgment rules: ids must be unique")
        if set(self.remedies) != set(CaseType):
            raise ValueError("judgment.remedies: one remedy per request type")
        if any(w < 0 for w in self.evidence_weights.values()):
            raise ValueError("judgment.evidence_weights: weights are not negative")
        for name in ("default_allocation", "reject_allocation"):
            alloc: Allocation = getattr(self, name)
            if alloc.liability is None or alloc.freight_payer is None or alloc.return_risk is None:
                raise ValueError(f"judgment.{name}: liability, freight_payer, return_risk")
        if self.reject_allocation.remedy is not Remedy.REJECT:
            raise ValueError("judgment.reject_allocation: remedy is reject")
        return self

    def template_for(self, group: ReasonGroup) -> EvidenceTemplate | None:
        return next((t for t in self.templates if group in t.reason_groups), None)


class RefusalCode(_Strict):
    """R5.5: a reject-reason code and the evidence it requires."""

    code: str
    label_en: str
    label_zh_CN: str
    stages: tuple[Literal["review", "after_receipt"], ...]
    evidence_required: bool
    evidence_kinds: tuple[EvidenceKind, ...] = ()
    min_evidence: int = Field(default=1, ge=0)
    # Usable only against requests whose reason is in these groups (empty: any group).
    reason_groups: tuple[ReasonGroup, ...] = ()
    # Usable only when a product on the case carries this flag (R4.4 seal-sensitive).
    requires_product_flag: ProductFlag | None = None
    # False: refusing on this ground is itself refused (R4.4 opened package, activation).
    allowed: bool = True
    rule: str

    @model_validator(mode="after")
    def _evidence_kinds_when_required(self) -> RefusalCode:
        if self.evidence_required and not self.evidence_kinds:
            raise ValueError(f"refusal code {self.code}: evidence_required needs evidence_kinds")
        return self


class Profile(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: int = Field(ge=1)
    name_en: str
    name_zh_CN: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    timezone: str
    calendar: Literal["cn_statutory", "weekdays"]
    merchant_side_groups: tuple[ReasonGroup, ...]  # R3.2
    windows: Windows
    handling: Handling
    money: MoneyRules
    refusal_codes: tuple[RefusalCode, ...]
    # R5.7. Optional only so that frozen copies of versions older than [messages] still
    # load (services then read the current version's table); every shipped profile has it.
    messages: Messages | None = None
    # R7, R8, R15.2, R16 (profile v4). Optional for the same reason as `messages`.
    express_refund: ExpressRefund | None = None
    refund_without_return: RefundWithoutReturn | None = None
    risk: RiskRules | None = None
    logistics: LogisticsRules | None = None
    # R10 judgment (profile v4). Optional for the same reason as `messages`.
    judgment: Judgment | None = None
    # R15 reports (profile v4). Optional for the same reason as `messages`.
    reports: ReportRules | None = None
    # R9, R11, R12 (profile v5). Optional for the same reason as `messages`.
    intervention: InterventionRules | None = None
    appeals: AppealRules | None = None

    @model_validator(mode="after")
    def _unique_codes(self) -> Profile:
        codes = [c.code for c in self.refusal_codes]
        if len(codes) != len(set(codes)):
            raise ValueError("refusal codes must be unique")
        if self.reports is not None:
            code = self.refusal_code(self.reports.malicious_refusal_code)
            if code is None or "review" not in code.stages or code.evidence_required:
                raise ValueError(
                    "reports.malicious_refusal_code must name a review-stage refusal code "
                    "that needs no evidence"
                )
        return self

    def refusal_code(self, code: str) -> RefusalCode | None:
        return next((c for c in self.refusal_codes if c.code == code), None)

    def is_merchant_side(self, group: ReasonGroup) -> bool:
        return group in self.merchant_side_groups
