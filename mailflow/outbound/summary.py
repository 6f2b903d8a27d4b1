"""Import summaries: one mail per recipient listing the documents an import published, instead of one mail each.

An import in `coalesce` mode leaves the notifications of its immediate recipients pending (digest recipients
wait for their digest as always). `send_pending` then mails each recipient one summary of everything pending
for them, in their language, through the digest's reading and template (`digests.load`, `digests.request`),
and marks those notifications queued with that mail in the same transaction. It takes every pending
immediate notification, not only this import's: a rerun after an interrupted import sends what that one owed.

Recipients are read and their mails composed a chunk at a time holding no lock; one short transaction per
chunk then takes the notifications still pending (UPDATE … RETURNING) and enqueues a mail for exactly what
it took: a recipient another sweep served meanwhile gets nothing more, one partly served gets a summary of
the rest, composed again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from peewee import chunked

from mailflow import bulk, tokens
from mailflow.db import database, transaction
from mailflow.models import Notification
from mailflow.outbound import mails, outbox
from mailflow.runtime import Runtime
from mailflow.scheduler import digests
from mailflow.scheduler.digests import Group, Pending
from mailflow.scheduler.periods import Period

FREQUENCY = "immediate"  # a pending immediate notification is one an import's summary owes
LISTED = 200  # documents a summary lists; it counts the rest (a mail of thousands of lines helps no one)


@dataclass
class Summary:
    """One recipient's summary, composed, not yet written."""

    pending: Pending
    mail: outbox.Mail
    token: dict[str, object] | None  # the activation link's row, stored only if the mail goes out


def send_pending(rt: Runtime, chunk: int = digests.CHUNK) -> int:
    """Queue one summary per recipient of every pending immediate notification; how many were queued."""
    period = pending_period(rt.now())
    return sum(_send_chunk(rt, ids, period) for ids in digests.recipient_chunks(period, chunk))


def pending_period(now: datetime) -> Period:
    """Everything created up to now, as the digest code reads a period (its end is all it looks at)."""
    today = now.astimezone(ZoneInfo("UTC")).date()
    return Period(FREQUENCY, today, today + timedelta(days=2), ZoneInfo("UTC"))


def _send_chunk(rt: Runtime, user_ids: list[int], period: Period) -> int:
    found = digests.load(user_ids, period)
    composed = [compose(rt, pending, period) for pending in found if pending.note_ids]
    hidden = [note for pending in found for note in pending.hidden]
    return transaction(lambda: store(rt, composed, hidden, period), "queueing import summaries")


def compose(rt: Runtime, pending: Pending, period: Period) -> Summary:
    link, token = None, None
    if pending.user.activated_at is None:
        link, token = mails.unstored_invitation_link(rt, pending.user)
    shown = only(pending, set(pending.note_ids[:LISTED]))
    request = digests.request(rt, shown, period, link)
    request = replace(request, template="import_summary", kind="summary",
                      context=request.context | {"more": pending.documents - shown.documents})
    return Summary(pending, mails.prepare(rt, request), token)


def store(rt: Runtime, composed: list[Summary], hidden: list[int], period: Period) -> int:
    """Within a transaction: take what is still pending, enqueue a summary of exactly that; how many."""
    _take(hidden, "skipped")  # numbers the recipient may no longer see
    taken = _take([note for item in composed for note in item.pending.note_ids], "queued")
    ready = [_fitted(rt, item, taken, period) for item in composed]
    ready = [item for item in ready if item is not None]
    ids = outbox.enqueue_many([item.mail for item in ready], rt.now())
    for item in ready:
        Notification.update(outbox=ids[item.mail.message_id]).where(
            bulk.among(Notification.id, item.pending.note_ids)).execute()
    tokens.store([item.token for item in ready if item.token])
    return len(ready)


def _take(note_ids: list[int], status: str) -> set[int]:
    """Mark these notifications `status` where still pending immediate ones; the ids this did."""
    taken: set[int] = set()
    for ids in chunked(note_ids, digests.IN_LIST):
        query = (Notification.update(status=status)
                 .where(bulk.among(Notification.id, ids), Notification.status == "pending",
                        Notification.frequency == FREQUENCY).returning(Notification.id))
        taken.update(note_id for (note_id,) in database.execute(query))
    return taken


def _fitted(rt: Runtime, item: Summary, taken: set[int], period: Period) -> Summary | None:
    """The summary of what this transaction took for the recipient: as composed, again for a part, or none."""
    if taken.issuperset(item.pending.note_ids):
        return item
    kept = only(item.pending, taken)
    return compose(rt, kept, period) if kept.note_ids else None


def only(pending: Pending, keep: set[int]) -> Pending:
    """The same recipient's pending digest, reduced to the notifications in `keep`."""
    kept = Pending(pending.user)
    notes = iter(pending.note_ids)  # in the order of the entries, group after group
    for group in pending.groups:
        entries = [entry for entry in group.entries if next(notes) in keep]
        if entries:
            kept.groups.append(Group(group.customer, entries, group.mail_only))
    kept.note_ids = [note for note in pending.note_ids if note in keep]
    return kept
