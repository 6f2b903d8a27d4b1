"""Digests: one mail per recipient and period listing what is pending for them, sent exactly once.

A run for a period takes every pending notification of that frequency created before the period's
end, including older ones still pending (published while no scheduler ran, or moved here from another
frequency): nothing waits forever. Notifications created after the end wait for the next period.

Recipients are streamed in user-id order, a chunk at a time, each chunk one transaction (group
commit). Inside it, each recipient's outbox row, Digest row and notification updates form one
savepoint: the unique key (user, frequency, period_start) or a notification already taken by another
scheduler undoes just that recipient, so re-runs, catch-ups and concurrent schedulers never send twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterator
from urllib.parse import urlencode

from babel.dates import format_date, format_interval
from peewee import IntegrityError

from mailflow import i18n
from mailflow.clock import naive_utc
from mailflow.db import atomic_immediate
from mailflow.models import Access, Customer, Digest, Document, Issuer, Notification, User, View
from mailflow.outbound import mails
from mailflow.runtime import Runtime
from mailflow.scheduler import periods
from mailflow.scheduler.periods import Period, Schedule

CHUNK = 200  # recipients per transaction: short locks, few commits, bounded memory


class Taken(Exception):
    """Another scheduler digested (or someone moved) a notification first."""


@dataclass
class Entry:
    document: Document
    viewed: bool

    @property
    def type_label(self) -> str:
        return mails.TYPE_LABELS[self.document.type]


@dataclass
class Group:
    """The documents of one customer number in a digest."""

    customer: Customer
    entries: list[Entry] = field(default_factory=list)


@dataclass
class Pending:
    """What one recipient's digest will hold; `hidden` are notes of numbers they may no longer see."""

    user: User
    groups: list[Group] = field(default_factory=list)
    note_ids: list[int] = field(default_factory=list)
    hidden: list[int] = field(default_factory=list)
    already_sent: bool = False  # a digest of this period exists: a run would skip it

    @property
    def documents(self) -> int:
        return len(self.note_ids)


@dataclass
class DigestReport:
    period: Period
    recipients: int = 0
    created: int = 0
    skipped: int = 0  # already sent for this period, or taken by another scheduler meanwhile
    hidden: int = 0  # notifications for numbers no longer visible, marked skipped

    def summary(self) -> str:
        return (f"{self.period.frequency} digest {self.period.first_day}..{self.period.last_day}: "
                f"{self.recipients} recipients, {self.created} digests created, "
                f"{self.skipped} skipped as already sent, {self.hidden} hidden notifications dropped")


def period_for(rt: Runtime, frequency: str, moment: datetime | None = None) -> Period:
    return periods.covered_by(frequency, moment or rt.now(), Schedule.from_config(rt.config.scheduler))


def _pending(frequency: str, end_utc: datetime):
    return ((Notification.status == "pending") & (Notification.frequency == frequency)
            & (Notification.created_at < end_utc))


def count_recipients(period: Period) -> int:
    return (Notification.select(Notification.user).where(_pending(period.frequency, period.end_utc))
            .distinct().count())


def recipient_chunks(period: Period, size: int = CHUNK) -> Iterator[list[int]]:
    """User ids with something pending, in id order, `size` at a time (keyset, never all at once)."""
    last = 0
    while True:
        ids = [row[0] for row in Notification.select(Notification.user)
               .where(_pending(period.frequency, period.end_utc), Notification.user > last)
               .group_by(Notification.user).order_by(Notification.user).limit(size).tuples()]
        if not ids:
            return
        yield ids
        last = ids[-1]


def load(user_ids: list[int], period: Period) -> list[Pending]:
    """The pending digests of these users, with a handful of queries for the whole chunk."""
    users = {user.id: user for user in User.select().where(User.id.in_(user_ids))}
    notes = list(_notes(user_ids, period))
    visible = set(Access.select(Access.user, Access.customer).where(Access.user.in_(user_ids)).tuples())
    viewed = _viewed(user_ids, [note.document_id for note in notes])
    found: dict[int, Pending] = {}
    for note in notes:
        pending = found.setdefault(note.user_id, Pending(users[note.user_id]))
        if (note.user_id, note.customer_id) not in visible:
            pending.hidden.append(note.id)
            continue
        _add(pending, note, (note.user_id, note.document_id) in viewed)
    return [found[uid] for uid in user_ids if uid in found]


def _notes(user_ids: list[int], period: Period):
    return (Notification.select(Notification.id, Notification.user, Notification.customer,
                                Notification.document, Document, Customer, Issuer)
            .join(Document).switch(Notification).join(Customer).join(Issuer)
            .where(Notification.user.in_(user_ids), _pending(period.frequency, period.end_utc))
            .order_by(Notification.user, Customer.number, Document.date, Document.number))


