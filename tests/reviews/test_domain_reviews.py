"""R12.3 in the pure domain: what is negative, the window's last instant, the decision
window, and the order of the refusals. Numbers come from the shipped profiles or from a
copy with other numbers."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from aftersales.domain.errors import Conflict, IllegalTransition, ValidationFailed
from aftersales.domain.policy import Profile
from aftersales.domain.reviews import (
    EvidenceKind,
    EvidenceRef,
    ReviewFacts,
    Topic,
    check_appeal,
    decision_window,
    is_negative,
    negative_rules,
    window_end,
)
from aftersales.profiles import load_profiles
from tests.reviews.support import OTHER_NUMBERS, with_review_rules

PROFILES = load_profiles()


@pytest.fixture(params=["shipped", "other_numbers"])
def tiktok(request: pytest.FixtureRequest) -> Profile:
    profile = PROFILES["tiktok"]
    return profile if request.param == "shipped" else with_review_rules(profile, **OTHER_NUMBERS)


def _facts(profile: Profile, **kw: object) -> ReviewFacts:
    nr = negative_rules(profile)
    assert nr is not None
    args: dict[str, object] = {
        "rating": nr.negative_max_rating,
        "topic": next(t for t in Topic if t.value not in nr.excluded_topics),
        "reviewed_at": datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
        "removed": False,
        "pending": False,
        "earlier_evidence": frozenset(),
        "dismissed_before": False,
    }
    args.update(kw)
    return ReviewFacts(**args)  # type: ignore[arg-type]


def _evidence(profile: Profile) -> list[EvidenceRef]:
    nr = negative_rules(profile)
    assert nr is not None
    return [EvidenceRef(EvidenceKind(k), f"REF-{k}") for k in nr.required_evidence]


def test_R12_3_negative_is_the_profiles_threshold_and_douyin_has_none(tiktok: Profile) -> None:
    nr = negative_rules(tiktok)
    assert nr is not None
    assert is_negative(nr.negative_max_rating, nr) is True
    assert is_negative(nr.negative_max_rating + 1, nr) is False
    assert negative_rules(PROFILES["douyin"]) is None
    assert all(is_negative(r, None) is None for r in range(1, 6))


def test_R12_3_the_windows_last_instant_is_the_end_of_its_last_local_day(tiktok: Profile) -> None:
    nr = negative_rules(tiktok)
    assert nr is not None
    tz = ZoneInfo(tiktok.timezone)
    reviewed = datetime(2026, 11, 20, 23, 30, tzinfo=tz)  # late in the local day
    last_day = reviewed.date() + timedelta(days=nr.window_days)
    end = window_end(tiktok, nr, reviewed.astimezone(UTC))
    assert end == datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=tz)
    facts = _facts(tiktok, reviewed_at=reviewed.astimezone(UTC))
    check_appeal(tiktok, facts, _evidence(tiktok), end - timedelta(microseconds=1))
    with pytest.raises(IllegalTransition):
        check_appeal(tiktok, facts, _evidence(tiktok), end)


def test_R12_3_decision_window_is_min_to_max_working_days(tiktok: Profile) -> None:
    nr = negative_rules(tiktok)
    assert nr is not None
    tz = ZoneInfo(tiktok.timezone)
    filed = datetime(2026, 11, 20, 9, 0, tzinfo=tz)  # a Friday
    expected_from, decide_by = decision_window(tiktok, nr, filed.astimezone(UTC))
    assert expected_from < decide_by
    assert expected_from.astimezone(tz).time() == time(0)
    assert decide_by.astimezone(tz).time() == time(0)
    assert expected_from.astimezone(tz).weekday() < 5
    assert (decide_by - timedelta(days=1)).astimezone(tz).weekday() < 5


def test_R12_3_refusals_come_in_order_and_each_names_the_rule(tiktok: Profile) -> None:
    nr = negative_rules(tiktok)
    assert nr is not None
    now = datetime(2026, 11, 21, tzinfo=UTC)
    ok = _evidence(tiktok)
    cases: list[tuple[dict[str, object], list[EvidenceRef], type[Exception], str]] = [
        ({"removed": True}, ok, IllegalTransition, "review_appeal.review_removed"),
        (
            {"rating": nr.negative_max_rating + 1},
            ok,
            IllegalTransition,
            "review_appeal.not_negative",
        ),
        (
            {"topic": Topic(nr.excluded_topics[0])},
            ok,
            IllegalTransition,
            "review_appeal.topic_excluded",
        ),
        (
            {"reviewed_at": now - timedelta(days=nr.window_days + 2)},
            ok,
            IllegalTransition,
            "review_appeal.window_closed",
        ),
        ({"pending": True}, ok, Conflict, "review_appeal.already_pending"),
        ({}, ok[1:], ValidationFailed, "review_appeal.evidence_missing"),
        (
            {"dismissed_before": True, "earlier_evidence": frozenset(e.key for e in ok)},
            ok,
            ValidationFailed,
            "review_appeal.no_new_evidence",
        ),
    ]
    for facts, evidence, error, code in cases:
        with pytest.raises(error) as err:
            check_appeal(tiktok, _facts(tiktok, **facts), evidence, now)
        assert (err.value.code, err.value.rule) == (code, "R12.3")  # type: ignore[attr-defined]
    assert check_appeal(tiktok, _facts(tiktok), ok, now) == nr
    with pytest.raises(IllegalTransition) as err:
        check_appeal(PROFILES["douyin"], _facts(tiktok), ok, now)
    assert err.value.code == "review_appeal.not_offered"


def test_R12_3_same_reference_in_another_case_is_not_new_evidence() -> None:
    """References compare without surrounding space or case; descriptions do not count."""
    a = EvidenceRef(EvidenceKind.LOGISTICS, " sf123 ", "first")
    b = EvidenceRef(EvidenceKind.LOGISTICS, "SF123", "second")
    assert a.key == b.key
    assert a.key != EvidenceRef(EvidenceKind.ORDER, "SF123").key
