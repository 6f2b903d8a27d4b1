"""Digests: one mail per recipient and period listing what is pending for them, sent exactly once.

A run for a period takes every pending notification of that frequency created before the period's
end, including older ones still pending (published while no scheduler ran, or moved here from another
frequency): nothing waits forever. Notifications created after the end wait for the next period.

Recipients are streamed in user-id order, a chunk at a time. A chunk is read and its mails rendered
and composed holding no lock; then one short transaction writes it with one statement per step, not
per recipient: the outbox rows; the Digest rows with ON CONFLICT DO NOTHING … RETURNING, so the
unique key (user, frequency, period_start) hands each recipient's digest to exactly one scheduler and
says which are ours; our recipients' notifications, still pending and of this frequency, marked
digested RETURNING whose. A recipient this run lost (key taken by another scheduler, a notification
taken or moved meanwhile) is undone alone: its outbox and Digest rows deleted, its notifications as
they were. So re-runs, catch-ups and concurrent schedulers never send twice: on SQLite the transaction
takes the write lock first; on PostgreSQL a second insert of the same key waits for the first to commit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Callable, Iterator
from urllib.parse import quote_plus

from babel.dates import format_date, format_interval
from peewee import JOIN, chunked, fn

from mailflow import bulk, i18n, issuers, tokens
from mailflow.clock import naive_utc
from mailflow.db import database
from mailflow.models import Access, Customer, Digest, Document, Issuer, Notification, User, View
from mailflow.outbound import mails, outbox
from mailflow.runtime import Runtime
from mailflow.scheduler import periods
from mailflow.scheduler.periods import Period, Schedule

CHUNK = 500  # recipients per transaction: short locks, few commits, bounded memory
IN_LIST = 500  # ids per IN (…) list or rows per INSERT: well under SQLite's bound-parameter limit
DIGEST_KEY = (Digest.user, Digest.frequency, Digest.period_start)
RECIPIENT_FIELDS = (User.id, User.email, User.first_name, User.last_name, User.language, User.activated_at)


@dataclass(slots=True)  # not frozen: that sets each field through object.__setattr__ (benchmarks/README.md)
class Listed:
    """A document as a digest lists it; read as plain columns, since building models cost more than rendering."""

    id: int
    number: str
    type: str
    date: date
    amount_cents: int
    currency: str


@dataclass(frozen=True, slots=True)
class Account:
    """A customer number as a digest shows it."""

    id: int
    number: str
    company: str
    issuer_name: str


@dataclass(slots=True)
class Entry:
    document: Listed
    viewed: bool
    type_label: str  # the msgid of the document's type, translated by the templates


@dataclass
class Group:
    """The documents of one customer number in a digest."""

    customer: Account
    entries: list[Entry] = field(default_factory=list)
    mail_only: bool = False  # shared by notification only: not in the viewer, so no link to it


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
    """The pending digests of these users, with two queries for the whole chunk."""
    users = {user.id: user for user in User.select(*RECIPIENT_FIELDS).where(bulk.among(User.id, user_ids))}
    found: dict[int, Pending] = {}
    accounts: dict[int, Account] = {}
    for row in _notes(user_ids, period):
        note_id, user_id, customer_id, channels = row[:4]
        pending = found.setdefault(user_id, Pending(users[user_id]))
        if channels is None:  # no access (any more) to this customer number, or no longer told about it
            pending.hidden.append(note_id)
            continue
        if customer_id not in accounts:
            accounts[customer_id] = Account(customer_id, *row[4:7])
        _add(pending, note_id, accounts[customer_id], _entry(row), channels == "mail")
    return [found[uid] for uid in user_ids if uid in found]


def _notes(user_ids: list[int], period: Period) -> list[tuple]:
    """Pending notes: (note, user, customer, access channels or None, number, company, issuer name, *document,
    view or None). A portal-only access is no access here: it gets no digests.

    Read through the bare cursor: peewee's conversion of every column of every row cost more than the query.
    """
    allowed = ((Access.user == Notification.user) & (Access.customer == Notification.customer)
               & (Access.channels != "portal"))
    seen = (View.user == Notification.user) & (View.document == Notification.document)
    query = (Notification.select(Notification.id, Notification.user, Notification.customer, Access.channels,
                                 Customer.number, Customer.company, Issuer.name, Document.id, Document.number,
                                 Document.type, Document.date, Document.amount_cents, Document.currency, View.id)
             .join(Document).switch(Notification).join(Customer).join(Issuer)
             .switch(Notification).join(Access, JOIN.LEFT_OUTER, on=allowed)
             .switch(Notification).join(View, JOIN.LEFT_OUTER, on=seen)
             .where(bulk.among(Notification.user, user_ids), _pending(period.frequency, period.end_utc))
             .order_by(Notification.user, Customer.number, Document.date, Document.number))
    return database.execute(query).fetchall()


# SQLite gives dates back as text, and a run's documents share a few days: each is parsed once
_day = lru_cache(maxsize=256)(Document.date.python_value)


def _entry(row: tuple) -> Entry:
    document_id, number, kind, day, cents, currency, view = row[7:]
    return Entry(Listed(document_id, number, kind, _day(day), cents, currency), view is not None,
                 mails.TYPE_LABELS[kind])


def _add(pending: Pending, note_id: int, account: Account, entry: Entry, mail_only: bool) -> None:
    if not pending.groups or pending.groups[-1].customer is not account:
        pending.groups.append(Group(account, mail_only=mail_only))
    pending.groups[-1].entries.append(entry)
    pending.note_ids.append(note_id)


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
        _run_chunk(rt, ids, report)
        if progress:
            progress(len(ids))
    return report


def _run_chunk(rt: Runtime, user_ids: list[int], report: DigestReport) -> None:
    batch = prepare(rt, user_ids, report.period)
    report.recipients += len(user_ids)
    report.skipped += len(user_ids) - len(batch.found)  # digested by another scheduler since the id query
    hidden, created = store(rt, batch)
    report.hidden += hidden
    report.created += created
    report.skipped += len(batch.outgoing) - created


@dataclass
class Outgoing:
    """One recipient's digest, rendered and composed, not yet written."""

    pending: Pending
    mail: outbox.Mail
    token: dict[str, object] | None = None  # the activation link's row, stored only if the mail goes out

    @property
    def user_id(self) -> int:
        return self.pending.user.id


