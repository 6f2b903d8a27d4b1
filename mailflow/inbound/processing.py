"""The inbound worker: claims stored messages with a lease, understands them, acts, and records what it did."""

from __future__ import annotations

import json
import logging
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mailflow.clock import naive_utc
from mailflow.db import database
from mailflow.errors import Conflict, NotFound
from mailflow import actions, events, wakeup, worker
from mailflow.inbound import bounces, mentions
from mailflow.inbound.classification import MessageKind
from mailflow.inbound.conversation import handle_message
from mailflow.inbound.outcome import InboundStatus, Outcome
from mailflow.inbound.store import envelope_recipients
from mailflow.inbound.authentication import Arrival
from mailflow.inbound.understanding import Understanding, unauthenticated, understand
from mailflow.models import InboundMessage
from mailflow.runtime import Runtime

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # a message that kills its worker this often is failed, not retried forever
BATCH = 20
# Claimed rows come back without `raw`: a batch of 25 MB messages is read one message at a time.
_LIGHT = (InboundMessage.id, InboundMessage.message_id, InboundMessage.envelope_from, InboundMessage.envelope_to,
          InboundMessage.attempts, InboundMessage.lease_until, InboundMessage.lease_owner, InboundMessage.status,
          InboundMessage.client_ip, InboundMessage.helo, InboundMessage.size)


class LeaseLost(Exception):
    """Another worker took the message over while this one was still at it; its work is rolled back."""


def claim(rt: Runtime, limit: int = BATCH, owner: str | None = None) -> list[InboundMessage]:
    """Take up to `limit` waiting messages (or ones whose worker's lease ran out) for `owner` (a new name by
    default), without their raw bytes."""
    now = naive_utc(rt.now())
    until = now + timedelta(seconds=rt.config.inbound.lease_seconds)
    changes = {"status": InboundStatus.PROCESSING, "lease_until": until, "lease_owner": owner or worker.worker_name(),
               "attempts": InboundMessage.attempts + 1}
    return worker.claim(InboundMessage, _claimable(limit, now), changes, _LIGHT)


def renew(rt: Runtime, owner: str) -> list[int]:
    """Push the lease of every message `owner` is still processing one lease ahead; their ids (the heartbeat)."""
    until = naive_utc(rt.now()) + timedelta(seconds=rt.config.inbound.lease_seconds)
    query = (InboundMessage.update(lease_until=until).returning(InboundMessage.id)
             .where(InboundMessage.lease_owner == owner, InboundMessage.status == InboundStatus.PROCESSING))
    with database.atomic():
        return [row_id for (row_id,) in query.tuples().execute()]


def _claimable(limit: int, now: datetime):
    waiting = InboundMessage.status == InboundStatus.RECEIVED
    abandoned = (InboundMessage.status == InboundStatus.PROCESSING) & (InboundMessage.lease_until < now)
    return (InboundMessage.select(InboundMessage.id).where(waiting | abandoned)
            .order_by(InboundMessage.received_at, InboundMessage.id).limit(limit))


def process(rt: Runtime, row: InboundMessage, guard: AbstractContextManager[object] = nullcontext()) -> str:
    """Handle one claimed message; whatever goes wrong is recorded on it, never raised. `guard` (the heartbeat's)
    is held around the write transaction."""
    u = None
    try:
        raw, u = _read(rt, row)  # outside the write transaction: parsing 20 MB must not hold the lock
        with guard, database.atomic():
            outcome = _decide(rt, row, raw, u)
            _record(row, u, outcome, now=rt.now())
            mentions.record(row.id, u)  # the customer numbers and documents it names, for staff
        events.handled(row.id, u, outcome)  # once committed: what was understood, what was done
    except LeaseLost:
        log.warning("inbound message %s was taken over by another worker", row.id)
        return "lost"
    except Exception as exc:  # one bad message must never stop the worker
        log.exception("inbound message %s failed", row.id)
        _record_failure(rt, row, exc, u)
        return "failed"
    return InboundMessage.get_by_id(row.id).status