def _viewed(user_ids: list[int], document_ids: list[int]) -> set[tuple[int, int]]:
    if not document_ids:
        return set()
    return set(View.select(View.user, View.document)
               .where(View.user.in_(user_ids), View.document.in_(sorted(set(document_ids)))).tuples())


def _add(pending: Pending, note: Notification, viewed: bool) -> None:
    if not pending.groups or pending.groups[-1].customer.id != note.customer_id:
        pending.groups.append(Group(note.customer))
    pending.groups[-1].entries.append(Entry(note.document, viewed))
    pending.note_ids.append(note.id)


def plan(rt: Runtime, period: Period, chunk: int = CHUNK) -> Iterator[Pending]:
    """What a run would send, changing nothing (`digest run --dry-run`)."""
    for ids in recipient_chunks(period, chunk):
        sent = already_sent(ids, period)
        for pending in load(ids, period):
            pending.already_sent = pending.user.id in sent
            yield pending


def already_sent(user_ids: list[int], period: Period) -> set[int]:
    return {row[0] for row in Digest.select(Digest.user).where(
        Digest.user.in_(user_ids), Digest.frequency == period.frequency,
        Digest.period_start == period.start_utc).tuples()}


def run(rt: Runtime, frequency: str, moment: datetime | None = None, chunk: int = CHUNK,
        progress: Callable[[int], None] | None = None) -> DigestReport:
    """Send the digests of the period a run at `moment` (default now) covers."""
    report = DigestReport(period_for(rt, frequency, moment))
    for ids in recipient_chunks(report.period, chunk):
        with atomic_immediate():  # SQLite: take the write lock first so two processes queue, not clash
            _run_chunk(rt, ids, report)
        if progress:
            progress(len(ids))
    return report


def _run_chunk(rt: Runtime, user_ids: list[int], report: DigestReport) -> None:
    found = load(user_ids, report.period)
    report.recipients += len(user_ids)
    report.skipped += len(user_ids) - len(found)  # digested by another scheduler since the id query
    for pending in found:
        report.hidden += _drop_hidden(pending)
        if pending.note_ids:
            sent = send(rt, pending, report.period)
            report.created += sent
            report.skipped += not sent


def _drop_hidden(pending: Pending) -> int:
    if not pending.hidden:
        return 0
    return (Notification.update(status="skipped")
            .where(Notification.id.in_(pending.hidden), Notification.status == "pending").execute())


def send(rt: Runtime, pending: Pending, period: Period) -> bool:
    """Queue one digest; False when this recipient's digest of the period exists or was taken."""
    try:
        with rt.db.atomic():  # a savepoint: a clash undoes this recipient only
            out = mails.queue(rt, request(rt, pending, period))
            digest = Digest.create(user=pending.user, frequency=period.frequency, period_start=period.start_utc,
                                   period_end=period.end_utc, outbox=out, created_at=naive_utc(rt.now()))
            _take(pending, period, digest)
    except (IntegrityError, Taken):
        return False
    return True


def _take(pending: Pending, period: Period, digest: Digest) -> None:
    taken = (Notification.update(status="digested", digest=digest)
             .where(Notification.id.in_(pending.note_ids), Notification.status == "pending",
                    Notification.frequency == period.frequency).execute())
    if taken != len(pending.note_ids):
        raise Taken()


def request(rt: Runtime, pending: Pending, period: Period) -> mails.MailRequest:
    user = pending.user
    context = {"groups": [_group_context(rt, group) for group in pending.groups], "frequency": period.frequency,
               "period_label": period_label(period, user.language), "issuer_name": _issuer_name(rt, pending)}
    if user.activated_at is None:
        link = mails.invitation_link(rt, user)
        context |= {"invitation_url": link, "action_url": link,
                    "action_label": i18n.gettext(user.language, "Activate my account")}
    return mails.MailRequest(user, "digest", "digest", "digest", context, unsubscribe=True)


def _group_context(rt: Runtime, group: Group) -> dict[str, object]:
    return {"customer": group.customer, "entries": group.entries, "url": viewer_link(rt, group)}


def viewer_link(rt: Runtime, group: Group) -> str:
    """The viewer filtered to this customer number and the dates of the listed documents."""
    days = [entry.document.date for entry in group.entries]
    query = urlencode({"customer": group.customer.number, "date_from": min(days).isoformat(),
                       "date_to": max(days).isoformat()})
    return rt.url(f"documents?{query}")


def _issuer_name(rt: Runtime, pending: Pending) -> str:
    names = {group.customer.issuer.name for group in pending.groups}
    return names.pop() if len(names) == 1 else rt.config.outbound.from_name


def period_label(period: Period, language: str) -> str:
    """The period as people say it: a day, a range of days or a month, in their language."""
    locale = i18n.locale_for(language)
    if period.frequency == "daily":
        return i18n.long_date(period.first_day, language)
    if period.frequency == "weekly":
        return format_interval(period.first_day, period.last_day, "yMMMd", locale=locale)
    return format_date(period.first_day, "LLLL y", locale=locale)

