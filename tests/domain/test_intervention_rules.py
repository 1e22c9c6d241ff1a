"""R9-R12: platform intervention, rulings, their execution and appeals, as pure domain rules.

Every number comes from the profile under test (``[intervention]``, ``[appeals]``), never
from the rulebook text; each rule is also tried on a modified profile with other numbers,
so nothing can be hard-coded. Calendar dates are facts of the calendar (2026 is covered by
the statutory data, see ``domain/calendar.py``).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest

from aftersales.domain import machine
from aftersales.domain.calendar import is_authoritative, is_workday
from aftersales.domain.case import Case, Command, Facts, Outcome
from aftersales.domain.case_types import Action, ActorKind, CaseType, DeadlineKind, State
from aftersales.domain.errors import DomainError, IllegalTransition, ValidationFailed
from aftersales.domain.intervention import (
    EscalationFacts,
    Grounds,
    Refusal,
    check_buyer_appeal,
    check_escalation,
    check_merchant_appeal,
    deadlines,
    merchant_appeal_due,
    merchant_responded,
    refusals,
    urgent_response_due,
)
from aftersales.domain.policy import AppealRules, InterventionRules, Profile, Remedy

if TYPE_CHECKING:
    from tests.domain.conftest import Builder

A = Action
BUYER, MERCHANT, SYSTEM, PLATFORM = (
    ActorKind.BUYER,
    ActorKind.MERCHANT,
    ActorKind.SYSTEM,
    ActorKind.PLATFORM,
)
JUST = timedelta(seconds=1)
T = CaseType

# The refusal, refund refusal or counter-offer that started the dispute (R9.1).
DISPUTE_STARTED = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)


# --------------------------------------------------------------------------- profiles
def intervention_of(profile: Profile) -> InterventionRules:
    assert profile.intervention is not None, f"{profile.id} has no [intervention]"
    return profile.intervention


def appeals_of(profile: Profile) -> AppealRules:
    assert profile.appeals is not None, f"{profile.id} has no [appeals]"
    return profile.appeals


def modified(profile: Profile, **changes: Any) -> Profile:
    """``profile`` with other numbers in ``[intervention]`` and ``[appeals]`` (keys of
    either table), as an operator would configure them."""
    rules, appeals = intervention_of(profile), appeals_of(profile)
    upd_rules = {k: v for k, v in changes.items() if k in type(rules).model_fields}
    upd_appeals = {k: v for k, v in changes.items() if k in type(appeals).model_fields}
    assert set(upd_rules) | set(upd_appeals) == set(changes), changes
    return profile.model_copy(
        update={
            "intervention": rules.model_copy(update=upd_rules),
            "appeals": appeals.model_copy(update=upd_appeals),
        }
    )


# Other numbers than any shipped profile's, still consistent (urgent is sooner).
OTHER_INTERVENTION = {
    "escalate_within_hours": 72,
    "merchant_response_hours": 12,
    "urgent_response_hours": 3,
    "evidence_hours": 36,
    "ruling_hours": 6,
    "execution_hours": 72,
}


@pytest.fixture(params=["douyin", "tiktok", "modified"])
def any_profile(request: pytest.FixtureRequest, douyin: Profile, tiktok: Profile) -> Profile:
    """Each shipped profile, and douyin with other intervention numbers."""
    if request.param == "modified":
        other = modified(douyin, **OTHER_INTERVENTION)
        for profile in (douyin, tiktok):  # every changed number differs from the shipped one
            shipped = intervention_of(profile)
            assert all(getattr(shipped, k) != v for k, v in OTHER_INTERVENTION.items())
        return other
    return {"douyin": douyin, "tiktok": tiktok}[request.param]


def test_R9_3_shipped_profiles_restate_the_rulebook_defaults(
    douyin: Profile, tiktok: Profile
) -> None:
    """The one place the rulebook's numbers appear: the shipped defaults (R9.3: 24 h, 2 h
    when urgent, 48 h for evidence; R11.1: 48 h; R12.1: 7 working days; R12.2)."""
    for profile in (douyin, tiktok):
        rules = intervention_of(profile)
        assert (rules.merchant_response_hours, rules.urgent_response_hours) == (24, 2)
        assert (rules.evidence_hours, rules.execution_hours) == (48, 48)
        assert appeals_of(profile).merchant_window_workdays == 7
    assert appeals_of(douyin).buyer_max_appeals == 0
    assert (appeals_of(tiktok).buyer_max_appeals, appeals_of(tiktok).buyer_window_hours) == (2, 48)


# --------------------------------------------------------------------------- R9.2
def escalation(**kw: Any) -> EscalationFacts:
    """A request the platform takes: inside its window, unresolved, unflagged, unsettled."""
    base: dict[str, Any] = {
        "resolved": False,
        "in_window": True,
        "dispute_started_at": DISPUTE_STARTED,
        "flags": frozenset(),
        "settled": False,
    }
    return EscalationFacts(**(base | kw))


def test_R9_2_platform_takes_a_dispute_no_refusal_applies_to(any_profile: Profile) -> None:
    rules = intervention_of(any_profile)
    now = DISPUTE_STARTED + timedelta(hours=1)
    assert refusals(escalation(), rules, now) == []
    check_escalation(escalation(), rules, now)  # does not raise


REFUSAL_FACTS = [
    pytest.param(Refusal.OFF_PLATFORM, {"flags": frozenset({Refusal.OFF_PLATFORM})}),
    pytest.param(Refusal.INVALID_TRANSACTION, {"flags": frozenset({Refusal.INVALID_TRANSACTION})}),
    pytest.param(Refusal.NOT_ACTUAL_CONSUMER, {"flags": frozenset({Refusal.NOT_ACTUAL_CONSUMER})}),
    pytest.param(Refusal.OUT_OF_WINDOW, {"in_window": False}, id="out_of_window-request"),
    pytest.param(Refusal.SETTLED, {"settled": True}),
    pytest.param(Refusal.RESOLVED, {"resolved": True}),
    pytest.param(Refusal.LEGAL_PROCEEDINGS, {"flags": frozenset({Refusal.LEGAL_PROCEEDINGS})}),
]


@pytest.mark.parametrize(("reason", "facts"), REFUSAL_FACTS)
def test_R9_2_platform_refuses_for_each_reason(
    any_profile: Profile, reason: Refusal, facts: dict[str, Any]
) -> None:
    rules = intervention_of(any_profile)
    now = DISPUTE_STARTED + timedelta(hours=1)
    assert refusals(escalation(**facts), rules, now) == [reason]

    with pytest.raises(IllegalTransition) as err:
        check_escalation(escalation(**facts), rules, now)
    assert err.value.code == f"intervention.{reason.value}"
    assert err.value.rule == "R9.2"
    assert err.value.params["reasons"] == reason.value


def test_R9_2_asking_at_the_end_of_the_escalation_window_is_out_of_window(
    any_profile: Profile,
) -> None:
    """The ask itself must come within ``escalate_within_hours`` of the dispute's start:
    one second before is in time, exactly at it is late."""
    rules = intervention_of(any_profile)
    closes = DISPUTE_STARTED + timedelta(hours=rules.escalate_within_hours)

    assert refusals(escalation(), rules, closes - JUST) == []
    check_escalation(escalation(), rules, closes - JUST)

    assert refusals(escalation(), rules, closes) == [Refusal.OUT_OF_WINDOW]
    with pytest.raises(IllegalTransition) as err:
        check_escalation(escalation(), rules, closes)
    assert (err.value.code, err.value.rule) == ("intervention.out_of_window", "R9.2")


def test_R9_2_the_escalation_window_is_the_profiles(douyin: Profile) -> None:
    """Another number in the profile moves the end of the window with it."""
    shipped = intervention_of(douyin)
    other = intervention_of(modified(douyin, **OTHER_INTERVENTION))
    assert other.escalate_within_hours < shipped.escalate_within_hours
    between = DISPUTE_STARTED + timedelta(hours=other.escalate_within_hours)
    assert refusals(escalation(), shipped, between) == []
    assert refusals(escalation(), other, between) == [Refusal.OUT_OF_WINDOW]


def test_R9_2_without_a_recorded_dispute_start_only_the_request_window_counts(
    any_profile: Profile,
) -> None:
    rules = intervention_of(any_profile)
    long_after = DISPUTE_STARTED + timedelta(hours=rules.escalate_within_hours * 10)
    assert refusals(escalation(dispute_started_at=None), rules, long_after) == []


def test_R9_2_every_reason_is_listed_and_the_first_is_named(any_profile: Profile) -> None:
    rules = intervention_of(any_profile)
    facts = escalation(
        flags=frozenset({Refusal.LEGAL_PROCEEDINGS, Refusal.OFF_PLATFORM}),
        settled=True,
    )
    now = DISPUTE_STARTED + timedelta(hours=1)
    found = refusals(facts, rules, now)
    assert found == [Refusal.OFF_PLATFORM, Refusal.SETTLED, Refusal.LEGAL_PROCEEDINGS]
    with pytest.raises(IllegalTransition) as err:
        check_escalation(facts, rules, now)
    assert err.value.code == "intervention.off_platform"
    assert err.value.params["reasons"] == "off_platform, settled, legal_proceedings"


# --------------------------------------------------------------------------- R9.3
OPENED = datetime(2026, 11, 4, 2, 15, tzinfo=UTC)


def test_R9_3_merchant_response_and_evidence_deadlines(any_profile: Profile) -> None:
    rules = intervention_of(any_profile)
    plain = deadlines(rules, OPENED, urgent=False)
    assert plain.merchant_response_due == OPENED + timedelta(hours=rules.merchant_response_hours)
    assert plain.evidence_due == OPENED + timedelta(hours=rules.evidence_hours)
    assert plain.ruling_due == plain.evidence_due + timedelta(hours=rules.ruling_hours)

    urgent = deadlines(rules, OPENED, urgent=True)
    assert urgent.merchant_response_due == OPENED + timedelta(hours=rules.urgent_response_hours)
    assert urgent.merchant_response_due <= plain.merchant_response_due
    # Urgency shortens the merchant's response only, not the evidence deadline.
    assert (urgent.evidence_due, urgent.ruling_due) == (plain.evidence_due, plain.ruling_due)


def test_R9_3_marking_urgent_gives_the_urgent_time_from_now(any_profile: Profile) -> None:
    rules = intervention_of(any_profile)
    current = deadlines(rules, OPENED, urgent=False).merchant_response_due
    marked = OPENED + timedelta(minutes=10)
    assert urgent_response_due(rules, marked, current) == marked + timedelta(
        hours=rules.urgent_response_hours
    )


def test_R9_3_marking_urgent_never_extends_the_merchant_deadline(any_profile: Profile) -> None:
    rules = intervention_of(any_profile)
    current = deadlines(rules, OPENED, urgent=False).merchant_response_due
    urgent = timedelta(hours=rules.urgent_response_hours)
    # Marked when less than the urgent time is left: the merchant keeps its deadline.
    late_mark = current - urgent + JUST
    assert urgent_response_due(rules, late_mark, current) == current
    assert urgent_response_due(rules, current - JUST, current) == current
    # Exactly the urgent time left: the same instant either way.
    assert urgent_response_due(rules, current - urgent, current) == current


def test_R9_3_responding_at_the_deadline_is_on_time_a_second_later_is_not(
    any_profile: Profile,
) -> None:
    rules = intervention_of(any_profile)
    for urgent in (False, True):
        due = deadlines(rules, OPENED, urgent=urgent).merchant_response_due
        later = due + JUST  # the moment it is judged
        assert merchant_responded(OPENED + JUST, due, later)
        assert merchant_responded(due, due, later)
        assert not merchant_responded(due + JUST, due, later)
        assert not merchant_responded(None, due, later)
        # Inside the deadline a merchant that has not answered yet is not silent.
        assert merchant_responded(None, due, due - JUST)
        assert not merchant_responded(None, due, due)


# --------------------------------------------------------------------------- R12.1
SHANGHAI = ZoneInfo("Asia/Shanghai")
SINGAPORE = ZoneInfo("Asia/Singapore")

# 15:00 in Shanghai on the last working day before National Day 2026 (Oct 1-7 off).
RULED_BEFORE_NATIONAL_DAY = datetime(2026, 9, 30, 15, 0, tzinfo=SHANGHAI).astimezone(UTC)
# The working days that follow it on the statutory calendar: Saturday Oct 10 is a make-up
# workday (调休), Sunday Oct 11 is not.
CN_WORKDAYS_AFTER_SEP_30 = [
    date(2026, 10, 8),
    date(2026, 10, 9),
    date(2026, 10, 10),  # Saturday, make-up workday
    date(2026, 10, 12),
    date(2026, 10, 13),
    date(2026, 10, 14),
    date(2026, 10, 15),
    date(2026, 10, 16),
    date(2026, 10, 19),
    date(2026, 10, 20),
]
# The same ruling counted on plain weekdays (the holidays would be working days).
WEEKDAYS_AFTER_SEP_30 = [
    date(2026, 10, 1),
    date(2026, 10, 2),
    date(2026, 10, 5),
    date(2026, 10, 6),
    date(2026, 10, 7),
    date(2026, 10, 8),
    date(2026, 10, 9),
    date(2026, 10, 12),
    date(2026, 10, 13),
    date(2026, 10, 14),
]
# 10:00 in Singapore on a Friday; the weekdays that follow it skip the weekend.
RULED_ON_A_FRIDAY = datetime(2026, 11, 6, 10, 0, tzinfo=SINGAPORE).astimezone(UTC)
WEEKDAYS_AFTER_NOV_6 = [
    date(2026, 11, 9),  # Monday
    date(2026, 11, 10),
    date(2026, 11, 11),
    date(2026, 11, 12),
    date(2026, 11, 13),
    date(2026, 11, 16),  # Monday
    date(2026, 11, 17),
    date(2026, 11, 18),
    date(2026, 11, 19),
    date(2026, 11, 20),
]


def end_of(day: date, tz: ZoneInfo) -> datetime:
    """The first instant after the local day ``day``: the appeal must come before it."""
    return datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(days=1)


def test_R12_1_the_statutory_calendar_data_covers_the_dates_used() -> None:
    assert is_authoritative(date(2026, 10, 1))
    assert not is_workday(date(2026, 10, 1), "cn_statutory")  # National Day
    assert is_workday(date(2026, 10, 10), "cn_statutory")  # Saturday, make-up workday
    assert date(2026, 10, 10).weekday() == 5
    assert is_workday(date(2026, 10, 1), "weekdays")


@pytest.mark.parametrize("workdays", [None, 1, 3, 10], ids=["profile", "1", "3", "10"])
def test_R12_1_douyin_merchant_appeal_window_skips_holidays_and_counts_make_up_days(
    douyin: Profile, workdays: int | None
) -> None:
    """Ruled the day before National Day: the holiday week does not count, the make-up
    Saturday does."""
    profile = douyin if workdays is None else modified(douyin, merchant_window_workdays=workdays)
    assert profile.calendar == "cn_statutory"
    rules = appeals_of(profile)
    n = rules.merchant_window_workdays
    assert 1 <= n <= len(CN_WORKDAYS_AFTER_SEP_30)

    due = merchant_appeal_due(profile, rules, RULED_BEFORE_NATIONAL_DAY)

    assert due == end_of(CN_WORKDAYS_AFTER_SEP_30[n - 1], ZoneInfo(profile.timezone))
    assert due != end_of(WEEKDAYS_AFTER_SEP_30[n - 1], ZoneInfo(profile.timezone))
    # On time up to the last instant of the last working day, late from the next midnight.
    check_merchant_appeal(
        rules, due=due, now=due - JUST, grounds=Grounds.NEW_EVIDENCE, new_evidence=[1], statement=""
    )
    with pytest.raises(IllegalTransition) as err:
        check_merchant_appeal(
            rules, due=due, now=due, grounds=Grounds.NEW_EVIDENCE, new_evidence=[1], statement=""
        )
    assert (err.value.code, err.value.rule) == ("appeal.window_closed", "R12.1")


def test_R12_1_a_make_up_saturday_is_a_working_day_a_holiday_is_not(douyin: Profile) -> None:
    """Three working days after Sep 30, 2026 end on the make-up Saturday Oct 10."""
    profile = modified(douyin, merchant_window_workdays=3)
    due = merchant_appeal_due(profile, appeals_of(profile), RULED_BEFORE_NATIONAL_DAY)
    last_day = (due - JUST).astimezone(SHANGHAI).date()
    assert last_day == date(2026, 10, 10) and last_day.weekday() == 5
    assert due == datetime(2026, 10, 11, tzinfo=SHANGHAI)


@pytest.mark.parametrize("workdays", [None, 1, 5, 6], ids=["profile", "1", "5", "6"])
def test_R12_1_tiktok_merchant_appeal_window_counts_weekdays_across_the_weekend(
    tiktok: Profile, workdays: int | None
) -> None:
    profile = tiktok if workdays is None else modified(tiktok, merchant_window_workdays=workdays)
    assert profile.calendar == "weekdays"
    rules = appeals_of(profile)
    n = rules.merchant_window_workdays
    assert 1 <= n <= len(WEEKDAYS_AFTER_NOV_6)

    due = merchant_appeal_due(profile, rules, RULED_ON_A_FRIDAY)

    assert due == end_of(WEEKDAYS_AFTER_NOV_6[n - 1], ZoneInfo(profile.timezone))
    assert (due - JUST).astimezone(SINGAPORE).weekday() < 5  # the last day is a weekday
    # A weekday calendar ignores the Chinese statutory holidays.
    before_national_day = merchant_appeal_due(profile, rules, RULED_BEFORE_NATIONAL_DAY)
    assert before_national_day == end_of(WEEKDAYS_AFTER_SEP_30[n - 1], ZoneInfo(profile.timezone))


def test_R12_1_the_ruling_day_is_the_profiles_local_day(douyin: Profile) -> None:
    """Ruled at 23:30 on Sep 30 in Shanghai (still 15:30 UTC) or at 00:30 on Oct 1 (a
    holiday): both count from the same working days, after the local ruling day."""
    rules = appeals_of(douyin)
    n = rules.merchant_window_workdays
    late_evening = datetime(2026, 9, 30, 23, 30, tzinfo=SHANGHAI).astimezone(UTC)
    past_midnight = datetime(2026, 10, 1, 0, 30, tzinfo=SHANGHAI).astimezone(UTC)
    expected = end_of(CN_WORKDAYS_AFTER_SEP_30[n - 1], SHANGHAI)
    assert merchant_appeal_due(douyin, rules, late_evening) == expected
    assert merchant_appeal_due(douyin, rules, past_midnight) == expected


def test_R12_1_an_appeal_on_new_evidence_names_that_evidence(douyin: Profile) -> None:
    rules = appeals_of(douyin)
    due = merchant_appeal_due(douyin, rules, RULED_BEFORE_NATIONAL_DAY)
    now = RULED_BEFORE_NATIONAL_DAY + timedelta(hours=2)
    with pytest.raises(ValidationFailed) as err:
        check_merchant_appeal(
            rules, due=due, now=now, grounds=Grounds.NEW_EVIDENCE, new_evidence=[], statement="x"
        )
    assert (err.value.code, err.value.rule) == ("appeal.evidence_missing", "R12.1")
    assert err.value.params["field"] == "evidence"
    check_merchant_appeal(
        rules, due=due, now=now, grounds=Grounds.NEW_EVIDENCE, new_evidence=[91, 92], statement=""
    )


@pytest.mark.parametrize("statement", ["", "   \n "])
def test_R12_1_an_appeal_claiming_misjudgment_says_what_was_misjudged(
    douyin: Profile, statement: str
) -> None:
    rules = appeals_of(douyin)
    due = merchant_appeal_due(douyin, rules, RULED_BEFORE_NATIONAL_DAY)
    now = RULED_BEFORE_NATIONAL_DAY + timedelta(hours=2)
    with pytest.raises(ValidationFailed) as err:
        check_merchant_appeal(
            rules,
            due=due,
            now=now,
            grounds=Grounds.MISJUDGMENT,
            new_evidence=[],
            statement=statement,
        )
    assert (err.value.code, err.value.rule) == ("appeal.statement_missing", "R12.1")
    check_merchant_appeal(
        rules,
        due=due,
        now=now,
        grounds=Grounds.MISJUDGMENT,
        new_evidence=[],
        statement="物流签收记录显示买家已收货，裁决误认为未送达",
    )


def test_R12_1_a_late_appeal_is_refused_whatever_its_grounds(douyin: Profile) -> None:
    rules = appeals_of(douyin)
    due = merchant_appeal_due(douyin, rules, RULED_BEFORE_NATIONAL_DAY)
    for grounds in Grounds:
        with pytest.raises(IllegalTransition) as err:
            check_merchant_appeal(
                rules,
                due=due,
                now=due + timedelta(days=1),
                grounds=grounds,
                new_evidence=[91],
                statement="误判",
            )
        assert err.value.code == "appeal.window_closed"


# --------------------------------------------------------------------------- R12.2
def test_R12_2_douyin_buyers_do_not_appeal(douyin: Profile) -> None:
    rules = appeals_of(douyin)
    assert rules.buyer_max_appeals == 0
    with pytest.raises(IllegalTransition) as err:
        check_buyer_appeal(rules, 0)
    assert (err.value.code, err.value.rule) == ("appeal.buyers_do_not_appeal", "R12.2")
    assert not machine.buyer_may_appeal(douyin)


@pytest.mark.parametrize("limit", [None, 1, 3], ids=["profile", "1", "3"])
def test_R12_2_tiktok_buyer_appeals_up_to_the_limit(tiktok: Profile, limit: int | None) -> None:
    profile = tiktok if limit is None else modified(tiktok, buyer_max_appeals=limit)
    rules = appeals_of(profile)
    assert rules.buyer_max_appeals >= 1
    assert machine.buyer_may_appeal(profile)
    for so_far in range(rules.buyer_max_appeals):
        check_buyer_appeal(rules, so_far)
    with pytest.raises(IllegalTransition) as err:
        check_buyer_appeal(rules, rules.buyer_max_appeals)
    assert (err.value.code, err.value.rule) == ("appeal.limit_reached", "R12.2")
    assert err.value.params["limit"] == rules.buyer_max_appeals


# --------------------------------------------------------------------------- machine
def rule(b: Builder, case: Case, facts: Facts, at: datetime | None = None, **kw: Any) -> Outcome:
    cmd = Command(A.RULE, PLATFORM, note="依据双方证据裁决", **kw)
    return machine.apply(case, cmd, facts, b.profile, at or b.now)


def intervention(b: Builder, case_type: CaseType) -> tuple[Case, Facts]:
    return b.case(case_type, State.IN_INTERVENTION), b.facts(b.order_for(case_type))


# A remedy that does not fit the request (R10.4): nothing can come back from an unshipped
# order, a refund request gets no replacement goods, an exchange or reship is goods-only.
MISFITS = [
    (T.REFUND_ONLY, Remedy.EXCHANGE),
    (T.REFUND_ONLY, Remedy.RESHIP),
    (T.REFUND_UNSHIPPED, Remedy.RETURN_THEN_REFUND),
    (T.REFUND_UNSHIPPED, Remedy.REFUND_WITHOUT_RETURN),
    (T.RETURN_REFUND, Remedy.EXCHANGE),
    (T.EXCHANGE, Remedy.PARTIAL_REFUND),
    (T.EXCHANGE, Remedy.RESHIP),
    (T.RESHIP, Remedy.EXCHANGE),
    (T.RESHIP, Remedy.RETURN_THEN_REFUND),
]


@pytest.mark.parametrize(
    ("case_type", "remedy"), MISFITS, ids=[f"{t.value}-{r.value}" for t, r in MISFITS]
)
def test_R10_4_a_ruling_remedy_must_fit_the_request_type(
    build: Builder, case_type: CaseType, remedy: Remedy
) -> None:
    case, facts = intervention(build, case_type)
    with pytest.raises(ValidationFailed) as err:
        rule(build, case, facts, remedy=remedy)
    assert (err.value.code, err.value.rule) == ("ruling.remedy_not_for_type", "R10.4")
    assert err.value.params == {"field": "remedy", "remedy": remedy.value, "type": case_type.value}


def test_R10_4_a_ruling_names_a_remedy(build: Builder) -> None:
    case, facts = intervention(build, T.REFUND_ONLY)
    with pytest.raises(ValidationFailed) as err:
        rule(build, case, facts)
    assert (err.value.code, err.value.rule) == ("ruling.remedy_missing", "R10.4")


def test_R10_4_a_partial_refund_names_an_amount_less_than_asked(build: Builder) -> None:
    case, facts = intervention(build, T.RETURN_REFUND)
    asked = case.requested
    assert asked.amount > 1

    with pytest.raises(ValidationFailed) as missing:
        rule(build, case, facts, remedy=Remedy.PARTIAL_REFUND)
    assert (missing.value.code, missing.value.rule) == ("ruling.amount_missing", "R10.4")

    for not_less in (asked, asked + build.money(1)):
        with pytest.raises(DomainError) as err:
            rule(build, case, facts, remedy=Remedy.PARTIAL_REFUND, amount=not_less)
        assert err.value.rule in ("R10.4", "R5.2")
    with pytest.raises(ValidationFailed) as equal:
        rule(build, case, facts, remedy=Remedy.PARTIAL_REFUND, amount=asked)
    assert (equal.value.code, equal.value.rule) == ("ruling.partial_not_less", "R10.4")

    part = build.money(asked.amount - 1)
    out = rule(build, case, facts, remedy=Remedy.PARTIAL_REFUND, amount=part)
    assert out.to_state is State.AWAITING_EXECUTION
    assert out.case.agreed == part


@pytest.mark.parametrize("remedy", [Remedy.REJECT, Remedy.EXCHANGE])
def test_R10_4_a_remedy_that_moves_no_money_names_no_amount(build: Builder, remedy: Remedy) -> None:
    case, facts = intervention(build, T.EXCHANGE)
    with pytest.raises(ValidationFailed) as err:
        rule(build, case, facts, remedy=remedy, amount=build.money(1_000))
    assert (err.value.code, err.value.rule) == ("ruling.amount_not_allowed", "R10.4")
    out = rule(build, case, facts, remedy=remedy)
    assert out.case.agreed is None


def test_R10_4_a_full_refund_is_what_the_buyer_asked_for(build: Builder) -> None:
    case, facts = intervention(build, T.REFUND_ONLY)
    out = rule(build, case, facts, remedy=Remedy.FULL_REFUND)
    assert out.to_state is State.AWAITING_EXECUTION
    assert out.case.agreed == case.requested
    assert out.refund is None  # the merchant executes it (R11.1)


def test_R12_2_a_rejection_opens_the_buyers_appeal_window_on_tiktok(
    build_tiktok: Builder,
) -> None:
    b = build_tiktok
    case, facts = intervention(b, T.REFUND_ONLY)
    out = rule(b, case, facts, remedy=Remedy.REJECT)
    assert out.to_state is State.RULED
    assert out.case.closed_at is None and out.refund is None
    assert out.deadline is not None
    assert out.deadline.kind is DeadlineKind.APPEAL_WINDOW
    assert out.deadline.due_at == b.now + timedelta(hours=appeals_of(b.profile).buyer_window_hours)


def test_R12_2_a_rejection_closes_the_case_on_douyin(douyin: Profile, build: Builder) -> None:
    b = dataclasses.replace(build, profile=douyin)
    case, facts = intervention(b, T.REFUND_ONLY)
    out = rule(b, case, facts, remedy=Remedy.REJECT)
    assert out.to_state is State.CLOSED
    assert out.case.closed_at == b.now and out.case.close_reason == "rule"
    assert out.deadline is None and out.refund is None


# --------------------------------------------------------------------------- R11
@pytest.fixture(params=["profile", "modified"])
def ruling_builder(request: pytest.FixtureRequest, build: Builder) -> Builder:
    """The table-walking douyin builder, and one with other execution / appeal numbers."""
    if request.param == "profile":
        return build
    other = modified(build.profile, execution_hours=72, buyer_window_hours=20)
    assert other.intervention != build.profile.intervention
    assert other.appeals != build.profile.appeals
    return dataclasses.replace(build, profile=other)


def ruled_for_buyer(b: Builder, case_type: CaseType = T.RETURN_REFUND) -> tuple[Outcome, Facts]:
    case, facts = intervention(b, case_type)
    out = rule(b, case, facts, remedy=Remedy.FULL_REFUND)
    assert out.to_state is State.AWAITING_EXECUTION and out.case.agreed is not None
    return out, facts


def test_R11_1_the_merchant_refunds_exactly_the_ruled_amount(build: Builder) -> None:
    ruled, facts = ruled_for_buyer(build)
    case, agreed = ruled.case, ruled.case.agreed
    assert agreed is not None
    at = build.now + timedelta(hours=1)
    for other in (agreed - build.money(1), build.money(1)):
        with pytest.raises(ValidationFailed) as err:
            machine.apply(case, Command(A.REFUND, MERCHANT, amount=other), facts, build.profile, at)
        assert (err.value.code, err.value.rule) == ("ruling.amount_differs", "R11.1")

    for cmd in (Command(A.REFUND, MERCHANT, amount=agreed), Command(A.REFUND, MERCHANT)):
        out = machine.apply(case, cmd, facts, build.profile, at)
        assert out.to_state is State.REFUNDED
        assert out.refund is not None and out.refund.amount == agreed
        assert out.refund.rule == "R11.1"


def test_R11_1_a_ruling_is_executed_as_ruled_money_or_goods(build: Builder) -> None:
    money, facts = ruled_for_buyer(build, T.EXCHANGE)
    carrier, number = build.sf_tracking
    ship = Command(A.SHIP_REPLACEMENT, MERCHANT, carrier=carrier, tracking_number=number)
    with pytest.raises(IllegalTransition) as err:
        machine.apply(money.case, ship, facts, build.profile, build.now)
    # An exchange ruled for money is refunded; only a reship ruling sends goods (R11.1).
    assert err.value.code == "transition.illegal"

    reship_case, reship_facts = intervention(build, T.RESHIP)
    goods = rule(build, reship_case, reship_facts, remedy=Remedy.RESHIP)
    assert goods.to_state is State.AWAITING_EXECUTION and goods.case.agreed is None
    with pytest.raises(IllegalTransition) as err:
        machine.apply(
            goods.case, Command(A.REFUND, MERCHANT), reship_facts, build.profile, build.now
        )
    assert (err.value.code, err.value.rule) == ("ruling.goods_remedy", "R11.1")
    shipped = machine.apply(goods.case, ship, reship_facts, build.profile, build.now)
    assert shipped.to_state is State.REPLACEMENT_SHIPPED


def test_R11_2_execution_timeout_fires_at_the_deadline_not_before(
    ruling_builder: Builder,
) -> None:
    b = ruling_builder
    ruled, facts = ruled_for_buyer(b)
    hours = intervention_of(b.profile).execution_hours
    assert ruled.deadline is not None
    assert ruled.deadline.kind is DeadlineKind.RULING_EXECUTION
    due = ruled.deadline.due_at
    assert due == b.now + timedelta(hours=hours)
    timeout = Command(A.EXECUTION_TIMEOUT, SYSTEM)

    with pytest.raises(IllegalTransition) as err:
        machine.apply(ruled.case, timeout, facts, b.profile, due - JUST)
    assert (err.value.code, err.value.rule) == ("deadline.not_due", "R11.2")

    # The merchant may still execute up to the deadline, no longer at it (R11.1) ...
    refund = Command(A.REFUND, MERCHANT)
    assert machine.apply(ruled.case, refund, facts, b.profile, due - JUST).to_state is (
        State.REFUNDED
    )
    with pytest.raises(IllegalTransition) as late:
        machine.apply(ruled.case, refund, facts, b.profile, due)
    assert (late.value.code, late.value.rule) == ("deadline.passed", "R11.1")

    # ... then the platform pays the ruled amount first (R11.2).
    out = machine.apply(ruled.case, timeout, facts, b.profile, due)
    assert out.to_state is State.REFUNDED
    assert out.refund is not None
    assert out.refund.amount == ruled.case.agreed and out.refund.rule == "R11.2"


def test_R12_1_an_upheld_merchant_appeal_overturns_the_ruling_with_a_reason(
    build: Builder,
) -> None:
    ruled, facts = ruled_for_buyer(build)
    with pytest.raises(ValidationFailed) as err:
        machine.apply(
            ruled.case, Command(A.RULING_OVERTURNED, PLATFORM), facts, build.profile, build.now
        )
    assert (err.value.code, err.value.rule) == ("ruling.overturn_reason", "R12.1")
    due = ruled.case.deadline_at
    assert due is not None
    # Overturning is the platform's: it may happen after the execution deadline too.
    cmd = Command(A.RULING_OVERTURNED, PLATFORM, note="商家申诉成立")
    out = machine.apply(ruled.case, cmd, facts, build.profile, due + JUST)
    assert out.to_state is State.CLOSED and out.refund is None


# --------------------------------------------------------------------------- R12.2 appeal
def test_R12_2_the_buyer_appeals_within_the_window_not_after(ruling_builder: Builder) -> None:
    b = ruling_builder
    case, facts = intervention(b, T.REFUND_ONLY)
    ruled = rule(b, case, facts, remedy=Remedy.REJECT)
    assert ruled.to_state is State.RULED
    hours = appeals_of(b.profile).buyer_window_hours
    assert ruled.deadline is not None and ruled.deadline.kind is DeadlineKind.APPEAL_WINDOW
    due = ruled.deadline.due_at
    assert due == b.now + timedelta(hours=hours)
    appeal = Command(A.APPEAL, BUYER, note="补充了开箱视频")

    back = machine.apply(ruled.case, appeal, facts, b.profile, due - JUST)
    assert back.to_state is State.IN_INTERVENTION
    assert back.case.deadline_kind is None

    with pytest.raises(IllegalTransition) as err:
        machine.apply(ruled.case, appeal, facts, b.profile, due)
    assert (err.value.code, err.value.rule) == ("deadline.passed", "R12.2")
    assert A.APPEAL not in machine.available_actions(ruled.case, BUYER, due)
    assert A.APPEAL in machine.available_actions(ruled.case, BUYER, due - JUST)

    timeout = Command(A.APPEAL_WINDOW_TIMEOUT, SYSTEM)
    with pytest.raises(IllegalTransition) as early:
        machine.apply(ruled.case, timeout, facts, b.profile, due - JUST)
    assert early.value.code == "deadline.not_due"
    closed = machine.apply(ruled.case, timeout, facts, b.profile, due)
    assert closed.to_state is State.CLOSED and closed.refund is None


# --------------------------------------------------------------------------- R9.1, R9.4
@pytest.mark.parametrize(
    ("state", "action", "actor"),
    [
        (State.REJECTED, A.ESCALATE, BUYER),
        (State.AWAITING_BUYER, A.ESCALATE, BUYER),
        (State.AWAITING_BUYER, A.MERCHANT_ESCALATE, MERCHANT),
        (State.RETURN_DELIVERED, A.MERCHANT_ESCALATE, MERCHANT),
        (State.RETURN_RECEIVED, A.MERCHANT_ESCALATE, MERCHANT),
    ],
)
def test_R9_1_either_party_asks_the_platform_to_step_in(
    build: Builder, state: State, action: Action, actor: ActorKind
) -> None:
    case = build.case(T.RETURN_REFUND, state)
    facts = build.facts(build.order())
    out = machine.apply(case, Command(action, actor), facts, build.profile, build.now)
    assert out.to_state is State.IN_INTERVENTION and out.rule == "R9.1"
    # The state's own deadline stops: the intervention has its own (R9.3, the service).
    assert out.case.deadline_kind is None and out.deadline is None


@pytest.mark.parametrize(
    ("action", "actor", "rule_id"),
    [(A.WITHDRAW_INTERVENTION, BUYER, "R9.4"), (A.LEGAL_PROCEEDINGS, PLATFORM, "R9.2")],
)
def test_R9_4_withdrawal_and_R9_2_legal_proceedings_end_the_intervention(
    build: Builder, action: Action, actor: ActorKind, rule_id: str
) -> None:
    case, facts = intervention(build, T.REFUND_ONLY)
    out = machine.apply(case, Command(action, actor), facts, build.profile, build.now)
    assert out.to_state is State.CLOSED and out.rule == rule_id
    assert out.refund is None and out.case.close_reason == action.value