@dataclass
class Batch:
    """A chunk of recipients read and composed: what one transaction writes."""

    period: Period
    found: list[Pending]
    outgoing: list[Outgoing]


def prepare(rt: Runtime, user_ids: list[int], period: Period) -> Batch:
    """Read a chunk and compose its mails; no lock is held meanwhile, `store` checks what still holds."""
    found = load(user_ids, period)
    return Batch(period, found, [compose(rt, pending, period) for pending in found if pending.note_ids])


def compose(rt: Runtime, pending: Pending, period: Period) -> Outgoing:
    link, token = None, None
    if pending.user.activated_at is None:
        link, token = mails.unstored_invitation_link(rt, pending.user)
    return Outgoing(pending, mails.prepare(rt, request(rt, pending, period, link)), token)


def store(rt: Runtime, batch: Batch) -> tuple[int, int]:
    """Write a composed chunk in one transaction: (hidden notifications dropped, digests created)."""
    with database.atomic():  # SQLite: BEGIN IMMEDIATE, so two processes queue, not clash
        hidden = _drop_hidden(batch.found, batch.period)
        return hidden, _write(rt, batch.outgoing, batch.period)


def _drop_hidden(found: list[Pending], period: Period) -> int:
    hidden = [note_id for pending in found for note_id in pending.hidden]
    return sum(Notification.update(status="skipped").where(_still_pending(ids, period)).execute()
               for ids in chunked(hidden, IN_LIST))


def _still_pending(note_ids: list[int], period: Period):
    """These notifications, if still pending in this frequency.

    The status test is wrapped in COALESCE (status is never NULL) so that SQLite, which keeps no statistics
    here, looks the rows up by id: on a bare `status = ?` it chose the (status, frequency, user) index and
    walked every pending notification of the frequency, once per chunk.
    """
    return (bulk.among(Notification.id, note_ids) & (fn.COALESCE(Notification.status, "") == "pending")
            & (Notification.frequency == period.frequency))


def _write(rt: Runtime, outgoing: list[Outgoing], period: Period) -> int:
    """Enqueue, claim and take with a statement per step; undo the recipients this run lost."""
    if not outgoing:
        return 0
    outbox_ids = outbox.enqueue_many([item.mail for item in outgoing], rt.now())
    digest_ids = _claim(outgoing, outbox_ids, period, naive_utc(rt.now()))
    complete = _take(outgoing, digest_ids, period)
    _undo([item for item in outgoing if item.user_id not in complete], outbox_ids, digest_ids)
    tokens.store([item.token for item in outgoing if item.user_id in complete and item.token])
    return len(complete)


