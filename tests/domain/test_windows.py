"""R2/R4: request windows and order stages through ``windows.check_window``.

Windows count calendar days in the profile's time zone; every length comes from the profile.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from aftersales.domain import calendar
from aftersales.domain.case_types import CaseType
from aftersales.domain.catalog import Order, OrderLine
from aftersales.domain.errors import IllegalTransition, ValidationFailed
from aftersales.domain.policy import ProductFlag, Profile
from aftersales.domain.reasons import REASONS, ReasonGroup, reason
from aftersales.domain.windows import WindowCheck, check_window
from aftersales.profiles import load_profiles

if TYPE_CHECKING:
    from tests.domain.conftest import Builder

NO_REASON_CODES = [r.code for r in REASONS.values() if r.group is ReasonGroup.NO_REASON]
EXCLUDED_FLAGS = list(load_profiles()["douyin"].windows.no_reason_excluded_flags)


def tz(profile: Profile) -> ZoneInfo:
    return ZoneInfo(profile.timezone)


def local(profile: Profile, day: date, at: time = time.min) -> datetime:
    """An instant given in the profile's local time, returned as aware UTC."""
    return datetime.combine(day, at, tzinfo=tz(profile)).astimezone(UTC)


def last_instant(profile: Profile, day: date) -> datetime:
    return local(profile, day, time.max)


def signed_order(b: Builder, signed_at: datetime, lines: list[OrderLine] | None = None) -> Order:
    return b.order(lines=lines, signed_at=signed_at)


def check(
    b: Builder,
    order: Order,
    reason_code: str,
    now: datetime,
    case_type: CaseType = CaseType.RETURN_REFUND,
    lines: list[OrderLine] | None = None,
) -> WindowCheck:
    return check_window(
        order, order.lines if lines is None else lines, reason_code, case_type, b.profile, now
    )


# --------------------------------------------------------------------------- R4.1
@pytest.mark.parametrize("reason_code", NO_REASON_CODES)
@pytest.mark.parametrize("case_type", [CaseType.RETURN_REFUND, CaseType.REFUND_ONLY])
def test_R4_1_no_reason_window_counts_from_the_day_after_signing(
    build: Builder, reason_code: str, case_type: CaseType
) -> None:
    p = build.profile
    assert p.windows.count_from_next_day
    signed_local_day = date(2026, 11, 1)
    signed = local(p, signed_local_day, time(15, 0))
    order = signed_order(build, signed)
    last_day = signed_local_day + timedelta(days=p.windows.no_reason_days)
    closes = local(p, last_day + timedelta(days=1))

    ok = check(build, order, reason_code, last_instant(p, last_day), case_type)
    assert ok.rule == "R4.1"
    assert ok.closes_at == closes

    # Counting from the day after signing gives more than ``days`` × 24 h from signing.
    assert check(build, order, reason_code, signed + timedelta(days=p.windows.no_reason_days))

    with pytest.raises(IllegalTransition) as err:
        check(build, order, reason_code, closes, case_type)
    assert err.value.rule == "R4.1"
    assert err.value.code == "window.no_reason_expired"


def test_R4_1_boundary_is_local_midnight_not_utc_midnight(build: Builder) -> None:
    """Signed early in the local morning, which is still the previous day in UTC."""
    p = build.profile
    signed_day = date(2026, 11, 2)
    signed = local(p, signed_day, time(7, 30))
    assert signed.date() < signed_day, "needs a time zone east of UTC"
    order = signed_order(build, signed)
    closes = local(p, signed_day + timedelta(days=p.windows.no_reason_days + 1))
    assert check(build, order, "changed_mind", closes - timedelta(microseconds=1))
    with pytest.raises(IllegalTransition) as err:
        check(build, order, "changed_mind", closes)
    assert err.value.rule == "R4.1"


