"""Health and Prometheus metrics, read from the database at scrape time so every process reports the whole deployment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterator

from peewee import PeeweeException, fn
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from mailflow.clock import aware_utc, naive_utc
from mailflow.inbound import liveness
from mailflow.models import InboundMessage, Outbox
from mailflow.outbound.outbox import DUE, STATUSES
from mailflow.runtime import Runtime

COMMANDS = ("help", "resend", "duplicate", "login", "frequency", "stop")


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: dict[str, object]


@dataclass(frozen=True)
class Backlog:
    """Mail that should be on its way: due rows, and rows whose worker's lease ran out (a dead worker's)."""

    due: int
    expired_leases: int
    leased: int
    overdue_seconds: float  # how long the longest-waiting of them has been waiting to be taken
    oldest_seconds: float  # age (since it was queued) of the oldest of them

    @property
    def total(self) -> int:
        return self.due + self.expired_leases


def health(rt: Runtime) -> Health:
    """Database reachable; the outbox backlog, leases and ages; the IMAP pollers' liveness, all from the database."""
    now = rt.now()
    try:
        detail: dict[str, object] = {"database": "ok", **_outbox_detail(backlog(now)),
                                     "outbox_bounced": _bounced_count(), **_imap_detail(liveness.report(now))}
    except PeeweeException as exc:
        return Health(False, {"database": f"error: {exc.__class__.__name__}"})
    return Health(True, detail)


def _outbox_detail(found: Backlog) -> dict[str, object]:
    return {"outbox_backlog": found.total, "outbox_expired_leases": found.expired_leases,
            "outbox_leased": found.leased, "outbox_overdue_seconds": found.overdue_seconds,
            "oldest_due_seconds": found.oldest_seconds}


def _imap_detail(found: liveness.PollerReport) -> dict[str, object]:
    return {"imap_enabled": found.enabled, "imap_pollers": found.pollers,
            "imap_last_alive_seconds": found.last_alive_seconds, "last_imap_poll": _iso(found.last_poll),
            "imap_last_error": found.last_error, "imap_last_error_at": _iso(found.last_error_at)}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def backlog(now: datetime) -> Backlog:
    stamp = naive_utc(now)
    due, expired = Outbox.select().where(_due(stamp)), Outbox.select().where(_expired(stamp))
    waiting_since = _earliest(due.select(fn.MIN(Outbox.next_attempt_at)).scalar(),
                              expired.select(_since_lease_ended()).scalar())
    queued_at = _earliest(due.select(fn.MIN(Outbox.created_at)).scalar(),
                          expired.select(fn.MIN(Outbox.created_at)).scalar())
    leased = Outbox.select().where(Outbox.status == "sending", Outbox.lease_until >= stamp).count()
    return Backlog(due.count(), expired.count(), leased, _age(now, waiting_since), _age(now, queued_at))


def _since_lease_ended():
    # a function loses its column's type on SQLite: read its value as the column would be read
    earliest = fn.MIN(fn.COALESCE(Outbox.lease_until, Outbox.next_attempt_at))
    return earliest.python_value(Outbox.lease_until.python_value)


def _due(stamp: datetime):
    return Outbox.status.in_(DUE) & (Outbox.next_attempt_at <= stamp)


def _expired(stamp: datetime):
    # a lease never set is as good as expired: no live worker stands behind the row
    return (Outbox.status == "sending") & (Outbox.lease_until.is_null() | (Outbox.lease_until < stamp))


def _earliest(*stored: datetime | None) -> datetime | None:
    found = [moment for moment in stored if moment is not None]
    return min(found) if found else None


def _age(now: datetime, stored: datetime | None) -> float:
    return max(0.0, round((now - aware_utc(stored)).total_seconds(), 1)) if stored else 0.0


def _bounced_count() -> int:
    return Outbox.select().where(Outbox.status == "bounced").count()


