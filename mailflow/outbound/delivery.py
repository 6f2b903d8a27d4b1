"""The delivery worker: claims due outbox rows and hands them to the transport, one connection a batch, while
the worker's thread records each outcome soon after the relay's answer and keeps the batch's lease alive."""

from __future__ import annotations

import logging
import queue
import threading
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

# At most this many mails handed to the relay have no recorded outcome: a worker killed mid-batch leaves no more
# for the next worker to send again. The worker's thread records outcomes while a thread of the batch talks to
# the relay, each commit taking every outcome waiting, so the bound costs next to no throughput.
GROUP = 10


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


class Handover:
    """Between a batch's sending thread (SMTP only, no database) and the worker's thread (records, renews).

    The sender takes a permit before each mail it hands to the relay; the permit comes back once that mail's
    outcome is committed, so no more than GROUP sent mails are ever unrecorded.
    """

    def __init__(self, lease: worker.Lease) -> None:
        self.lease = lease
        self.outcomes: queue.SimpleQueue[tuple[Outcome, bool] | None] = queue.SimpleQueue()
        self.permits = threading.Semaphore(GROUP)
        self.handled: set[int] = set()  # rows with an outcome, or skipped (sending thread)
        self.skipped = 0  # rows whose lease was lost before they were sent
        self.aborted = self.ended = False
        self.failure: BaseException | None = None

    def may_send(self, row: Outbox) -> bool:
        """Wait for a permit; False: the batch was given up or the row's lease lost, leave the row alone."""
        self.permits.acquire()
        if not self.aborted and self.lease.holds(row.id):
            return True
        self.permits.release()
        self.handled.add(row.id)
        self.skipped += not self.aborted
        return False

    def put(self, outcomes: list[Outcome], sent: bool = False) -> None:
        for outcome in outcomes:
            self.handled.add(outcome.row.id)
            self.outcomes.put((outcome, sent))

    def close(self) -> None:
        self.outcomes.put(None)

    def collect(self) -> list[tuple[Outcome, bool]]:
        """Every outcome waiting, once one came or the next renewal is due; `ended` once the sender is done."""
        items: list[tuple[Outcome, bool]] = []
        try:
            item = self.outcomes.get(timeout=self.lease.due_in())
            while item is not None:
                items.append(item)
                item = self.outcomes.get_nowait()
            self.ended = True
        except queue.Empty:
            pass
        return items

    def recorded(self, items: list[tuple[Outcome, bool]]) -> None:
        if sent := sum(1 for _, was_sent in items if was_sent):
            self.permits.release(sent)

    def abort(self) -> None:
        self.aborted = True
        self.permits.release(GROUP)  # a sender waiting for a permit wakes, sees it and stops


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
        handover = Handover(self._lease(rows))
        suppressed = outbox.suppressed_among({row.recipient for row in rows})
        handover.put([Outcome(row, "suppressed") for row in rows if row.recipient in suppressed])
        pending = [row for row in rows if row.recipient not in suppressed]
        sender = threading.Thread(target=self._sender, args=(pending, handover), name="delivery-sender", daemon=True)
        sender.start()
        try:
            report = self._record_all(handover)
        finally:
            handover.abort()
            sender.join()
        if handover.failure:
            raise handover.failure
        report.lost_lease += handover.skipped
        return report

    def _lease(self, rows: list[Outbox]) -> worker.Lease:
        lease = self.rt.config.outbound.lease_seconds
        return worker.Lease(lambda: outbox.renew(self.name, self.rt.now() + timedelta(seconds=lease)), lease,
                            [row.id for row in rows])

    def _record_all(self, handover: Handover) -> DeliveryReport:
        """Record outcomes as they come, renewing the lease when due, until the sender is done."""
        report = DeliveryReport()
        while not handover.ended:
            if items := handover.collect():
                self._record([outcome for outcome, _ in items], report)
                handover.recorded(items)
            if not handover.ended and handover.lease.due_in() == 0:
                handover.lease.renew()
        return report

    def _record(self, outcomes: list[Outcome], report: DeliveryReport) -> None:
        recorded = outbox.record(outcomes)
        report.add(_report(recorded))
        events.delivered(outcomes, recorded)  # one line per mail, once its outcome is recorded

    def _sender(self, rows: list[Outbox], handover: Handover) -> None:
        try:
            self._deliver(rows, handover)
        except BaseException as exc:  # noqa: BLE001 - raised again in the worker's thread, which logs it
            handover.failure = exc
        finally:
            handover.close()

    def _deliver(self, rows: list[Outbox], handover: Handover) -> None:
        try:
            with self.rt.transport.connect() as connection:
                self._send_all(connection, rows, handover)
        except DeliveryError as exc:  # the relay could not even be reached
            handover.put([self._deferral(row, exc.message) for row in rows if row.id not in handover.handled])

    def _send_all(self, connection: Connection, rows: list[Outbox], handover: Handover) -> None:
        for index, row in enumerate(rows):
            if not handover.may_send(row):
                continue
            outcome = self._send_one(connection, row)
            handover.put([outcome], sent=True)
            if outcome.connection_lost:
                # hand the rest back at once; the next batch opens a new connection
                now = self.rt.now()
                handover.put([Outcome(rest, "deferred", "connection lost earlier in batch", now)
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
