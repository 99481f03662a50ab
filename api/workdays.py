"""Working days in China time: weekends and the configured public holidays are skipped.

Notification and appeal deadlines count working days from the day of the event (China
time), so a deduction confirmed on a Friday evening is due to be told on Wednesday.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import AbstractSet

__all__ = ["CHINA", "add_working_days", "china_date", "parse_holidays"]

CHINA = timezone(timedelta(hours=8))


def china_date(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


def parse_holidays(text: str) -> frozenset[date]:
    """``2026-10-01,2026-10-02`` as dates (ValueError names a bad one)."""
    days = set()
    for part in (p.strip() for p in text.split(",")):
        if part:
            try:
                days.add(date.fromisoformat(part))
            except ValueError:
                raise ValueError(f"not an ISO date: {part!r}") from None
    return frozenset(days)


def add_working_days(start: date, days: int, holidays: AbstractSet[date] = frozenset()) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself never counts)."""
    current = start
    left = days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            left -= 1
    return current
