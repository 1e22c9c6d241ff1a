"""R10 judgment (and the R9.3 evidence rules it applies): one test per clause.

Weights below are the douyin profile's (`[judgment]`); each test says how its balance
comes out, so a reader can check it against the profile.
"""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError

from aftersales.domain.case_types import CaseType
from aftersales.domain.errors import ValidationFailed
from aftersales.domain.judgment import (
    BASIS_BUYER_EVIDENCE,
    BASIS_INSUFFICIENT,
    BASIS_MERCHANT_EVIDENCE,
    BASIS_RULE,
    Decision,
    FactorKind,
    Signals,
    accept,
    override,
    recommend,
)
from aftersales.domain.policy import (
    EvidenceKind as K,
)
from aftersales.domain.policy import (
    FreightPayer,
    Issue,
    Judgment,
    Liability,
    Party,
    Profile,
    Remedy,
    RiskLevel,
    Side,
)
from aftersales.profiles import load_profiles

from .conftest import QUIET, ev, facts

B, M, PF = Party.BUYER, Party.MERCHANT, Party.PLATFORM

# A quality dispute the evidence leaves level: buyer photo 1.0 + video 1.5 + a complete
# template 0.5 = 3.0 against the merchant's unboxing video 3.0. A tie goes to the merchant
# (R10.1: the buyer's evidence must outweigh); any lean toward the buyer flips it.
LEVEL = (ev(B, K.PHOTO), ev(B, K.VIDEO), ev(M, K.UNBOXING_VIDEO))


# ------------------------------------------------------------------------------ R10.1
def test_R10_1_evidence_supporting_the_buyer_decides_for_the_buyer(policy: Judgment) -> None:
    evidence = (ev(B, K.PHOTO, first_submission=True), ev(B, K.VIDEO, first_submission=True))
    rec = recommend(facts(), evidence, QUIET, policy)
    assert rec.decided_for is Side.BUYER and rec.basis == BASIS_BUYER_EVIDENCE
    assert rec.buyer_succeeds
    assert rec.decision == Decision(
        Liability.MERCHANT, Remedy.RETURN_THEN_REFUND, FreightPayer.MERCHANT, Liability.MERCHANT
    )
    assert 0.5 < rec.confidence <= 1


def test_R10_1_evidence_supporting_the_merchant_rejects_the_buyer(policy: Judgment) -> None:
    evidence = (ev(B, K.PHOTO), ev(M, K.QC_RECORD), ev(M, K.UNBOXING_VIDEO))
    rec = recommend(facts(), evidence, QUIET, policy)
    assert rec.decided_for is Side.MERCHANT and rec.basis == BASIS_MERCHANT_EVIDENCE
    assert rec.decision.remedy is Remedy.REJECT and rec.decision.liability is Liability.BUYER
    assert not rec.buyer_succeeds


def test_R10_1_insufficient_buyer_evidence_decides_for_the_merchant(policy: Judgment) -> None:
    # No evidence at all, from either side: the platform decides on what it has (R9.3).
    rec = recommend(facts(), (), QUIET, policy)
    assert rec.basis == BASIS_INSUFFICIENT and rec.decision.remedy is Remedy.REJECT
    # A buyer item weighing less than `min_buyer_support` is insufficient too, even against
    # a silent merchant's lack of evidence.
    cheap = policy.model_copy(update={"min_buyer_support": 1.5})
    rec = recommend(facts(), (ev(B, K.PHOTO),), QUIET, cheap)
    assert rec.basis == BASIS_INSUFFICIENT and rec.decided_for is Side.MERCHANT


# ------------------------------------------------------------------------------ R9.3
def test_R9_3_the_buyers_first_submission_weighs_more_than_later_evidence(
    policy: Judgment,
) -> None:
    # photo 1.0 x 2 (first submission) against a QC record 1.5: the buyer wins ...
    first = recommend(
        facts(), (ev(B, K.PHOTO, first_submission=True), ev(M, K.QC_RECORD)), QUIET, policy
    )
    assert first.decided_for is Side.BUYER
    # ... the same photo added later weighs 1.0 and loses.
    later = recommend(facts(), (ev(B, K.PHOTO), ev(M, K.QC_RECORD)), QUIET, policy)
    assert later.decided_for is Side.MERCHANT
    weighed = {f.ref: f.weight for f in first.factors if f.kind is FactorKind.EVIDENCE}
    assert weighed["buyer-photo"] == policy.evidence_weights[K.PHOTO] * 2


