"""The delivery worker: claims due outbox rows and hands them to the transport, one connection a batch, records
their outcomes in small groups as the relay answers, while a heartbeat keeps the batch's lease alive."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from mailflow import login_requests, wakeup, worker
from mailflow import events
from mailflow.errors import DeliveryError
from mailflow.models import Outbox
from mailflow.outbound import outbox
from mailflow.outbound.outbox import Outcome
from mailflow.outbound.transports import SERVICE_CLOSING, Connection
from mailflow.runtime import Runtime

log = logging.getLogger(__name__)

# At most this many mails handed to the relay are without a recorded outcome, so a worker killed mid-batch leaves
# no more for the next worker to send again: outcomes are committed once GROUP are waiting, or at the first
# answer after GROUP_SECONDS (slow sends are recorded one by one). One commit per batch left a whole batch to be
# sent twice; one per mail, or a thread recording beside the sending one (the GIL), cost throughput.
GROUP = 10
GROUP_SECONDS = 0.25


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


@dataclass
class Recorder:
    """A batch's outcomes, committed in groups (GROUP, GROUP_SECONDS) under the heartbeat's guard."""

    beat: worker.Heartbeat
    report: DeliveryReport = field(default_factory=DeliveryReport)
    pending: list[Outcome] = field(default_factory=list)
    done: set[int] = field(default_factory=set)  # rows with an outcome (recorded or waiting), or left alone
    flushed_at: float = field(default_factory=time.monotonic)

    def may_send(self, row: Outbox) -> bool:
        """False once the row's lease is lost (this worker stalled and another took the row): leave it alone."""
        if self.beat.lease.holds(row.id):
            return True
        self.done.add(row.id)
        self.report.lost_lease += 1
        return False

    def add(self, outcomes: list[Outcome]) -> None:
        self.pending += outcomes
        self.done.update(o.row.id for o in outcomes)
        if len(self.pending) >= GROUP or time.monotonic() - self.flushed_at >= GROUP_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            with self.beat.guard:
                recorded = outbox.record(self.pending)
            self.report.add(_report(recorded))
            events.delivered(self.pending, recorded)  # one line per mail, once its outcome is recorded
            self.pending = []
        self.flushed_at = time.monotonic()


@dataclass
class DeliveryWorker:
    rt: Runtime
    name: str = field(default_factory=worker.worker_name)

    def run_once(self) -> DeliveryReport:
        """Mail the login links asked for, then deliver one batch of due mail; an empty report: nothing was due."""
        cfg = self.rt.config.outbound
        # looked for first: draining takes the write lock, which an empty table is not worth
        asked = login_requests.drain(self.rt) if login_requests.waiting() else 0
        rows = outbox.claim(self.name, cfg.batch_size, self.rt.now(), timedelta(seconds=cfg.lease_seconds))
        report = self._deliver_batch(rows) if rows else DeliveryReport()
        report.login_requests = asked
        return report

    def flush(self) -> DeliveryReport:
        """Deliver until nothing is due any more."""
        total = DeliveryReport()
        while (batch := self.run_once()).handled:
            total.add(batch)
        return total

    def run(self, stop: threading.Event) -> None:
        lease = self.rt.config.outbound.lease_seconds
        log.info("delivering the outbox as %s: lease %d s, renewed every %.1f s while alive", self.name, lease,
                 lease / worker.BEATS_PER_LEASE)
        worker.run(self.rt, "delivery", lambda: bool(self.run_once().handled), wakeup.OUTBOX,
                   self.rt.config.outbound.poll_seconds, stop)

    def _deliver_batch(self, rows: list[Outbox]) -> DeliveryReport:
        with worker.Heartbeat(self._lease(rows)) as beat:
            recorder = Recorder(beat)
            self._deliver(rows, recorder)
            recorder.flush()
        return recorder.report

    def _lease(self, rows: list[Outbox]) -> worker.Lease:
        lease = self.rt.config.outbound.lease_seconds
        return worker.Lease(lambda: outbox.renew(self.name, self.rt.now() + timedelta(seconds=lease)), lease,
                            [row.id for row in rows])

    def _deliver(self, rows: list[Outbox], recorder: Recorder) -> None:
        suppressed = outbox.suppressed_among({row.recipient for row in rows})
        recorder.add([Outcome(row, "suppressed") for row in rows if row.recipient in suppressed])
        pending = [row for row in rows if row.recipient not in suppressed]
        try:
            with self.rt.transport.connect() as connection:
                self._send_all(connection, pending, recorder)
        except DeliveryError as exc:  # the relay could not even be reached
            recorder.add([self._deferral(row, exc.message) for row in pending if row.id not in recorder.done])

    def _send_all(self, connection: Connection, rows: list[Outbox], recorder: Recorder) -> None:
        for index, row in enumerate(rows):
            if not recorder.may_send(row):
                continue
            outcome = self._send_one(connection, row)
            recorder.add([outcome])
            if outcome.connection_lost:
                # hand the rest back at once; the next batch opens a new connection
                now = self.rt.now()
                recorder.add([Outcome(rest, "deferred", "connection lost earlier in batch", now)
                              for rest in rows[index + 1:]])
                break

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
