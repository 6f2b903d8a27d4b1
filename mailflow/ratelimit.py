"""Fixed-window counters in the database, shared by every process: login, duplicates, answers, codes."""

from __future__ import annotations

from datetime import datetime, timedelta

from mailflow.clock import naive_utc
from mailflow.errors import RateLimited
from mailflow.models import RateCounter


def window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    stamp = int(now.timestamp())
    return naive_utc(datetime.fromtimestamp(stamp - stamp % seconds, tz=now.tzinfo))


def hit(key: str, limit: int, window: timedelta, now: datetime) -> None:
    """Count one attempt; raise RateLimited once `limit` attempts were already made in this window.

    The limit is checked by the UPDATE itself (`… WHERE count < limit`): two processes counting at
    once cannot both read 4 of 5 and both go on, on PostgreSQL as on SQLite.
    """
    start = window_start(now, window)
    if _increment(key, start, limit):
        return
    RateCounter.insert(key=key, window_start=start, count=0).on_conflict_ignore().execute()
    if not _increment(key, start, limit):
        raise RateLimited(f"too many attempts for {key.split(':')[0]}, try again later")


def _increment(key: str, start: datetime, limit: int) -> bool:
    return bool(RateCounter.update(count=RateCounter.count + 1)
                .where(RateCounter.key == key, RateCounter.window_start == start, RateCounter.count < limit)
                .execute())


def remaining(key: str, limit: int, window: timedelta, now: datetime) -> int:
    row = RateCounter.get_or_none(key=key, window_start=window_start(now, window))
    return limit - (row.count if row else 0)


def purge_before(moment: datetime) -> int:
    return RateCounter.delete().where(RateCounter.window_start < naive_utc(moment)).execute()
