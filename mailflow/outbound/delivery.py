"""The delivery worker: claims due outbox rows and hands them to the transport, one connection a batch."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from mailflow import login_requests, wakeup, worker
from mailflow.errors import DeliveryError
from mailflow.models import Outbox
from mailflow.outbound import outbox
from mailflow.outbound.outbox import Outcome
from mailflow.outbound.transports import SERVICE_CLOSING, Connection
from mailflow.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    suppressed: int = 0
    lost_lease: int = 0
    login_requests: int = 0  # login links asked for on the web, turned into mails (or dropped) this round

    def add(self, other: "DeliveryReport") -> None:
        for name in ("sent", "deferred", "failed", "suppressed", "lost_lease", "login_requests"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def handled(self) -> int:
        return self.sent + self.deferred + self.failed + self.suppressed + self.lost_lease + self.login_requests


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class DeliveryWorker:
    rt: Runtime
    name: str = field(default_factory=worker_name)

    def run_once(self) -> DeliveryReport:
        """Mail the login links asked for, then deliver one batch of due mail; an empty report: nothing was due."""
        cfg = self.rt.config.outbound
        # looked for first: draining takes the write lock, which an empty table is not worth
        asked = login_requests.drain(self.rt) if login_requests.waiting() else 0
        rows = outbox.claim(self.name, cfg.batch_size, self.rt.now(), timedelta(seconds=cfg.lease_seconds))
        outcomes = self._deliver_batch(rows) if rows else []
        # One short write transaction per batch: no fsync per mail, no lock held during SMTP.
        report = _report(outbox.record(outcomes))
        report.login_requests = asked
        return report

    def flush(self) -> DeliveryReport:
        """Deliver until nothing is due any more."""
        total = DeliveryReport()
        while (batch := self.run_once()).handled:
            total.add(batch)
        return total

    def run(self, stop: threading.Event) -> None:
        worker.run(self.rt, "delivery", lambda: bool(self.run_once().handled), wakeup.OUTBOX,
                   self.rt.config.outbound.poll_seconds, stop)

    def _deliver_batch(self, rows: list[Outbox]) -> list[Outcome]:
        suppressed = outbox.suppressed_among({row.recipient for row in rows})
        outcomes = [Outcome(row, "suppressed") for row in rows if row.recipient in suppressed]
        pending = [row for row in rows if row.recipient not in suppressed]
        try:
            with self.rt.transport.connect() as connection:
                outcomes += self._send_all(connection, pending)
        except DeliveryError as exc:  # the relay could not even be reached
            done = {o.row.id for o in outcomes}
            outcomes += [self._deferral(row, exc.message) for row in pending if row.id not in done]
        return outcomes

    def _send_all(self, connection: Connection, rows: list[Outbox]) -> list[Outcome]:
        outcomes = []
        for index, row in enumerate(rows):
            outcome = self._send_one(connection, row)
            outcomes.append(outcome)
            if outcome.connection_lost:
                # hand the rest back at once; the next batch opens a new connection
                now = self.rt.now()
                outcomes += [Outcome(rest, "deferred", "connection lost earlier in batch", now)
                             for rest in rows[index + 1:]]
                break
        return outcomes

    def _send_one(self, connection: Connection, row: Outbox) -> Outcome:
        envelope_from = f"bounces+{self.rt.signer.verp_token(row.id)}@{self.rt.config.outbound.reply_domain}"
        try:
            answer = connection.send(envelope_from, row.recipient, bytes(row.raw))
        except DeliveryError as exc:
            if exc.permanent:
                return Outcome(row, "failed", exc.message)
            deferral = self._deferral(row, exc.message)
            deferral.connection_lost = exc.code in (None, SERVICE_CLOSING)  # no answer, or the relay hangs up
            return deferral
        return Outcome(row, "sent", answer, self.rt.now())

    def _deferral(self, row: Outbox, answer: str) -> Outcome:
        cfg = self.rt.config.outbound
        now = self.rt.now()
        if outbox.age(row, now) > timedelta(hours=cfg.give_up_hours):
            return Outcome(row, "failed", f"gave up after {row.attempts} attempts: {answer}")
        return Outcome(row, "deferred", answer,
                       now + outbox.retry_delay(row.attempts, cfg.retry_initial_seconds, cfg.retry_max_seconds))


def _report(recorded: list[tuple[str, bool]]) -> DeliveryReport:
    report = DeliveryReport()
    for status, still_ours in recorded:
        name = status if still_ours else "lost_lease"
        setattr(report, name, getattr(report, name) + 1)
    if report.lost_lease:
        log.warning("%d outcome(s) arrived after the lease ran out; another worker owns those rows",
                    report.lost_lease)
    return report
