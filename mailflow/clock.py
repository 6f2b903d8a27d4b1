"""Time source: the system clock in production, a settable one in tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FrozenClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(timezone.utc)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(timezone.utc)

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now


def naive_utc(moment: datetime) -> datetime:
    """Stored form of an instant: naive UTC, identical on SQLite and PostgreSQL."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def aware_utc(stored: datetime) -> datetime:
    return stored.replace(tzinfo=timezone.utc)