def _claim(outgoing: list[Outgoing], outbox_ids: dict[str, int], period: Period, now: datetime) -> dict[int, int]:
    """Insert the Digest rows; the unique key gives each to one scheduler. Ours: digest id by user id."""
    rows = [(item.user_id, period.frequency, period.start_utc, period.end_utc, outbox_ids[item.mail.message_id], now)
            for item in outgoing]
    fields = (Digest.user, Digest.frequency, Digest.period_start, Digest.period_end, Digest.outbox, Digest.created_at)
    return dict(bulk.insert(fields, rows, returning=(Digest.user, Digest.id), ignore_conflicts_on=DIGEST_KEY))


def _take(outgoing: list[Outgoing], digest_ids: dict[int, int], period: Period) -> set[int]:
    """Mark our recipients' notifications digested while still pending here; the users who got them all."""
    ours = [item for item in outgoing if item.user_id in digest_ids]
    own_digest = Digest.select(Digest.id).where(Digest.user == Notification.user, Digest.frequency == period.frequency,
                                                Digest.period_start == period.start_utc)
    taken: Counter[int] = Counter()
    for ids in chunked([note_id for item in ours for note_id in item.pending.note_ids], IN_LIST):
        query = (Notification.update(status="digested", digest=own_digest).where(_still_pending(ids, period))
                 .returning(Notification.user))
        taken.update(user_id for (user_id,) in database.execute(query))  # bare cursor: plain ints, no conversion
    return {item.user_id for item in ours if taken[item.user_id] == len(item.pending.note_ids)}


def _undo(lost: list[Outgoing], outbox_ids: dict[str, int], digest_ids: dict[int, int]) -> None:
    """Take back what this transaction wrote for recipients it lost; their notifications stay as they were."""
    won = [item for item in lost if item.user_id in digest_ids]  # the key was ours, a notification was not
    for chunk in chunked(won, IN_LIST // 8):
        note_ids = [note_id for item in chunk for note_id in item.pending.note_ids]
        mine = [digest_ids[item.user_id] for item in chunk]
        Notification.update(status="pending", digest=None).where(Notification.id.in_(note_ids),
                                                                 Notification.digest.in_(mine)).execute()
        Digest.delete().where(Digest.id.in_(mine)).execute()
    outbox.discard([outbox_ids[item.mail.message_id] for item in lost])


def request(rt: Runtime, pending: Pending, period: Period, invitation_url: str | None = None) -> mails.MailRequest:
    """The digest mail; `invitation_url` (the activation link) for someone who has not activated yet."""
    user = pending.user
    context = {"groups": [_group_context(rt, group) for group in pending.groups], "frequency": period.frequency,
               "period_label": period_label(period, user.language)}
    if invitation_url:
        context |= {"invitation_url": invitation_url, "action_url": invitation_url,
                    "action_label": i18n.gettext(user.language, "Activate my account")}
    face = issuers.face_of_numbers(rt.config, [group.customer.number for group in pending.groups])
    return mails.MailRequest(user, "digest", "digest", "digest", context, unsubscribe=True, face=face)


@dataclass(slots=True)
class ShownGroup:
    """A group as the templates show it. Not a dict: Jinja tries attributes before keys, and each miss
    raised an AttributeError (eight a digest)."""

    customer: Account
    entries: list[Entry]
    url: str | None  # None: shared by notification only, the viewer would not show them


def _group_context(rt: Runtime, group: Group) -> ShownGroup:
    return ShownGroup(group.customer, group.entries, None if group.mail_only else viewer_link(rt, group))


def viewer_link(rt: Runtime, group: Group) -> str:
    """The viewer filtered to this customer number and the dates of the listed documents."""
    days = [entry.document.date for entry in group.entries]
    # as urlencode would write it, without its per-value quoting: ISO dates have nothing to quote
    return rt.url(f"documents?customer={quote_plus(group.customer.number)}&date_from={min(days).isoformat()}"
                  f"&date_to={max(days).isoformat()}")


@lru_cache(maxsize=64)  # the same few labels for every recipient of a run; Babel's intervals are slow
def period_label(period: Period, language: str) -> str:
    """The period as people say it: a day, a range of days or a month, in their language."""
    locale = i18n.locale_for(language)
    if period.frequency == "daily":
        return i18n.long_date(period.first_day, language)
    if period.frequency == "weekly":
        return format_interval(period.first_day, period.last_day, "yMMMd", locale=locale)
    return format_date(period.first_day, "LLLL y", locale=locale)

