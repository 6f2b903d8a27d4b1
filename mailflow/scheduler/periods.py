"""Digest periods in local time: which days a run covers and when it is due, across daylight-saving changes.

A period runs from local midnight to local midnight: daily the previous day, weekly the seven days
ending on `weekly_day`, monthly the previous calendar month. Its digest is due at `digest_hour` local
time on the period's end day. A run at any instant covers the latest period whose digest is due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mailflow.clock import naive_utc
from mailflow.config import SchedulerConfig

CADENCES = ("daily", "weekly", "monthly")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Schedule:
    """When digests go out: a zone, a local hour and the weekly day (0 = Monday)."""

    zone: ZoneInfo
    hour: int = 7
    weekday: int = 0

    @classmethod
    def from_config(cls, cfg: SchedulerConfig) -> "Schedule":
        return cls(ZoneInfo(cfg.timezone), cfg.digest_hour, WEEKDAYS.index(cfg.weekly_day))

    def at(self, day: date, hour: int | None = None) -> datetime:
        """The aware local instant of `hour` (default: the digest hour) on `day`."""
        return datetime.combine(day, time(self.hour if hour is None else hour), tzinfo=self.zone)


@dataclass(frozen=True)
class Period:
    """Local days [first_day, end_day) of one digest frequency."""

    frequency: str
    first_day: date
    end_day: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(0), tzinfo=self.zone)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.end_day, time(0), tzinfo=self.zone)

    @property
    def last_day(self) -> date:
        return self.end_day - DAY

    @property
    def start_utc(self) -> datetime:
        return naive_utc(self.start)

    @property
    def end_utc(self) -> datetime:
        return naive_utc(self.end)


def check_frequency(frequency: str) -> str:
    if frequency not in CADENCES:
        raise ValueError(f"digest frequency must be one of {', '.join(CADENCES)}, got {frequency!r}")
    return frequency


def first_of_previous_month(day: date) -> date:
    return (day.replace(day=1) - DAY).replace(day=1)


def latest_end_day(frequency: str, day: date, schedule: Schedule) -> date:
    """The latest day on or before `day` on which a period of this frequency ends."""
    if frequency == "daily":
        return day
    if frequency == "weekly":
        return day - timedelta(days=(day.weekday() - schedule.weekday) % 7)
    return day.replace(day=1)


def previous_end_day(frequency: str, end_day: date) -> date:
    if frequency == "daily":
        return end_day - DAY
    if frequency == "weekly":
        return end_day - 7 * DAY
    return first_of_previous_month(end_day)


def period_ending(frequency: str, end_day: date, zone: ZoneInfo) -> Period:
    return Period(frequency, previous_end_day(frequency, end_day), end_day, zone)


def due_at(period: Period, schedule: Schedule) -> datetime:
    """When the digest of `period` goes out: the digest hour on its end day, local time."""
    return schedule.at(period.end_day)


def covered_by(frequency: str, moment: datetime, schedule: Schedule) -> Period:
    """The period a run at `moment` (aware) covers: the latest one whose digest is due."""
    check_frequency(frequency)
    end_day = latest_end_day(frequency, moment.astimezone(schedule.zone).date(), schedule)
    if moment < schedule.at(end_day):
        end_day = previous_end_day(frequency, end_day)
    return period_ending(frequency, end_day, schedule.zone)
