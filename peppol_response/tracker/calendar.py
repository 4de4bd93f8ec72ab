"""Working days for OP-BR111-R006: the first Invoice Response is due within 3 working days.

A :class:`WorkingCalendar` knows which weekdays are the weekend and which dates are holidays. It answers
"which date is N working days after D" and, for the overdue query, the latest start date whose deadline
has already passed (so the database can answer with one indexed range condition).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import ConfigError

__all__ = ["WorkingCalendar"]


@dataclass(frozen=True, slots=True)
class WorkingCalendar:
    """Weekend days (``date.weekday()``: Monday 0 ... Sunday 6) and holiday dates.

    The default has Saturday and Sunday off and no holidays; pass your country's holidays, e.g.
    ``WorkingCalendar(holidays={date(2026, 12, 25), date(2026, 12, 26)})``.
    """

    weekend: frozenset[int] = frozenset({5, 6})
    holidays: frozenset[dt.date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "weekend", frozenset(self.weekend))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        if not self.weekend <= set(range(7)) or len(self.weekend) == 7:
            raise ConfigError("weekend must be weekday numbers 0-6 and leave at least one working day")

    @classmethod
    def with_holidays(cls, holidays: Iterable[dt.date | str], weekend: Iterable[int] = (5, 6)) -> WorkingCalendar:
        """A calendar from ISO date strings or dates."""
        days = frozenset(d if isinstance(d, dt.date) else dt.date.fromisoformat(d) for d in holidays)
        return cls(frozenset(weekend), days)

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() not in self.weekend and day not in self.holidays

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The date ``days`` working days after ``start`` (``start`` itself does not count)."""
        if days < 0:
            raise ConfigError("days must not be negative")
        day = start
        left = days
        while left:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def deadline(self, start: dt.date, days: int = 3) -> dt.date:
        """The last day a response is on time for something received on ``start``."""
        return self.add_working_days(start, days)

    def latest_overdue_start(self, today: dt.date, days: int = 3) -> dt.date:
        """The latest start date whose deadline is before ``today`` (so it is overdue today).

        ``deadline`` grows with the start date, so every start on or before the returned date is overdue
        and every later one is not.
        """
        start = today - dt.timedelta(days=1)
        while self.deadline(start, days) >= today:
            start -= dt.timedelta(days=1)
        return start
