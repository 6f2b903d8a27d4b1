"""IMAP pollers' signs of life, kept in the database so /healthz and /metrics of any process can read them."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import PeeweeException

from mailflow.clock import aware_utc, naive_utc
from mailflow.inbound.imap_poller import ImapSettings
from mailflow.models import ImapLiveness
from mailflow.runtime import Runtime

log = logging.getLogger(__name__)

# Rows of pollers silent this long are forgotten when another poller starts reporting.
FORGET_AFTER = timedelta(days=7)


def quiet_seconds(s: ImapSettings) -> int:
    """The longest a running poller stays silent: its IDLE renewal, poll interval or retry delay, plus a timeout."""
    return int(max(s.idle_renew_seconds, s.poll_interval, s.backoff_max) + s.timeout)


def poller_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class DbLiveness:
    """One row per poller process; a database hiccup is logged, never allowed to stop the polling."""

    def __init__(self, rt: Runtime, mailbox: str, settings: ImapSettings) -> None:
        self.rt = rt
        self.mailbox = mailbox
        self.quiet = quiet_seconds(settings)
        self.name = poller_name()

    def alive(self, event: str) -> None:
        now = naive_utc(self.rt.now())
        self._write({f"{event}_at": now, "alive_at": now, "stopped_at": None})

    def failed(self, error: str) -> None:
        self._write({"error": error[:500], "error_at": naive_utc(self.rt.now()), "stopped_at": None})

    def stopped(self) -> None:
        """A poller that stops on purpose says so at once, instead of fading out of the window."""
        self._write({"stopped_at": naive_utc(self.rt.now())})

    def _write(self, values: dict[str, object]) -> None:
        self._guarded(lambda: self._upsert(values))

    def _upsert(self, values: dict[str, object]) -> None:
        if ImapLiveness.update(**values).where(ImapLiveness.poller == self.name).execute():
            return
        now = naive_utc(self.rt.now())
        _forget_gone(now)
        ImapLiveness.create(poller=self.name, mailbox=self.mailbox, quiet_seconds=self.quiet, started_at=now,
                            **values)

    def _guarded(self, work: Callable[[], object]) -> None:
        try:
            with self.rt.db.atomic():
                work()
        except PeeweeException as exc:
            log.warning("IMAP liveness not recorded (%s: %s)", type(exc).__name__, exc)


def _forget_gone(now: datetime) -> None:
    """Each restart makes a row (a new pid): those of pollers long gone are deleted."""
    old = now - FORGET_AFTER
    ImapLiveness.delete().where(ImapLiveness.started_at < old,
                                ImapLiveness.alive_at.is_null() | (ImapLiveness.alive_at < old)).execute()


@dataclass(frozen=True)
class PollerReport:
    """What the rows say about the support mailbox at `now`, for /healthz and /metrics."""

    enabled: bool
    pollers: int
    last_alive_seconds: float | None
    last_poll: datetime | None
    last_error: str | None
    last_error_at: datetime | None


def report(now: datetime) -> PollerReport:
    """Liveness and polls of every poller ever recorded (a dead one's age keeps growing, for alerts to see)."""
    rows = list(ImapLiveness.select())
    running = [row for row in rows if row.stopped_at is None and _reporting(row, now)]
    alive = _latest(row.alive_at for row in rows)
    failed = max((row for row in rows if row.error_at), key=lambda row: row.error_at, default=None)
    return PollerReport(bool(running), len(running), round((now - alive).total_seconds(), 1) if alive else None,
                        _latest(row.polled_at for row in rows), failed.error if failed else None,
                        aware_utc(failed.error_at) if failed else None)


def _reporting(row: ImapLiveness, now: datetime) -> bool:
    """Whether the poller reported (life or trouble) within twice the longest silence it announced."""
    last = _latest((row.started_at, row.alive_at, row.error_at))
    return last is not None and (now - last).total_seconds() <= 2 * row.quiet_seconds


def _latest(moments: Iterable[datetime | None]) -> datetime | None:
    found = [m for m in moments if m is not None]
    return aware_utc(max(found)) if found else None
