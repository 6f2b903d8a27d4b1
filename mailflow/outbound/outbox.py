"""The outbox: mails written in the same transaction as their cause, claimed by workers with a lease."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import chunked, fn

from mailflow import bulk, wakeup, worker
from mailflow.clock import aware_utc, naive_utc
from mailflow.db import database
from mailflow.models import Customer, Document, Outbox, Suppression, User

DUE = ("queued", "deferred")
SUPPRESSED_ANSWER = "address suppressed after bounces or a complaint"
# bounced: sent, then a DSN said it failed (a delayed DSN leaves it sent)
STATUSES = ("queued", "sending", "deferred", "sent", "failed", "suppressed", "bounced")


@dataclass(frozen=True)
class Mail:
    message_id: str
    raw: bytes
    recipient: str
    subject: str
    kind: str
    user: User | None = None
    customer: Customer | None = None
    document: Document | None = None


def enqueue(mail: Mail, now: datetime) -> Outbox:
    row = Outbox.create(**_row(mail, now))
    wakeup.announce(wakeup.OUTBOX)
    return row


def enqueue_many(mails: list[Mail], now: datetime) -> dict[str, int]:
    """Insert a batch of mails at once; their row ids by Message-ID (RETURNING promises no order)."""
    rows = [_row(mail, now) for mail in mails]
    if not rows:
        return {}
    fields = [Outbox._meta.fields[name] for name in rows[0]]
    ids = dict(bulk.insert(fields, [tuple(row.values()) for row in rows], returning=(Outbox.message_id, Outbox.id)))
    wakeup.announce(wakeup.OUTBOX)
    return ids


def _row(mail: Mail, now: datetime) -> dict[str, object]:
    return {"message_id": mail.message_id, "kind": mail.kind, "recipient": mail.recipient.lower(),
            "user": mail.user, "customer": mail.customer, "document": mail.document, "subject": mail.subject,
            "raw": mail.raw, "status": "queued", "next_attempt_at": naive_utc(now), "created_at": naive_utc(now)}


def claim(owner: str, limit: int, now: datetime, lease: timedelta) -> list[Outbox]:
    """Take up to `limit` due rows (or rows whose worker's lease ran out) for `owner`, in id order."""
    changes = {"status": "sending", "lease_owner": owner, "lease_until": naive_utc(now + lease),
               "attempts": Outbox.attempts + 1}
    return worker.claim(Outbox, _claimable(limit, now), changes)


def _claimable(limit: int, now: datetime):
    stamp = naive_utc(now)
    due = (Outbox.status.in_(DUE) & (Outbox.next_attempt_at <= stamp))
    abandoned = (Outbox.status == "sending") & (Outbox.lease_until < stamp)
    return Outbox.select(Outbox.id).where(due | abandoned).order_by(Outbox.next_attempt_at, Outbox.id).limit(limit)


def renew(owner: str, until: datetime) -> list[int]:
    """Push the lease of every row `owner` still holds to `until`; the ids of those rows (the heartbeat)."""
    query = (Outbox.update(lease_until=naive_utc(until))
             .where(Outbox.lease_owner == owner, Outbox.status == "sending").returning(Outbox.id))
    with database.atomic():
        return [row_id for (row_id,) in query.tuples().execute()]


def discard(ids: list[int]) -> int:
    """Delete mails that were enqueued but must not go out (their cause was undone in the same transaction)."""
    chunks = chunked(ids, bulk.MAX_PARAMETERS)
    return sum(Outbox.delete().where(bulk.among(Outbox.id, chunk)).execute() for chunk in chunks)


@dataclass
class Outcome:
    """What became of one claimed row; recorded soon after, with the outcomes waiting beside it, in one
    transaction (see delivery.GROUP)."""

    row: Outbox
    status: str  # sent | deferred | failed | suppressed
    response: str = ""
    when: datetime | None = None  # sent_at, or the next attempt for a deferral
    connection_lost: bool = False


def record(outcomes: list[Outcome]) -> list[tuple[str, bool]]:
    """Write these outcomes in one transaction; each tells whether this worker still held the row's lease.

    The lease is checked by each UPDATE's own WHERE (owner and status), not read first: a worker whose
    lease ran out and was taken over cannot overwrite the new owner's outcome, on any database.
    One prepared statement per row in one transaction: building a query object per mail cost more
    than sending it.
    """
    if not outcomes:
        return []
    owner = outcomes[0].row.lease_owner
    with database.atomic():
        cursor = database.cursor()
        ours = [_update(cursor, o, owner) for o in outcomes]
    return [(o.status, still) for o, still in zip(outcomes, ours)]


def _update(cursor, outcome: Outcome, owner: str | None) -> bool:
    cursor.execute(_record_sql(), (*_outcome_params(outcome), owner))
    return cursor.rowcount == 1


def _record_sql() -> str:
    p = database.param
    # a DSN that came back before its worker recorded the handoff has made the row bounced already
    return (f'UPDATE "{Outbox._meta.table_name}" SET status = CASE WHEN bounced_at IS NULL THEN {p} ELSE '
            f"'bounced' END, last_response = {p}, "
            f"sent_at = COALESCE({p}, sent_at), next_attempt_at = COALESCE({p}, next_attempt_at), "
            f"lease_until = NULL, lease_owner = NULL WHERE id = {p} AND lease_owner = {p} AND status = 'sending'")


def _outcome_params(o: Outcome) -> tuple[object, ...]:
    when = naive_utc(o.when) if o.when else None
    response = SUPPRESSED_ANSWER if o.status == "suppressed" else o.response
    return (o.status, response, when if o.status == "sent" else None,
            when if o.status == "deferred" else None, o.row.id)


def retry_delay(attempts: int, initial: int, maximum: int) -> timedelta:
    return timedelta(seconds=min(maximum, initial * 2 ** max(0, attempts - 1)))


def suppressed_among(addresses: set[str]) -> set[str]:
    """The addresses of a batch that must not be mailed, in one query."""
    rows = Suppression.select(Suppression.email).where(
        Suppression.email.in_(list(addresses)), Suppression.suppressed_at.is_null(False),
        Suppression.lifted_at.is_null())
    return {row.email for row in rows}


def requeue(row_id: int, now: datetime) -> bool:
    """Staff's "retry": a failed, suppressed or deferred mail goes back to the queue; False when none matched."""
    requeued = bool(Outbox.update(status="queued", next_attempt_at=naive_utc(now), lease_owner=None,
                                  lease_until=None)
                    .where(Outbox.id == row_id, Outbox.status.in_(("failed", "suppressed", "deferred"))).execute())
    if requeued:
        wakeup.announce(wakeup.OUTBOX)
    return requeued


def counts() -> dict[str, int]:
    query = Outbox.select(Outbox.status, fn.COUNT(Outbox.id).alias("n")).group_by(Outbox.status)
    return {row.status: row.n for row in query}


def age(row: Outbox, now: datetime) -> timedelta:
    return now - aware_utc(row.created_at)