def test_R4_1_without_next_day_counting_the_window_is_exact_hours(build: Builder) -> None:
    p = build.profile
    profile = p.model_copy(
        update={"windows": p.windows.model_copy(update={"count_from_next_day": False})}
    )
    signed = local(p, date(2026, 11, 1), time(15, 0))
    order = signed_order(build, signed)
    closes = signed + timedelta(days=p.windows.no_reason_days)
    ok = check_window(
        order,
        order.lines,
        "changed_mind",
        CaseType.RETURN_REFUND,
        profile,
        closes - timedelta(seconds=1),
    )
    assert ok.closes_at == closes
    with pytest.raises(IllegalTransition) as err:
        check_window(order, order.lines, "changed_mind", CaseType.RETURN_REFUND, profile, closes)
    assert err.value.rule == "R4.1"


def test_R4_1_window_across_national_day_counts_calendar_days(build: Builder) -> None:
    p = build.profile
    signed_day = date(2026, 9, 28)
    # Preconditions from the statutory calendar: National Day 2026-10-01..07 is a holiday and
    # Saturday 2026-10-10 is a make-up workday.
    assert not any(calendar.is_workday(date(2026, 10, d)) for d in range(1, 8)), (
        "National Day 2026 must be a holiday in the calendar data"
    )
    assert calendar.is_workday(date(2026, 10, 10))
    order = signed_order(build, local(p, signed_day, time(10, 0)))

    last_day = signed_day + timedelta(days=p.windows.no_reason_days)
    assert date(2026, 10, 1) <= last_day <= date(2026, 10, 7)  # the window ends in the holiday
    assert check(build, order, "changed_mind", last_instant(p, last_day)).rule == "R4.1"
    with pytest.raises(IllegalTransition) as err:
        check(build, order, "changed_mind", local(p, last_day + timedelta(days=1)))
    assert err.value.rule == "R4.1"
    # Counted in workdays the window would have reached well past the holiday.
    assert calendar.add_workdays(signed_day, p.windows.no_reason_days) > last_day + timedelta(1)

    # The guarantee window runs through the holiday and the make-up day alike (R4.2).
    g_last = signed_day + timedelta(days=p.windows.guarantee_days)
    assert g_last >= date(2026, 10, 10)
    assert check(build, order, "not_as_described", last_instant(p, g_last)).rule == "R4.2"
    with pytest.raises(IllegalTransition) as err:
        check(build, order, "not_as_described", local(p, g_last + timedelta(days=1)))
    assert err.value.rule == "R4.2"


# --------------------------------------------------------------------------- R4.2
def test_R4_2_merchant_side_reason_within_guarantee_passes(build: Builder) -> None:
    p = build.profile
    signed_day = date(2026, 11, 1)
    order = signed_order(build, local(p, signed_day, time(9, 0)))
    g_last = signed_day + timedelta(days=p.windows.guarantee_days)
    for code in ("defect", "not_as_described", "wrong_item", "stuck_in_transit"):
        result = check(build, order, code, last_instant(p, g_last))
        assert result.rule == "R4.2"
        assert result.closes_at == local(p, g_last + timedelta(days=1))


def test_R4_2_quality_past_guarantee_within_legal_cap_passes(build: Builder) -> None:
    p = build.profile
    w = p.windows
    assert ReasonGroup.QUALITY in w.statutory_groups
    assert w.legal_cap_days > w.guarantee_days
    signed_day = date(2026, 7, 1)
    order = signed_order(build, local(p, signed_day, time(12, 0)))
    after_guarantee = local(p, signed_day + timedelta(days=w.guarantee_days + 1))
    cap_closes = local(p, signed_day + timedelta(days=w.legal_cap_days + 1))

    result = check(build, order, "defect", after_guarantee)
    assert result.rule == "R4.2"
    assert result.closes_at == cap_closes
    assert check(build, order, "counterfeit", cap_closes - timedelta(microseconds=1))

    with pytest.raises(IllegalTransition) as err:
        check(build, order, "defect", cap_closes)
    assert err.value.rule == "R4.2"


@pytest.mark.parametrize(
    "reason_code", ["not_as_described", "wrong_item", "late_shipment", "other"]
)
def test_R4_2_non_statutory_reason_past_guarantee_refused(build: Builder, reason_code: str) -> None:
    p = build.profile
    assert reason(reason_code).group not in p.windows.statutory_groups
    signed_day = date(2026, 7, 1)
    order = signed_order(build, local(p, signed_day, time(12, 0)))
    after_guarantee = local(p, signed_day + timedelta(days=p.windows.guarantee_days + 1))
    with pytest.raises(IllegalTransition) as err:
        check(build, order, reason_code, after_guarantee)
    assert err.value.rule == "R4.2"
    assert err.value.code == "window.guarantee_expired"