def test_R9_3_a_merchant_that_does_not_respond_in_time_is_held_liable(
    policy: Judgment,
) -> None:
    strong_merchant = (ev(M, K.UNBOXING_VIDEO), ev(M, K.QC_RECORD))
    rec = recommend(facts(merchant_responded=False), strong_merchant, QUIET, policy)
    assert rec.basis == BASIS_RULE and rec.rules == ("J-merchant-silent",)
    assert rec.decided_for is Side.BUYER and rec.decision.liability is Liability.MERCHANT
    assert rec.confidence == 0.95


def test_R9_3_late_irrelevant_untrue_or_off_claim_evidence_is_not_counted(
    policy: Judgment,
) -> None:
    evidence = (
        ev(B, K.UNBOXING_VIDEO, ref="late", first_submission=True, in_time=False),
        ev(B, K.VIDEO, ref="beside", relevant=False),
        ev(B, K.PHOTO, ref="forged", first_submission=True, credible=False),
        ev(B, K.CARRIER_PROOF, ref="other", claim=Issue.LATE_SHIPMENT),
    )
    rec = recommend(facts(), evidence, QUIET, policy)
    assert rec.basis == BASIS_INSUFFICIENT and rec.buyer_support == 0
    why = {f.ref: f.message for f in rec.ignored}
    assert set(why) == {"late", "beside", "forged", "other"}
    assert "deadline" in why["late"] and "not relevant" in why["beside"]
    assert "not credible" in why["forged"] and "another claim" in why["other"]
    assert all(f.kind is FactorKind.IGNORED and f.clause == "R9.3" for f in rec.ignored)


# ------------------------------------------------------------------------------ R10.3
def test_R10_3_a_positive_review_rate_below_the_threshold_leans_toward_merchant_liability(
    policy: Judgment,
) -> None:
    assert policy.signals.positive_review_threshold == 0.70
    assert recommend(facts(), LEVEL, QUIET, policy).decided_for is Side.MERCHANT
    low = recommend(facts(), LEVEL, Signals(positive_review_rate=0.62), policy)
    assert low.decided_for is Side.BUYER
    assert any(f.ref == "positive_review_rate" and f.toward is Side.BUYER for f in low.factors)
    for rate in (0.70, 0.93):  # at or above the threshold: no lean
        rec = recommend(facts(), LEVEL, Signals(positive_review_rate=rate), policy)
        assert rec.decided_for is Side.MERCHANT
        assert all(f.ref != "positive_review_rate" for f in rec.factors)


def test_R10_3_the_shops_past_complaints_lean_toward_merchant_liability(
    policy: Judgment,
) -> None:
    many = Signals(shop_complaints=12, shop_orders=600)  # 2 %, at least 3 complaints
    assert recommend(facts(), LEVEL, many, policy).decided_for is Side.BUYER
    few = Signals(shop_complaints=2, shop_orders=100)  # 2 %, but too few to count
    assert recommend(facts(), LEVEL, few, policy).decided_for is Side.MERCHANT
    rare = Signals(shop_complaints=5, shop_orders=5000)  # 0.1 %
    assert recommend(facts(), LEVEL, rare, policy).decided_for is Side.MERCHANT


def test_R10_3_a_risky_buyer_leans_against_the_buyer(policy: Judgment) -> None:
    # photo 2.0 (first) + video 1.5 + complete 0.5 = 4.0 against a QC record 1.5: +2.5.
    evidence = (ev(B, K.PHOTO, first_submission=True), ev(B, K.VIDEO), ev(M, K.QC_RECORD))
    by_level = {
        level: recommend(facts(), evidence, Signals(buyer_risk=level), policy)
        for level in RiskLevel
    }
    assert by_level[RiskLevel.LOW].balance > by_level[RiskLevel.MEDIUM].balance
    assert by_level[RiskLevel.MEDIUM].decided_for is Side.BUYER
    assert by_level[RiskLevel.HIGH].decided_for is Side.MERCHANT  # 2.5 - 3.0
    assert any(
        f.ref == "buyer_risk" and f.toward is Side.MERCHANT
        for f in by_level[RiskLevel.HIGH].factors
    )


def test_R10_3_an_approved_force_majeure_report_exempts_the_delay(policy: Judgment) -> None:
    late = facts(
        "late_shipment",
        Issue.LATE_SHIPMENT,
        case_type=CaseType.REFUND_ONLY,
        days_after_signing=None,
        shipped_late=True,
    )
    plain = recommend(late, (), QUIET, policy)  # the order record proves the delay
    assert plain.decided_for is Side.BUYER and plain.decision.liability is Liability.MERCHANT
    assert "J-late-shipment" in plain.rules
    exempt = recommend(late, (), Signals(force_majeure_approved=True), policy)
    assert exempt.rules == ("J-force-majeure",) and exempt.basis == BASIS_RULE
    assert exempt.decision.liability is Liability.NONE
    assert exempt.decision.remedy is Remedy.REJECT
    # It exempts delay only: a lost parcel is still somebody's liability.
    lost = facts(
        "lost_in_transit",
        Issue.LOST_IN_TRANSIT,
        case_type=CaseType.REFUND_ONLY,
        days_after_signing=None,
        parcel_lost=True,
    )
    rec = recommend(lost, (), Signals(force_majeure_approved=True), policy)
    assert rec.decision.liability is Liability.CARRIER


