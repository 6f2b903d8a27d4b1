"""Fixed-window counters in the database, shared by every process: login, duplicates, answers, codes."""

from __future__ import annotations

from datetime import datetime, timedelta

from peewee import IntegrityError

from mailflow.clock import naive_utc
from mailflow.errors import RateLimited
from mailflow.models import RateCounter


def window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    stamp = int(now.timestamp())
    return naive_utc(datetime.fromtimestamp(stamp - stamp % seconds, tz=now.tzinfo))


def hit(key: str, limit: int, window: timedelta, now: datetime) -> int:
    """Count one attempt; raise RateLimited once `limit` attempts were already made in this window."""
    start = window_start(now, window)
    row = _counter(key, start)
    if row.count >= limit:
        raise RateLimited(f"too many attempts for {key.split(':')[0]}, try again later")
    RateCounter.update(count=RateCounter.count + 1).where(RateCounter.id == row.id).execute()
    return row.count + 1


def remaining(key: str, limit: int, window: timedelta, now: datetime) -> int:
    row = RateCounter.get_or_none(key=key, window_start=window_start(now, window))
    return limit - (row.count if row else 0)


def _counter(key: str, start: datetime) -> RateCounter:
    try:
        return RateCounter.get_or_create(key=key, window_start=start)[0]
    except IntegrityError:  # another process created it between our read and insert
        return RateCounter.get(key=key, window_start=start)


def purge_before(moment: datetime) -> int:
    return RateCounter.delete().where(RateCounter.window_start < naive_utc(moment)).execute()
