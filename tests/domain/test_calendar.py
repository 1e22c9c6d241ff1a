"""Business calendar (R12.1 working days): Chinese statutory holidays and make-up workdays."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from aftersales.domain import calendar

NATIONAL_DAY_2026 = [date(2026, 10, 1) + timedelta(days=i) for i in range(7)]
MAKE_UP_SATURDAY = date(2026, 10, 10)
# A year far beyond any release of the statutory data.
UNCOVERED = date(2099, 3, 2)


def test_make_up_saturday_is_a_workday() -> None:
    assert MAKE_UP_SATURDAY.weekday() == 5
    assert calendar.is_workday(MAKE_UP_SATURDAY)
    assert not calendar.is_workday(MAKE_UP_SATURDAY, "weekdays")


@pytest.mark.parametrize("day", NATIONAL_DAY_2026, ids=str)
def test_national_day_is_not_a_workday(day: date) -> None:
    assert not calendar.is_workday(day)
    assert calendar.is_authoritative(day)


def test_weekdays_calendar_ignores_statutory_holidays() -> None:
    assert date(2026, 10, 1).weekday() == 3
    assert calendar.is_workday(date(2026, 10, 1), "weekdays")


def test_add_workdays_skips_national_day_and_counts_the_make_up_day() -> None:
    start = date(2026, 9, 30)  # the last workday before the holiday
    assert calendar.add_workdays(start, 0) == start
    assert calendar.add_workdays(start, 1) == date(2026, 10, 8)
    assert calendar.add_workdays(start, 2) == date(2026, 10, 9)
    assert calendar.add_workdays(start, 3) == MAKE_UP_SATURDAY
    assert calendar.add_workdays(start, 4) == date(2026, 10, 12)
    # the same count on a plain Monday-Friday calendar lands in the holiday
    assert calendar.add_workdays(start, 1, "weekdays") == date(2026, 10, 1)


def test_add_workdays_and_workdays_between_agree_across_national_day() -> None:
    """Working-day windows (e.g. R12.1 appeals) cross the holiday on working days only."""
    due = calendar.add_workdays(date(2026, 9, 29), 7)
    # 09-30, 10-08, 10-09, 10-10 (make-up Saturday), 10-12, 10-13, 10-14
    assert due == date(2026, 10, 14)
    assert calendar.workdays_between(date(2026, 9, 29), due) == 7


def test_workdays_between_counts_the_half_open_interval() -> None:
    assert calendar.workdays_between(date(2026, 9, 30), MAKE_UP_SATURDAY) == 3
    assert calendar.workdays_between(date(2026, 9, 30), date(2026, 9, 30)) == 0
    assert calendar.workdays_between(date(2026, 10, 1), date(2026, 10, 7)) == 0


def test_negative_workdays_refused() -> None:
    with pytest.raises(ValueError):
        calendar.add_workdays(date(2026, 10, 8), -1)


def test_uncovered_year_falls_back_to_monday_to_friday() -> None:
    assert not calendar.is_authoritative(UNCOVERED)
    assert calendar.is_authoritative(date(2026, 6, 1))
    monday = UNCOVERED - timedelta(days=UNCOVERED.weekday())
    week = [monday + timedelta(days=i) for i in range(7)]
    assert [calendar.is_workday(d) for d in week] == [True] * 5 + [False] * 2
    assert calendar.add_workdays(monday + timedelta(days=4), 1) == monday + timedelta(days=7)
    # New Year's Day falls back to a plain weekday too (2099-01-01 is a Thursday).
    new_year = date(2099, 1, 1)
    assert new_year.weekday() == 3 and calendar.is_workday(new_year)