def test_R10_3_evidence_completeness_against_the_reasons_template(policy: Judgment) -> None:
    # quality template: a photo, and a video or unboxing video.
    merchant = ev(M, K.PHOTO)
    complete = recommend(facts(), (ev(B, K.PHOTO), ev(B, K.VIDEO), merchant), QUIET, policy)
    signal = next(f for f in complete.factors if f.ref == "evidence_completeness")
    assert signal.toward is Side.BUYER and signal.params["percent"] == 100
    assert complete.decided_for is Side.BUYER
    # The same weight of evidence (2.0) of kinds the template does not ask for: no slot
    # filled, so it leans toward the merchant and the buyer no longer outweighs.
    off = recommend(facts(), (ev(B, K.CHAT_LOG), ev(B, K.DOCUMENT), merchant), QUIET, policy)
    signal = next(f for f in off.factors if f.ref == "evidence_completeness")
    assert signal.toward is Side.MERCHANT and signal.params["percent"] == 0
    assert off.buyer_support == 2.0 and off.decided_for is Side.MERCHANT


# ------------------------------------------------------------------------------ R10.4
STRONG = (ev(B, K.PHOTO, first_submission=True), ev(B, K.UNBOXING_VIDEO, first_submission=True))


def test_R10_4_wrong_item_the_merchant_bears_the_return_and_its_freight(
    policy: Judgment,
) -> None:
    rec = recommend(facts("wrong_item", Issue.WRONG_ITEM), STRONG, QUIET, policy)
    assert rec.decision == Decision(
        Liability.MERCHANT, Remedy.RETURN_THEN_REFUND, FreightPayer.MERCHANT, Liability.MERCHANT
    )
    assert "J-wrong-item" in rec.rules


def test_R10_4_serious_defect_merchant_minor_defect_shared(policy: Judgment) -> None:
    serious = recommend(facts("defect", Issue.SERIOUS_DEFECT), STRONG, QUIET, policy)
    assert serious.decision.return_risk is Liability.MERCHANT
    assert serious.decision.liability is Liability.MERCHANT
    minor = recommend(facts("defect", Issue.MINOR_DEFECT), STRONG, QUIET, policy)
    assert minor.decision.return_risk is Liability.SHARED
    assert minor.decision.liability is Liability.SHARED
    assert minor.decision.remedy is Remedy.PARTIAL_REFUND


def test_R10_4_loss_in_transit_the_carrier_unless_an_intercept_was_missed(
    policy: Judgment,
) -> None:
    lost = facts(
        "lost_in_transit",
        Issue.LOST_IN_TRANSIT,
        case_type=CaseType.REFUND_ONLY,
        days_after_signing=None,
        parcel_lost=True,
    )
    rec = recommend(lost, (ev(PF, K.LOGISTICS_RECORD),), QUIET, policy)
    assert rec.decision == Decision(
        Liability.CARRIER, Remedy.REFUND_WITHOUT_RETURN, FreightPayer.MERCHANT, Liability.CARRIER
    )
    missed = recommend(dataclasses.replace(lost, intercept_missed=True), (), QUIET, policy)
    assert missed.decision.liability is Liability.MERCHANT  # R16.2
    assert missed.rules[0] == "J-intercept-missed"


def test_R10_4_freight_merchant_side_merchant_no_reason_buyer_or_insurer(
    policy: Judgment,
) -> None:
    seven_day = facts("changed_mind", Issue.CHANGED_MIND, days_after_signing=3)
    rec = recommend(seven_day, (), QUIET, policy)  # the statutory right needs no proof
    assert rec.decided_for is Side.BUYER
    assert rec.decision.freight_payer is FreightPayer.BUYER
    assert rec.decision.return_risk is Liability.BUYER
    insured = recommend(
        facts("changed_mind", Issue.CHANGED_MIND, shipping_insurance=True), (), QUIET, policy
    )
    assert insured.decision.freight_payer is FreightPayer.INSURER  # R16.3
    merchant_side = recommend(facts("defect", Issue.SERIOUS_DEFECT), STRONG, QUIET, policy)
    assert merchant_side.decision.freight_payer is FreightPayer.MERCHANT
    lost = recommend(facts(), (), QUIET, policy)
    assert lost.decision.freight_payer is FreightPayer.NONE  # nothing travels