class DatabaseCollector(Collector):
    """Prometheus collector: counts by status, kind and command, and queue ages."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self.rt.now()
        yield self._outbox()
        yield self._bounced()
        yield from _backlog_gauges(backlog(now))
        yield self._inbound()
        yield self._commands()
        yield _gauge("mailflow_inbound_oldest_waiting_seconds", "Age of the oldest inbound message not yet processed.",
                     _oldest_inbound_age(now))
        yield from _imap_gauges(liveness.report(now), now)

    def _outbox(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily("mailflow_outbox_messages", "Outbound mails by status.", labels=["status"])
        rows = Outbox.select(Outbox.status, fn.COUNT(Outbox.id).alias("n")).group_by(Outbox.status)
        counted = {status: 0 for status in STATUSES} | {row.status: row.n for row in rows}
        for status, n in counted.items():
            family.add_metric([status], n)
        return family

    def _bounced(self) -> GaugeMetricFamily:
        return _gauge("mailflow_outbox_bounced_messages", "Sent mails that later bounced.",
                      Outbox.select().where(Outbox.bounced_at.is_null(False)).count())

    def _inbound(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily("mailflow_inbound_messages", "Received messages by door, kind and status.",
                                   labels=["door", "kind", "status"])
        query = (InboundMessage.select(InboundMessage.door, InboundMessage.kind, InboundMessage.status,
                                       fn.COUNT(InboundMessage.id).alias("n"))
                 .group_by(InboundMessage.door, InboundMessage.kind, InboundMessage.status))
        for row in query:
            family.add_metric([row.door, row.kind or "", row.status], row.n)
        return family

    def _commands(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily("mailflow_commands", "Reply commands understood, by name.", labels=["name"])
        for name in COMMANDS:
            needle = f'%"name": "{name}"%'
            family.add_metric([name], InboundMessage.select().where(InboundMessage.commands ** needle).count())
        return family


def _oldest_inbound_age(now: datetime) -> float:
    oldest = (InboundMessage.select(fn.MIN(InboundMessage.received_at))
              .where(InboundMessage.status == "received").scalar())
    return round((now - aware_utc(oldest)).total_seconds(), 1) if oldest else 0.0


def _backlog_gauges(found: Backlog) -> Iterator[GaugeMetricFamily]:
    yield _gauge("mailflow_outbox_backlog", "Mails waiting for a worker: due, or under a lease that ran out.",
                 found.total)
    yield _gauge("mailflow_outbox_expired_leases", "Mails whose worker's lease ran out (a dead worker's batch).",
                 found.expired_leases)
    yield _gauge("mailflow_outbox_leased", "Mails a live worker holds now.", found.leased)
    yield _gauge("mailflow_outbox_overdue_seconds", "How long the longest-waiting mail of the backlog has waited "
                 "for a worker.", found.overdue_seconds)
    yield _gauge("mailflow_outbox_oldest_due_seconds", "Age of the oldest mail of the backlog since it was queued.",
                 found.oldest_seconds)


def _imap_gauges(found: liveness.PollerReport, now: datetime) -> Iterator[GaugeMetricFamily]:
    yield _gauge("mailflow_imap_pollers", "IMAP pollers reporting within their window.", found.pollers)
    yield _gauge("mailflow_imap_last_alive_seconds", "Seconds since an IMAP poller last connected, polled or renewed "
                 "its IDLE (-1: never).", _or_never(found.last_alive_seconds))
    yield _gauge("mailflow_last_imap_poll_age_seconds", "Seconds since an IMAP poller last polled (-1: never).",
                 (now - found.last_poll).total_seconds() if found.last_poll else -1.0)


def _or_never(seconds: float | None) -> float:
    return -1.0 if seconds is None else seconds


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def registry(rt: Runtime) -> CollectorRegistry:
    found = CollectorRegistry(auto_describe=False)
    found.register(DatabaseCollector(rt))
    return found