def _read(rt: Runtime, row: InboundMessage) -> tuple[bytes | None, Understanding | None]:
    raw = _raw(row.id) if row.attempts <= MAX_ATTEMPTS else None
    if raw is None:
        return None, None
    arrival = Arrival(row.envelope_from, row.client_ip, row.helo)
    return raw, understand(rt, raw, row.envelope_from, envelope_recipients(row), arrival)


def _decide(rt: Runtime, row: InboundMessage, raw: bytes | None, u: Understanding | None) -> Outcome:
    if row.attempts > MAX_ATTEMPTS:
        return Outcome(InboundStatus.FAILED, f"gave up after {row.attempts - 1} interrupted attempts")
    if raw is None or u is None:
        return Outcome(InboundStatus.FAILED, "the raw message was purged; nothing left to read")
    return _act(rt, row, u)


def _raw(row_id: int) -> bytes | None:
    found = InboundMessage.select(InboundMessage.raw).where(InboundMessage.id == row_id).scalar()
    return None if found is None else bytes(found)


def _act(rt: Runtime, row: InboundMessage, u: Understanding) -> Outcome:
    kind = u.classification.kind
    if kind is MessageKind.BOUNCE:
        return bounces.handle_bounce(rt, u)  # the classification carries the envelope's VERP token too
    if kind is MessageKind.COMPLAINT:
        return bounces.handle_complaint(rt, u)
    if _mailto_unsubscribe(rt, u):
        return _unsubscribe(rt, u)
    if kind is MessageKind.AUTO_REPLY:
        signal = ", ".join(u.classification.signals[:3]) or u.classification.reason
        return Outcome(InboundStatus.IGNORED, f"automatic reply ({signal}): recorded, never answered", u.sender)
    return handle_message(rt, row, u)


def _mailto_unsubscribe(rt: Runtime, u: Understanding) -> bool:
    """RFC 8058's mailto form: sent to the unsubscribe token, often by the provider itself (Auto-Submitted).
    Failing a DMARC the sender's domain asks for, it is read as any reply (a STOP held for staff)."""
    return bool(u.authorized and u.token.claim and u.token.claim.purpose == "unsubscribe"
                and not unauthenticated(rt, u))


def _unsubscribe(rt: Runtime, u: Understanding) -> Outcome:
    actions.set_frequency(rt, u.sender, "off", u.token.customer, actor=u.sender.email)
    scope = u.token.customer.number if u.token.customer else "all customer numbers"
    return Outcome(InboundStatus.PROCESSED, f"unsubscribed by List-Unsubscribe mail: notifications off for "
                                            f"{scope}; no answer (one-click)", u.sender, u.token.customer)


def _record(row: InboundMessage, u: Understanding | None, outcome: Outcome, now: datetime) -> None:
    fields = {} if u is None else _understood(u)
    done = (InboundMessage.update(
        status=outcome.status, action=outcome.action[:4000], lease_until=None, lease_owner=None,
        error=outcome.action[:4000] if outcome.status == InboundStatus.FAILED else None,
        processed_at=naive_utc(now), user=outcome.user, customer=outcome.customer, outbox=outcome.outbox,
        **fields)
        .where(InboundMessage.id == row.id, InboundMessage.status == InboundStatus.PROCESSING,
               InboundMessage.lease_owner == row.lease_owner).execute())
    if not done:
        raise LeaseLost(row.id)


def _understood(u: Understanding) -> dict[str, object]:
    return {"kind": u.kind, "from_addr": (u.parsed.from_addr or "")[:254] or None,
            "authentication": json.dumps(u.auth.as_json()) if u.auth else None,
            "subject": u.parsed.subject[:2000], "reply_text": u.reply_text[:100_000],
            "commands": json.dumps([{"name": c.name, "args": list(c.args)} for c in u.commands])}


