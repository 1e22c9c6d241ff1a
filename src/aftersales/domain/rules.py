"""The rules R1…R16 this engine implements: an id, a title and the policy-profile fields
each reads. Code and tests cite rules by these ids (`# R5.2`, `rule="R5.2"`,
`test_R5_2_...`); `docs/rules.md` is rendered from this registry and those citations
(`aftersales rules --markdown`), and a test keeps both true.

A profile field is named by its dotted path in `Profile` (`handling.merchant_response_hours`);
a path that names a table (`messages`) covers every field in it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str  # "R5" for a rule, "R5.2" for one of its clauses
    title: str  # English
    reads: tuple[str, ...] = ()  # profile fields (dotted paths)

    @property
    def parent(self) -> str:
        return self.id.split(".")[0]


# Profile fields that name the profile rather than set a rule.
PROFILE_METADATA = ("id", "version", "name_en", "name_zh_CN")

RULES: tuple[Rule, ...] = (
    Rule("R1", "Parties and accounts"),
    Rule("R1.1", "The parties: buyer, merchant shop, platform"),
    Rule(
        "R1.2",
        "A shop has one main account; sub-accounts act only with the permissions it granted",
    ),
    Rule(
        "R1.3",
        "Platform agents review interventions, appeals and reports; another agent hears an appeal",
    ),
    Rule("R2", "After-sales request types"),
    Rule("R2.1", "Refund before shipment (refund_unshipped)"),
    Rule("R2.2", "Refund only after shipment: the buyer keeps or never got the goods"),
    Rule("R2.3", "Return and refund: the goods go back, then the buyer is refunded"),
    Rule(
        "R2.4",
        "Exchange: the goods go back and the merchant ships a replacement",
        ("handling.replacement_auto_confirm_days",),
    ),
    Rule(
        "R2.5",
        "Reship: a missing part or item is sent again; no money moves",
        ("handling.replacement_auto_confirm_days",),
    ),
    Rule("R3", "Reasons"),
    Rule(
        "R3.1",
        "Reasons fall into groups: no_reason, quality, mismatch, fulfilment, logistics, other",
    ),
    Rule(
        "R3.2",
        "Quality, mismatch, fulfilment and logistics are merchant-side; only they hurt the "
        "shop's scores",
        ("merchant_side_groups",),
    ),
    Rule("R3.3", "A request's first reason is frozen; the quality return rate counts only it"),
    Rule("R4", "Windows"),
    Rule(
        "R4.1",
        "Seven-day no-reason return, counted from the day after signing in the shop's time zone",
        ("windows.no_reason_days", "windows.count_from_next_day", "timezone"),
    ),
    Rule(
        "R4.2",
        "Merchant-side reasons within the guarantee period; genuine quality defects up to the "
        "legal cap",
        ("windows.guarantee_days", "windows.legal_cap_days", "windows.statutory_groups"),
    ),
    Rule(
        "R4.3",
        "Goods excluded from no-reason return; a shorter window for second-hand goods",
        ("windows.no_reason_excluded_flags", "windows.second_hand_min_no_reason_days"),
    ),
    Rule(
        "R4.4",
        "Opening the package keeps the no-reason right; only seal-sensitive goods may be refused",
        ("refusal_codes",),
    ),
    Rule("R5", "Merchant handling and timeouts"),
    Rule(
        "R5.1",
        "The merchant acts within 48 hours, or the system decides for it",
        ("handling.merchant_response_hours",),
    ),
    Rule(
        "R5.2",
        "Approve, reject with proof or counter-offer; a refund never exceeds what was paid",
        ("handling.buyer_offer_response_hours", "handling.freight_refundable"),
    ),
    Rule(
        "R5.3",
        "The buyer ships the return within 7 days with a valid tracking number used nowhere else",
        ("handling.buyer_ship_return_days",),
    ),
    Rule(
        "R5.4",
        "After delivery the merchant confirms receipt and refunds within 48 hours, or the "
        "refund is automatic",
        ("handling.merchant_receipt_hours",),
    ),
    Rule(
        "R5.5",
        "A refund is refused after receipt only with proof; every refusal names a reason code",
        ("refusal_codes",),
    ),
    Rule(
        "R5.6",
        "After a refusal the buyer may request again; edits are limited (tiktok)",
        ("handling.resubmit_window_hours", "handling.max_buyer_edits"),
    ),
    Rule(
        "R5.7",
        "Contact the buyer quickly and reply within 72 hours; merchant messages stay professional",
        (
            "handling.first_contact_target_minutes",
            "handling.message_reply_hours",
            "messages",
        ),
    ),
    Rule("R6", "Merchant automation strategies (售后小助手)"),
    Rule("R6.1", "auto_approve_return: approve matching return requests at once"),
    Rule(
        "R6.2",
        "seven_day_auto_approve: approve a return when the seven-day rule holds",
        ("windows.no_reason_days",),
    ),
    Rule(
        "R6.3",
        "warehouse_receipt_auto_refund: refund when the warehouse reports a passed inspection",
    ),
    Rule("R6.4", "off_hours_auto_approve: approve returns that arrive outside service hours"),
    Rule("R7", "Express refund after shipment (发货后极速退款)"),
    Rule(
        "R7.1",
        "The platform refunds at once, advancing the money, when all six conditions hold",
        (
            "express_refund.max_paid_amount",
            "express_refund.reason_groups",
            "express_refund.max_risk_level",
            "currency",
        ),
    ),
    Rule("R7.2", "The advance is recovered from the merchant when the return is received"),
    Rule(
        "R7.3",
        "Switching it on takes effect at once and cannot be undone for 24 hours",
        ("express_refund.switch_off_lock_hours",),
    ),
    Rule("R8", "Refund without return"),
    Rule(
        "R8.1",
        "No return for counterfeit, completely broken, lost or custom-made goods",
        ("refund_without_return.reasons", "refund_without_return.product_flags"),
    ),
    Rule(
        "R8.2",
        "A region may auto-approve refunds without return in an amount range",
        ("refund_without_return.auto_approval",),
    ),
    Rule("R9", "Platform intervention (平台介入)"),
    Rule(
        "R9.1",
        "The buyer asks the platform to step in after a refusal or a counter-offer; so may the "
        "merchant",
    ),
    Rule(
        "R9.2",
        "Cases the platform does not take (off-platform, out of window, settled, not the "
        "consumer, invalid, in court)",
        ("intervention.escalate_within_hours",),
    ),
    Rule(
        "R9.3",
        "The merchant responds within 24 hours (2 when urgent); evidence until the deadline; "
        "the buyer's first submission weighs most",
        (
            "intervention.merchant_response_hours",
            "intervention.urgent_response_hours",
            "intervention.evidence_hours",
            "intervention.ruling_hours",
            "judgment.first_submission_multiplier",
            "judgment.templates",
        ),
    ),
    Rule("R9.4", "The buyer may withdraw after settling; a withdrawn intervention has no effect"),
    Rule("R10", "Judgment (判责)"),
    Rule(
        "R10.1",
        "Evidence for the buyer decides for the buyer; insufficient evidence, for the merchant",
        (
            "judgment.min_buyer_support",
            "judgment.evidence_weights",
            "judgment.confidence_half_at",
            "judgment.reject_allocation",
        ),
    ),
    Rule(
        "R10.2",
        "Base rates of buyer success: clear merchant fault ≥ 90 %, shared about 50 %, buyer "
        "fault < 10 %",
        ("judgment.rules",),
    ),
    Rule(
        "R10.3",
        "Signals besides evidence: review rate, past complaints, completeness, buyer risk, "
        "force majeure",
        ("judgment.signals",),
    ),
    Rule(
        "R10.4",
        "A ruling records liability, remedy, freight payer and return-shipment risk",
        ("judgment.remedies", "judgment.default_allocation"),
    ),
    Rule(
        "R10.5",
        "Every ruling lists what decided it; overriding a recommendation needs a written reason",
    ),
    Rule("R11", "Executing a ruling"),
    Rule(
        "R11.1",
        "The losing merchant executes within 48 hours",
        ("intervention.execution_hours",),
    ),
    Rule(
        "R11.2",
        "Otherwise the platform pays first and deducts it from the deposit, then the "
        "settlement balance; a deposit below the required level freezes withdrawals",
        ("money.pay_first_sources", "money.required_deposit", "money.deposit_debt_allowed"),
    ),
    Rule(
        "R11.3",
        "A refund returns to the original payment method within 1–3 working days",
        ("money.refund_payout_max_workdays", "calendar"),
    ),
    Rule("R12", "Appeals (申诉)"),
    Rule(
        "R12.1",
        "douyin: the merchant appeals within 7 working days with new evidence or a claimed "
        "misjudgment",
        ("appeals.merchant_window_workdays", "appeals.decision_workdays", "calendar"),
    ),
    Rule(
        "R12.2",
        "tiktok: a buyer appeals at most twice per item, one appeal within 2 days of a ruling",
        ("appeals.buyer_max_appeals", "appeals.buyer_window_hours", "appeals.merchant_channel"),
    ),
    Rule(
        "R12.3",
        "Negative-review appeals (tiktok): within 30 days, with evidence, decided in 5–7 "
        "working days",
        ("appeals.negative_review", "calendar"),
    ),
    Rule("R13", "Shop metrics and consequences"),
    Rule(
        "R13.1",
        "Dispute merchant-liability rate: merchant-liable rulings ÷ paid orders over 30 days",
        ("judgment.signals.complaint_window_days",),
    ),
    Rule("R13.2", "Experience score (体验分) from product, logistics and service dimensions"),
    Rule("R13.3", "Consequences of a low experience score"),
    Rule(
        "R13.4",
        "Quality return rate: requests whose first reason is merchant-side ÷ orders",
        ("merchant_side_groups",),
    ),
    Rule("R13.5", "Shop analytics: refund, intervention and timeout rates, handling times"),
    Rule("R14", "Penalties"),
    Rule(
        "R14.1",
        "False advertising or counterfeit: a fine of 1–3 × the order from the deposit, "
        "withdrawals frozen",
        (
            "money.fine_multiple_min",
            "money.fine_multiple_max",
            "money.withdrawal_freeze_days",
            "money.deposit_debt_allowed",
        ),
    ),
    Rule(
        "R14.2",
        "Fraud toward a consumer: refund plus three times the price, at least 500 CNY",
        ("money.statutory_compensation_multiple", "money.statutory_compensation_min", "currency"),
    ),
    Rule("R15", "Reports", ("intervention.report_review_hours",)),
    Rule(
        "R15.1",
        "An approved force-majeure report waives late-shipment liability in its regions and days",
        (
            "reports.force_majeure_max_regions",
            "reports.force_majeure_max_days",
            "reports.force_majeure_backdate_days",
        ),
    ),
    Rule(
        "R15.2",
        "A confirmed malicious-buyer report rejects the buyer's pending requests and raises "
        "their risk level",
        ("reports.malicious_reason_groups", "reports.malicious_refusal_code", "risk"),
    ),
    Rule("R16", "Logistics and freight"),
    Rule(
        "R16.1",
        "A failed or refused delivery goes back to the merchant; the refund follows on receipt "
        "or timeout",
        ("logistics.returned_parcel_timeout_hours",),
    ),
    Rule(
        "R16.2",
        "A refund before shipment may trigger an intercept; a missed one counts against the "
        "merchant",
        ("logistics.intercept_enabled",),
    ),
    Rule(
        "R16.3",
        "Freight: merchant-side reasons, the merchant pays both ways; no-reason, the buyer pays "
        "the return unless insured",
        ("money.max_return_freight",),
    ),
)

BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
