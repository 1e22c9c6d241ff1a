"""R15.2 in the pure domain: facts and the profile's rules in, a level and its reasons out.
No database: every number comes from the shipped profile (or a copy changed here)."""

from __future__ import annotations

import dataclasses
import string

import pytest
from pydantic import ValidationError

from aftersales.domain import risk
from aftersales.domain.policy import RISK_SIGNALS, RiskLevel, RiskRules
from aftersales.i18n import risk_explanation
from aftersales.profiles import load_profiles


@pytest.fixture(scope="module")
def rules() -> RiskRules:
    r = load_profiles()["douyin"].risk
    assert r is not None
    return r


def calm(rules: RiskRules, **changes: int) -> risk.BuyerFacts:
    """A buyer no signal fires for, with ``changes`` applied."""
    facts = risk.BuyerFacts(
        account_age_days=rules.new_account_days,
        earlier_paid_orders=rules.min_purchase_history,
        max_units_of_one_item=rules.many_units_of_one_item - 1,
        requests_in_window=rules.frequent_refund_requests - 1,
        vague_compensation_demands=0,
        claims_without_photo=0,
        confirmed_reports=0,
    )
    return dataclasses.replace(facts, **changes)


def names(assessment: risk.RiskAssessment) -> list[str]:
    return [s.name for s in assessment.signals]


def test_R15_2_a_buyer_without_signals_is_low_risk(rules: RiskRules) -> None:
    a = risk.assess(calm(rules), rules)
    assert (a.level, a.score, a.signals) == (RiskLevel.LOW, 0, ())


def test_R15_2_signal_names_are_the_keys_of_the_profiles_weights(rules: RiskRules) -> None:
    loud = calm(
        rules,
        account_age_days=0,
        earlier_paid_orders=0,
        max_units_of_one_item=rules.many_units_of_one_item,
        requests_in_window=rules.frequent_refund_requests,
        vague_compensation_demands=1,
        claims_without_photo=1,
    )
    a = risk.assess(loud, rules)
    assert tuple(names(a)) == RISK_SIGNALS == tuple(rules.weights)
    assert a.score == sum(rules.weights.values())
    assert set(risk.SIGNAL_LABELS) == {*RISK_SIGNALS, risk.CONFIRMED_MALICIOUS_REPORT}


def test_R15_2_weights_must_name_exactly_the_known_signals(rules: RiskRules) -> None:
    body = rules.model_dump()
    with pytest.raises(ValidationError, match="unknown: \\['refused_photo'\\]"):
        RiskRules.model_validate({**body, "weights": {**rules.weights, "refused_photo": 1}})
    missing = {k: v for k, v in rules.weights.items() if k != "frequent_refunds"}
    with pytest.raises(ValidationError, match="missing: \\['frequent_refunds'\\]"):
        RiskRules.model_validate({**body, "weights": missing})
    assert RiskRules.model_validate(body) == rules


def test_R15_2_new_account_without_purchase_history_raises_risk(rules: RiskRules) -> None:
    young = risk.assess(calm(rules, account_age_days=rules.new_account_days - 1), rules)
    assert names(young) == ["new_account"]
    assert young.score == rules.weights["new_account"]
    both = risk.assess(
        calm(
            rules,
            account_age_days=rules.new_account_days - 1,
            earlier_paid_orders=rules.min_purchase_history - 1,
        ),
        rules,
    )
    assert names(both) == ["new_account", "no_purchase_history"]
    assert both.score == rules.weights["new_account"] + rules.weights["no_purchase_history"]
    assert both.level is risk.level_for(both.score, rules)
    assert both.level.rank > RiskLevel.LOW.rank  # the shipped weights reach medium


def test_R15_2_many_units_of_one_item_from_the_profiles_count(rules: RiskRules) -> None:
    at = risk.assess(calm(rules, max_units_of_one_item=rules.many_units_of_one_item), rules)
    assert names(at) == ["many_units_of_one_item"]
    below = calm(rules, max_units_of_one_item=rules.many_units_of_one_item - 1)
    assert risk.assess(below, rules).signals == ()


def test_R15_2_frequent_refunds_from_the_profiles_count(rules: RiskRules) -> None:
    at = risk.assess(calm(rules, requests_in_window=rules.frequent_refund_requests), rules)
    assert names(at) == ["frequent_refunds"]
    assert at.score == rules.weights["frequent_refunds"]