def test_R10_4_the_remedy_follows_the_request_type(policy: Judgment) -> None:
    for case_type, remedy in (
        (CaseType.EXCHANGE, Remedy.EXCHANGE),
        (CaseType.REFUND_ONLY, Remedy.FULL_REFUND),
        (CaseType.RETURN_REFUND, Remedy.RETURN_THEN_REFUND),
    ):
        rec = recommend(facts(case_type=case_type), STRONG, QUIET, policy)
        assert rec.decision.remedy is remedy, case_type


# ------------------------------------------------------------------------------ R10.5
def test_R10_5_a_recommendation_lists_the_rules_evidence_and_signals_that_decided_it(
    policy: Judgment,
) -> None:
    evidence = (*STRONG, ev(M, K.QC_RECORD), ev(B, K.VIDEO, ref="late", in_time=False))
    rec = recommend(
        facts("wrong_item", Issue.WRONG_ITEM), evidence, Signals(positive_review_rate=0.5), policy
    )
    kinds = {f.kind for f in rec.factors}
    assert kinds == {FactorKind.RULE, FactorKind.EVIDENCE, FactorKind.SIGNAL}
    refs = [f.ref for f in rec.factors]
    assert {
        "J-wrong-item",
        "buyer-photo",
        "buyer-unboxing_video",
        "merchant-qc_record",
        "positive_review_rate",
        "evidence_completeness",
    } <= set(refs)
    assert refs.index("buyer-unboxing_video") < refs.index("merchant-qc_record")  # winner first
    assert [f.ref for f in rec.ignored] == ["late"]
    for f in (*rec.factors, *rec.ignored):  # translatable: an English msgid + its params
        assert f.clause.startswith("R")
        assert f.message.format(**f.params)


def test_R10_5_an_override_needs_a_written_reason(policy: Judgment) -> None:
    rec = recommend(facts(), STRONG, QUIET, policy)
    other = Decision(Liability.SHARED, Remedy.PARTIAL_REFUND, FreightPayer.SHARED, Liability.SHARED)
    for blank in ("", "   \n"):
        with pytest.raises(ValidationFailed) as refused:
            override(rec, other, blank)
        assert refused.value.rule == "R10.5"
    ruling = override(rec, other, " 商家提供的出库视频显示外包装完好，但买家开箱视频显示内胆破损 ")
    assert ruling.overridden and ruling.decision == other
    assert ruling.reason is not None and ruling.reason.startswith("商家")
    accepted = accept(rec)
    assert not accepted.overridden and accepted.decision == rec.decision


# ------------------------------------------------------------------------------ data
def test_R10_numbers_come_from_the_profile(policy: Judgment) -> None:
    low = Signals(positive_review_rate=0.62)
    assert recommend(facts(), LEVEL, low, policy).decided_for is Side.BUYER
    lower_bar = policy.model_copy(
        update={"signals": policy.signals.model_copy(update={"positive_review_threshold": 0.6})}
    )
    assert recommend(facts(), LEVEL, low, lower_bar).decided_for is Side.MERCHANT
    # R9.3's multiplier: without it the buyer's first photo no longer beats a QC record.
    evidence = (ev(B, K.PHOTO, first_submission=True), ev(M, K.QC_RECORD))
    assert recommend(facts(), evidence, QUIET, policy).decided_for is Side.BUYER
    flat = policy.model_copy(update={"first_submission_multiplier": 1.0})
    assert recommend(facts(), evidence, QUIET, flat).decided_for is Side.MERCHANT


def test_R10_rules_are_validated_data(douyin: Profile) -> None:
    profiles = load_profiles()
    assert profiles["tiktok"].judgment == douyin.judgment  # R10 does not differ
    data = douyin.model_dump(mode="json")
    rule = dict(data["judgment"]["rules"][0])
    rule["when"] = {**rule["when"], "facts": {"moon_is_full": True}}
    bad = {**data, "judgment": {**data["judgment"], "rules": [rule]}}
    with pytest.raises(ValidationError, match="moon_is_full"):
        Profile.model_validate(bad)
    twice = [data["judgment"]["rules"][0]] * 2
    with pytest.raises(ValidationError, match="unique"):
        Profile.model_validate({**data, "judgment": {**data["judgment"], "rules": twice}})
    older = {k: v for k, v in data.items() if k != "judgment"}
    assert Profile.model_validate(older).judgment is None  # frozen older versions load
