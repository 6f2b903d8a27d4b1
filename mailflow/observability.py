"""Health and Prometheus metrics, read from the database at scrape time so every process reports the whole deployment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterator

from peewee import PeeweeException, fn
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from mailflow.clock import aware_utc, naive_utc
from mailflow.models import ImapState, InboundMessage, Outbox
from mailflow.runtime import Runtime

COMMANDS = ("help", "resend", "duplicate", "login", "frequency", "stop")


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: dict[str, object]


def health(rt: Runtime) -> Health:
    """Database reachable, outbox backlog and age, last IMAP poll."""
    now = rt.now()
    try:
        backlog = _due(now).count()
        detail: dict[str, object] = {"database": "ok", "outbox_backlog": backlog,
                                     "oldest_due_seconds": _oldest_due_age(now),
                                     "last_imap_poll": _last_poll_iso(), "imap_enabled": rt.config.inbound.imap.enabled}
    except PeeweeException as exc:
        return Health(False, {"database": f"error: {exc.__class__.__name__}"})
    return Health(True, detail)


def _due(now: datetime):
    return Outbox.select().where(Outbox.status.in_(("queued", "deferred")), Outbox.next_attempt_at <= naive_utc(now))


def _oldest_due_age(now: datetime) -> float:
    oldest = _due(now).select(fn.MIN(Outbox.created_at)).scalar()
    return round((now - aware_utc(oldest)).total_seconds(), 1) if oldest else 0.0


def _last_poll() -> datetime | None:
    last = ImapState.select(fn.MAX(ImapState.last_poll_at)).scalar()
    return aware_utc(last) if last else None


def _last_poll_iso() -> str | None:
    last = _last_poll()
    return last.isoformat() if last else None


class DatabaseCollector(Collector):
    """Prometheus collector: counts by status, kind and command, and queue ages."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self.rt.now()
        yield self._outbox()
        yield self._bounced()
        yield self._inbound()
        yield self._commands()
        yield _gauge("mailflow_outbox_oldest_due_seconds", "Age of the oldest mail waiting to be sent.",
                     _oldest_due_age(now))
        yield _gauge("mailflow_inbound_oldest_waiting_seconds", "Age of the oldest inbound message not yet processed.",
                     _oldest_inbound_age(now))
        last = _last_poll()
        yield _gauge("mailflow_last_imap_poll_age_seconds", "Seconds since the IMAP poller last polled (-1: never).",
                     (now - last).total_seconds() if last else -1.0)

    def _outbox(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily("mailflow_outbox_messages", "Outbound mails by status.", labels=["status"])
        rows = Outbox.select(Outbox.status, fn.COUNT(Outbox.id).alias("n")).group_by(Outbox.status)
        for row in rows:
            family.add_metric([row.status], row.n)
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


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def registry(rt: Runtime) -> CollectorRegistry:
    found = CollectorRegistry(auto_describe=False)
    found.register(DatabaseCollector(rt))
    return found
