"""The delivery worker: claims due outbox rows and hands them to the transport, one connection a batch."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from mailflow.errors import DeliveryError
from mailflow.models import Outbox
from mailflow.outbound import outbox
from mailflow.outbound.transports import Connection
from mailflow.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    suppressed: int = 0
    lost_lease: int = 0

    def add(self, other: "DeliveryReport") -> None:
        for name in ("sent", "deferred", "failed", "suppressed", "lost_lease"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def handled(self) -> int:
        return self.sent + self.deferred + self.failed + self.suppressed + self.lost_lease


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class DeliveryWorker:
    rt: Runtime
    name: str = field(default_factory=worker_name)

    def run_once(self) -> DeliveryReport:
        """Deliver one batch of due mail; an empty report means nothing was due."""
        cfg = self.rt.config.outbound
        rows = outbox.claim(self.name, cfg.batch_size, self.rt.now(), timedelta(seconds=cfg.lease_seconds))
        report = DeliveryReport()
        if rows:
            self._deliver_batch(rows, report)
        return report

    def flush(self) -> DeliveryReport:
        """Deliver until nothing is due any more."""
        total = DeliveryReport()
        while (batch := self.run_once()).handled:
            total.add(batch)
        return total

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                idle = not self.run_once().handled
            except Exception:  # a broken batch must never stop delivery for good
                log.exception("delivery batch failed")
                idle = True
            if idle:
                stop.wait(self.rt.config.outbound.poll_seconds)

    def _deliver_batch(self, rows: list[Outbox], report: DeliveryReport) -> None:
        try:
            with self.rt.transport.connect() as connection:
                self._send_all(connection, rows, report)
        except DeliveryError as exc:  # the relay could not even be reached
            for row in rows:
                self._defer(row, exc.message, report)

    def _send_all(self, connection: Connection, rows: list[Outbox], report: DeliveryReport) -> None:
        for index, row in enumerate(rows):
            if outbox.is_suppressed(row.recipient):
                self._count(report, "suppressed", outbox.mark_suppressed(row))
            elif not self._send_one(connection, row, report):
                # the connection broke: hand the rest back at once, the next batch reconnects
                for rest in rows[index + 1:]:
                    self._count(report, "deferred", outbox.mark_deferred(rest, "connection lost earlier in batch",
                                                                         self.rt.now()))
                return

    def _send_one(self, connection: Connection, row: Outbox, report: DeliveryReport) -> bool:
        envelope_from = f"bounces+{self.rt.signer.verp_token(row.id)}@{self.rt.config.outbound.reply_domain}"
        try:
            answer = connection.send(envelope_from, row.recipient, bytes(row.raw))
        except DeliveryError as exc:
            if exc.permanent:
                self._count(report, "failed", outbox.mark_failed(row, exc.message))
                return True
            self._defer(row, exc.message, report)
            return exc.code is not None
        self._count(report, "sent", outbox.mark_sent(row, answer, self.rt.now()))
        return True

    def _defer(self, row: Outbox, answer: str, report: DeliveryReport) -> None:
        cfg = self.rt.config.outbound
        now = self.rt.now()
        if outbox.age(row, now) > timedelta(hours=cfg.give_up_hours):
            self._count(report, "failed", outbox.mark_failed(row, f"gave up after {row.attempts} attempts: {answer}"))
            return
        retry_at = now + outbox.retry_delay(row.attempts, cfg.retry_initial_seconds, cfg.retry_max_seconds)
        self._count(report, "deferred", outbox.mark_deferred(row, answer, retry_at))

    @staticmethod
    def _count(report: DeliveryReport, outcome: str, still_ours: bool) -> None:
        name = outcome if still_ours else "lost_lease"
        setattr(report, name, getattr(report, name) + 1)
        if not still_ours:
            log.warning("lease lost before the outcome %s could be recorded", outcome)