# --------------------------------------------------------------------------- R4.3
def _order_with(b: Builder, signed: datetime, *flags: ProductFlag, **line_kw: object) -> Order:
    product = b.product(9, "定制刻字保温杯", flags=flags)
    return signed_order(b, signed, [b.line(1, product, **line_kw)])  # type: ignore[arg-type]


@pytest.mark.parametrize("flag", EXCLUDED_FLAGS)
def test_R4_3_excluded_categories_refuse_no_reason(build: Builder, flag: ProductFlag) -> None:
    signed = build.now - timedelta(days=1)
    order = _order_with(build, signed, flag)
    for code in NO_REASON_CODES:
        with pytest.raises(ValidationFailed) as err:
            check(build, order, code, build.now)
        assert err.value.rule == "R4.3"
        assert err.value.code == "window.no_reason_excluded"
    # A quality claim on the same goods within the guarantee is not affected (R4.2).
    assert check(build, order, "defect", build.now).rule == "R4.2"


def test_R4_3_one_excluded_line_refuses_the_no_reason_request(build: Builder) -> None:
    fresh = build.product(5, "阳澄湖大闸蟹礼盒", flags={ProductFlag.PERISHABLE})
    order = build.order(
        lines=[build.line(1, build.product(1)), build.line(2, fresh, unit_price=39_800)]
    )
    with pytest.raises(ValidationFailed) as err:
        check(build, order, "changed_mind", build.now)
    assert err.value.rule == "R4.3"
    # The kettle alone may still go back.
    assert check(build, order, "changed_mind", build.now, lines=[order.lines[0]]).rule == "R4.1"


def test_R4_3_digital_goods_excluded_only_once_downloaded(build: Builder) -> None:
    signed = build.now - timedelta(days=1)
    fresh = _order_with(build, signed, ProductFlag.DIGITAL, downloaded=False)
    assert check(build, fresh, "changed_mind", build.now).rule == "R4.1"

    downloaded = _order_with(build, signed, ProductFlag.DIGITAL, downloaded=True)
    with pytest.raises(ValidationFailed) as err:
        check(build, downloaded, "changed_mind", build.now)
    assert err.value.rule == "R4.3"
    assert check(build, downloaded, "defect", build.now).rule == "R4.2"


def _second_hand(b: Builder, signed: datetime, declared: int | None) -> Order:
    product = b.product(
        8, "二手单反相机", flags={ProductFlag.SECOND_HAND}, declared_no_reason_days=declared
    )
    return signed_order(b, signed, [b.line(1, product, unit_price=258_000)])


def _assert_window_days(b: Builder, order: Order, days: int, signed_day: date) -> None:
    p = b.profile
    last_day = signed_day + timedelta(days=days)
    assert check(b, order, "changed_mind", last_instant(p, last_day)).closes_at == local(
        p, last_day + timedelta(days=1)
    )
    with pytest.raises(IllegalTransition) as err:
        check(b, order, "changed_mind", local(p, last_day + timedelta(days=1)))
    assert err.value.rule == "R4.1"


def test_R4_3_second_hand_declared_shorter_window_is_honoured(build: Builder) -> None:
    w = build.profile.windows
    declared = (w.second_hand_min_no_reason_days + w.no_reason_days) // 2
    assert w.second_hand_min_no_reason_days < declared < w.no_reason_days
    signed_day = date(2026, 11, 1)
    order = _second_hand(build, local(build.profile, signed_day, time(15)), declared)
    _assert_window_days(build, order, declared, signed_day)


def test_R4_3_second_hand_window_never_below_the_profile_minimum(build: Builder) -> None:
    w = build.profile.windows
    assert w.second_hand_min_no_reason_days >= 1
    signed_day = date(2026, 11, 1)
    for declared in (0, w.second_hand_min_no_reason_days - 1):
        order = _second_hand(build, local(build.profile, signed_day, time(15)), declared)
        _assert_window_days(build, order, w.second_hand_min_no_reason_days, signed_day)


