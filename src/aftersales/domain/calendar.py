"""Business calendar: Chinese statutory holidays and make-up workdays (调休).

Data comes from the maintained ``chinesecalendar`` package. For a year the package does not
cover yet, working days fall back to Monday–Friday and :func:`is_authoritative` says so.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import chinese_calendar

CalendarKind = Literal["cn_statutory", "weekdays"]


def is_authoritative(day: date) -> bool:
    """True when the statutory data covers ``day``'s year."""
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def is_workday(day: date, kind: CalendarKind = "cn_statutory") -> bool:
    if kind == "cn_statutory":
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            pass
    return day.weekday() < 5


def add_workdays(start: date, days: int, kind: CalendarKind = "cn_statutory") -> date:
    """The date ``days`` working days after ``start`` (``start`` itself not counted)."""
    if days < 0:
        raise ValueError("days must be non-negative")
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if is_workday(current, kind):
            remaining -= 1
    return current


def workdays_between(start: date, end: date, kind: CalendarKind = "cn_statutory") -> int:
    """Working days in (start, end]."""
    count = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if is_workday(current, kind):
            count += 1
    return count


def end_of_local_day(day: date, tz: str) -> datetime:
    """The end of a local day (exclusive: the next local midnight), in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def workdays_after(moment: datetime, days: int, kind: CalendarKind, tz: str) -> date:
    """The local day ``days`` working days after ``moment``'s local day in ``tz``."""
    return add_workdays(moment.astimezone(ZoneInfo(tz)).date(), days, kind)