def _record_failure(rt: Runtime, row: InboundMessage, exc: Exception, u: Understanding | None) -> None:
    """Keep the error, and what was understood before it, for staff to see and reprocess."""
    summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    fields = {} if u is None else _understood(u)
    with rt.db.atomic():
        (InboundMessage.update(status=InboundStatus.FAILED, error=summary[:4000], lease_until=None, lease_owner=None,
                               processed_at=naive_utc(rt.now()), **fields)
         .where(InboundMessage.id == row.id, InboundMessage.lease_owner == row.lease_owner).execute())


def retry_failed(rt: Runtime) -> int:
    """Put every failed message back in line (`mailflow inbound process --retry-failed`), each with a fresh
    count of attempts: otherwise one that failed MAX_ATTEMPTS times fails again without being read."""
    count = (InboundMessage.update(status=InboundStatus.RECEIVED, error=None, attempts=0)
             .where(InboundMessage.status == InboundStatus.FAILED).execute())
    wakeup.announce(wakeup.INBOUND)  # a running `serve` takes them too
    return count


def reprocess(rt: Runtime, message_id: int) -> InboundMessage:
    """Handle one message again now, whatever became of it before (staff's "reprocess")."""
    if not InboundMessage.select().where(InboundMessage.id == message_id).exists():
        raise NotFound(f"no inbound message {message_id}")
    owner = worker.worker_name()
    if not _take(rt, message_id, owner):
        raise Conflict(f"inbound message {message_id} is being processed right now")
    lease = worker.Lease(lambda: renew(rt, owner), rt.config.inbound.lease_seconds, [message_id])
    with worker.Heartbeat(lease) as beat:
        process(rt, InboundMessage.select(*_LIGHT).where(InboundMessage.id == message_id).get(), beat.guard)
    return InboundMessage.get_by_id(message_id)


def _take(rt: Runtime, message_id: int, owner: str) -> bool:
    """Lease the message to `owner` unless a live worker is processing it."""
    now = naive_utc(rt.now())
    until = now + timedelta(seconds=rt.config.inbound.lease_seconds)
    busy = (InboundMessage.status == InboundStatus.PROCESSING) & (InboundMessage.lease_until >= now)
    with database.atomic():
        return bool(InboundMessage.update(status=InboundStatus.PROCESSING, lease_until=until, lease_owner=owner,
                                          attempts=1, error=None)
                    .where(InboundMessage.id == message_id, ~busy).execute())


@contextmanager
def any_time(size: int) -> Iterator[None]:
    """Nothing else in the process comes first."""
    yield


@dataclass
class InboundWorker:
    rt: Runtime
    # Held around each claim (size 0) and each message (its size); `serve` lets its SMTP door go first there.
    turn: Callable[[int], AbstractContextManager[None]] = any_time
    name: str = field(default_factory=worker.worker_name)

    def run_once(self) -> Counter[str]:
        """Process one batch, its leases renewed meanwhile; an empty count means nothing was waiting."""
        with self.turn(0):
            rows = claim(self.rt, owner=self.name)
        if not rows:
            return Counter()
        lease = worker.Lease(lambda: renew(self.rt, self.name), self.rt.config.inbound.lease_seconds,
                             [row.id for row in rows])
        with worker.Heartbeat(lease) as beat:
            return Counter(self._process(row, beat) for row in rows)

    def _process(self, row: InboundMessage, beat: worker.Heartbeat) -> str:
        if not beat.lease.holds(row.id):  # this worker stalled past its lease: the message is another's now
            return "lost"
        with self.turn(row.size or 0):
            return process(self.rt, row, beat.guard)

    def flush(self) -> Counter[str]:
        """Process everything stored, then return how each message ended."""
        total: Counter[str] = Counter()
        while batch := self.run_once():
            total.update(batch)
        return total

    def run(self, stop: threading.Event) -> None:
        worker.run(self.rt, "inbound", lambda: bool(self.run_once()), wakeup.INBOUND,
                   self.rt.config.inbound.poll_seconds, stop)