def test_R4_3_declared_window_longer_than_standard_or_not_second_hand_is_standard(
    build: Builder,
) -> None:
    w = build.profile.windows
    signed_day = date(2026, 11, 1)
    signed = local(build.profile, signed_day, time(15))
    longer = _second_hand(build, signed, w.no_reason_days + 5)
    _assert_window_days(build, longer, w.no_reason_days, signed_day)
    undeclared = _second_hand(build, signed, None)
    _assert_window_days(build, undeclared, w.no_reason_days, signed_day)
    # A shorter window only counts for second-hand goods.
    new_camera = build.product(8, "全新单反相机", declared_no_reason_days=1)
    order = signed_order(build, signed, [build.line(1, new_camera, unit_price=398_000)])
    _assert_window_days(build, order, w.no_reason_days, signed_day)


# --------------------------------------------------------------------------- R4.4
def test_R4_4_seal_sensitive_goods_may_open_a_no_reason_request(build: Builder) -> None:
    assert ProductFlag.SEAL_SENSITIVE not in build.profile.windows.no_reason_excluded_flags
    order = _order_with(build, build.now - timedelta(days=1), ProductFlag.SEAL_SENSITIVE)
    for code in NO_REASON_CODES:
        assert check(build, order, code, build.now).rule == "R4.1"


# --------------------------------------------------------------------------- R2 stages
def test_R2_1_refund_unshipped_on_a_shipped_order_refused(build: Builder) -> None:
    for order in (build.order(signed_at=False), build.order()):
        with pytest.raises(IllegalTransition) as err:
            check(build, order, "ordered_by_mistake", build.now, CaseType.REFUND_UNSHIPPED)
        assert err.value.rule == "R2.1"
    unshipped = build.order(shipped=False)
    result = check(build, unshipped, "ordered_by_mistake", build.now, CaseType.REFUND_UNSHIPPED)
    assert result.rule == "R2" and result.closes_at is None


def test_R2_2_refund_only_needs_a_shipped_order(build: Builder) -> None:
    with pytest.raises(IllegalTransition) as err:
        check(build, build.order(shipped=False), "not_received", build.now, CaseType.REFUND_ONLY)
    assert err.value.rule == "R2.2"
    in_transit = build.order(signed_at=False)
    result = check(build, in_transit, "stuck_in_transit", build.now, CaseType.REFUND_ONLY)
    assert result.rule == "R2" and result.closes_at is None


@pytest.mark.parametrize(
    ("case_type", "reason_code", "rule"),
    [
        (CaseType.RETURN_REFUND, "changed_mind", "R2.3"),
        (CaseType.EXCHANGE, "size_colour_mismatch", "R2.4"),
        (CaseType.RESHIP, "missing_item", "R2.5"),
    ],
)
def test_R2_3_return_refund_before_signing_refused(
    build: Builder, case_type: CaseType, reason_code: str, rule: str
) -> None:
    for order in (build.order(shipped=False), build.order(signed_at=False)):
        with pytest.raises(IllegalTransition) as err:
            check(build, order, reason_code, build.now, case_type)
        assert err.value.rule == rule


def test_R2_5_reship_needs_a_fulfilment_reason(build: Builder) -> None:
    with pytest.raises(ValidationFailed) as err:
        check(build, build.order(), "defect", build.now, CaseType.RESHIP)
    assert err.value.rule == "R2.5"
    assert check(build, build.order(), "missing_item", build.now, CaseType.RESHIP).rule == "R4.2"


def test_R4_windows_count_in_the_tiktok_profile_time_zone(build_tiktok: Builder) -> None:
    p = build_tiktok.profile
    signed_day = date(2026, 11, 1)
    order = signed_order(build_tiktok, local(p, signed_day, time(23, 0)))
    last_day = signed_day + timedelta(days=p.windows.no_reason_days)
    result = check(build_tiktok, order, "changed_mind", last_instant(p, last_day))
    assert result.closes_at == local(p, last_day + timedelta(days=1))
    assert result.closes_at is not None
    assert result.closes_at.astimezone(tz(p)).time() == time.min
