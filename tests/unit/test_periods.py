"""Digest periods: local days, due at the local digest hour, right across the 2026 DST changes."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from mailflow.config import SchedulerConfig
from mailflow.scheduler.periods import Schedule, covered_by, due_at

BRUSSELS = ZoneInfo("Europe/Brussels")
SCHEDULE = Schedule.from_config(SchedulerConfig())  # Europe/Brussels, 07:00, Monday


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BRUSSELS)


def utc(*parts: int) -> datetime:
    return datetime(*parts)  # naive UTC, as stored


def hours(period) -> float:
    # same-zone aware datetimes subtract as wall clocks; the real length needs UTC
    return (period.end_utc - period.start_utc) / timedelta(hours=1)


def test_daily_run_covers_the_previous_local_day():
    period = covered_by("daily", local(2026, 11, 2, 7, 0), SCHEDULE)
    assert (period.first_day, period.end_day) == (date(2026, 11, 1), date(2026, 11, 2))
    assert (period.start_utc, period.end_utc) == (utc(2026, 10, 31, 23), utc(2026, 11, 1, 23))


def test_before_the_digest_hour_the_day_before_is_still_the_latest_due():
    assert covered_by("daily", local(2026, 11, 2, 6, 59, 59), SCHEDULE).first_day == date(2026, 10, 31)
    assert covered_by("daily", local(2026, 11, 2, 23, 59), SCHEDULE).first_day == date(2026, 11, 1)


def test_daily_across_march_change_is_23_hours_and_due_at_seven_summer_time():
    period = covered_by("daily", local(2026, 3, 30, 7), SCHEDULE)
    assert period.first_day == date(2026, 3, 29) and hours(period) == 23
    assert (period.start_utc, period.end_utc) == (utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))
    assert due_at(covered_by("daily", local(2026, 3, 29, 7), SCHEDULE), SCHEDULE).astimezone(
        timezone.utc) == datetime(2026, 3, 29, 5, tzinfo=timezone.utc)


def test_daily_across_october_change_is_25_hours_and_due_at_seven_winter_time():
    period = covered_by("daily", local(2026, 10, 26, 7), SCHEDULE)
    assert period.first_day == date(2026, 10, 25) and hours(period) == 25
    assert (period.start_utc, period.end_utc) == (utc(2026, 10, 24, 22), utc(2026, 10, 25, 23))
    # 06:30 UTC on the 26th is 07:30 local: due; the day before, 05:30 UTC was 07:30 summer time
    assert covered_by("daily", datetime(2026, 10, 26, 6, 30, tzinfo=timezone.utc), SCHEDULE).end_day == \
        date(2026, 10, 26)
    assert covered_by("daily", datetime(2026, 10, 26, 5, 59, tzinfo=timezone.utc), SCHEDULE).end_day == \
        date(2026, 10, 25)


def test_the_instant_of_the_digest_hour_is_utc_five_in_summer_and_six_in_winter():
    assert covered_by("daily", datetime(2026, 3, 30, 5, 0, tzinfo=timezone.utc), SCHEDULE).end_day == \
        date(2026, 3, 30)
    assert covered_by("daily", datetime(2026, 3, 30, 4, 59, tzinfo=timezone.utc), SCHEDULE).end_day == \
        date(2026, 3, 29)
    assert covered_by("daily", datetime(2026, 3, 28, 6, 0, tzinfo=timezone.utc), SCHEDULE).end_day == \
        date(2026, 3, 28)
    assert covered_by("daily", datetime(2026, 3, 28, 5, 59, tzinfo=timezone.utc), SCHEDULE).end_day == \
        date(2026, 3, 27)


def test_weekly_run_on_monday_covers_monday_to_sunday_before():
    period = covered_by("weekly", local(2026, 11, 2, 7), SCHEDULE)  # a Monday
    assert (period.first_day, period.last_day) == (date(2026, 10, 26), date(2026, 11, 1))
    later_in_week = covered_by("weekly", local(2026, 11, 5, 12), SCHEDULE)
    assert later_in_week == period
    assert covered_by("weekly", local(2026, 11, 2, 6), SCHEDULE).first_day == date(2026, 10, 19)


@pytest.mark.parametrize(("monday", "length"), [(date(2026, 3, 30), 167), (date(2026, 10, 26), 169)])
def test_weekly_periods_holding_a_dst_change(monday, length):
    period = covered_by("weekly", local(monday.year, monday.month, monday.day, 7), SCHEDULE)
    assert period.end_day == monday and hours(period) == length


def test_weekly_day_is_configurable():
    friday = Schedule(BRUSSELS, 7, 4)
    period = covered_by("weekly", local(2026, 11, 4, 12), friday)  # a Wednesday
    assert (period.first_day, period.end_day) == (date(2026, 10, 23), date(2026, 10, 30))


def test_monthly_run_on_the_first_covers_the_previous_calendar_month():
    period = covered_by("monthly", local(2026, 11, 1, 7), SCHEDULE)
    assert (period.first_day, period.last_day) == (date(2026, 10, 1), date(2026, 10, 31))
    assert hours(period) == 31 * 24 + 1
    assert covered_by("monthly", local(2026, 11, 20, 7), SCHEDULE) == period
    assert covered_by("monthly", local(2026, 11, 1, 6), SCHEDULE).first_day == date(2026, 9, 1)


def test_monthly_march_has_one_hour_less_and_january_follows_december():
    assert hours(covered_by("monthly", local(2026, 4, 1, 7), SCHEDULE)) == 31 * 24 - 1
    january = covered_by("monthly", local(2027, 1, 1, 7), SCHEDULE)
    assert (january.first_day, january.end_day) == (date(2026, 12, 1), date(2027, 1, 1))


def test_another_zone_and_hour():
    schedule = Schedule(ZoneInfo("America/New_York"), 18, 0)
    period = covered_by("daily", datetime(2026, 11, 2, 23, 30, tzinfo=timezone.utc), schedule)
    assert period.end_day == date(2026, 11, 2) and period.end_utc == utc(2026, 11, 2, 5)


def test_unknown_frequency_is_refused():
    with pytest.raises(ValueError):
        covered_by("hourly", local(2026, 11, 2, 7), SCHEDULE)