def test_R15_2_level_is_the_highest_threshold_the_score_reaches(rules: RiskRules) -> None:
    assert risk.level_for(rules.medium_at - 1, rules) is RiskLevel.LOW
    assert risk.level_for(rules.medium_at, rules) is RiskLevel.MEDIUM
    assert risk.level_for(rules.high_at - 1, rules) is RiskLevel.MEDIUM
    assert risk.level_for(rules.high_at, rules) is RiskLevel.HIGH


def test_R15_2_thresholds_and_weights_come_from_the_profile(rules: RiskRules) -> None:
    facts = calm(rules, vague_compensation_demands=2)
    assert risk.assess(facts, rules).level is risk.level_for(
        rules.weights["vague_compensation_demands"], rules
    )
    strict = rules.model_copy(
        update={
            "weights": {**rules.weights, "vague_compensation_demands": 7},
            "medium_at": 3,
            "high_at": 7,
        }
    )
    a = risk.assess(facts, strict)
    assert (a.level, a.score) == (RiskLevel.HIGH, 7)
    assert [s.points for s in a.signals] == [7]


def test_R15_2_a_zero_weight_switches_a_signal_off(rules: RiskRules) -> None:
    off = rules.model_copy(update={"weights": {**rules.weights, "refused_photos": 0}})
    assert risk.assess(calm(rules, claims_without_photo=3), off).signals == ()


def test_R15_2_confirmed_report_raises_the_level_to_the_profiles_level(
    rules: RiskRules,
) -> None:
    a = risk.assess(calm(rules, confirmed_reports=1), rules)
    assert a.level is rules.confirmed_report_level
    assert a.score == 0
    (signal,) = a.signals
    assert (signal.name, signal.points) == ("confirmed_malicious_report", 0)
    assert signal.raises_to is rules.confirmed_report_level
    to_medium = rules.model_copy(update={"confirmed_report_level": RiskLevel.MEDIUM})
    assert risk.assess(calm(rules, confirmed_reports=2), to_medium).level is RiskLevel.MEDIUM
    # A floor never lowers a level the score already reached.
    loud = calm(
        rules,
        confirmed_reports=1,
        requests_in_window=rules.frequent_refund_requests,
        vague_compensation_demands=1,
        claims_without_photo=1,
        account_age_days=0,
    )
    scored = risk.assess(loud, to_medium)
    assert scored.score >= rules.high_at
    assert scored.level is RiskLevel.HIGH


def test_R15_2_every_signal_explains_itself_with_its_numbers(rules: RiskRules) -> None:
    loud = calm(
        rules,
        account_age_days=3,
        earlier_paid_orders=0,
        max_units_of_one_item=rules.many_units_of_one_item + 1,
        requests_in_window=rules.frequent_refund_requests + 2,
        vague_compensation_demands=2,
        claims_without_photo=4,
        confirmed_reports=1,
    )
    a = risk.assess(loud, rules)
    assert len(a.signals) == len(RISK_SIGNALS) + 1
    for s in a.signals:
        fields = {f for _, f, _, _ in string.Formatter().parse(s.message) if f}
        assert fields == set(s.params), s.name
        for locale in ("en", "zh_CN"):
            assert "{" not in risk_explanation(s, locale)
    by_name = {s.name: risk_explanation(s, "en") for s in a.signals}
    assert by_name["new_account"] == (
        f"Account age: 3 days; an account younger than {rules.new_account_days} days is new."
    )
    assert f": {rules.frequent_refund_requests + 2};" in by_name["frequent_refunds"]
    assert f"last {rules.refund_history_days} days" in by_name["refused_photos"]
    assert by_name["confirmed_malicious_report"].endswith("the level is at least High risk.")


def test_R7_1_a_risk_check_passes_levels_up_to_its_maximum(rules: RiskRules) -> None:
    low = risk.assess(calm(rules), rules)
    high = risk.assess(calm(rules, confirmed_reports=1), rules)
    assert low.passes(RiskLevel.LOW) and low.passes(RiskLevel.MEDIUM)
    assert not high.passes(RiskLevel.MEDIUM) and high.passes(RiskLevel.HIGH)
