"""What people ask for, by reply or in the viewer: duplicates, login links, invitations, frequencies."""

from __future__ import annotations

from datetime import timedelta

from mailflow import audit, ratelimit
from mailflow.clock import naive_utc
from mailflow.db import database, is_postgres
from mailflow.models import Customer, DuplicateRequest, Notification, Outbox, Preference, User
from mailflow.outbound import mails
from mailflow.runtime import Runtime
from mailflow import documents, validation

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
REPLY_CLIENT = "reply"  # links asked for by a reply signed with the address's own token
UNSIGNED_MAIL_CLIENT = "mail"  # links asked for by mail without such a token (anyone can write a From)


def duplicate(rt: Runtime, user: User, document_id: int, via: str, in_reply_to: str | None = None) -> DuplicateRequest:
    """Mail a copy of a visible document, marked as a duplicate; a few per document per day."""
    doc = documents.get_visible(user, document_id)
    limit = rt.config.limits.duplicates_per_document_per_day
    with rt.db.atomic():
        ratelimit.hit(f"duplicate:{user.id}:{doc.id}", limit, DAY, rt.now())
        auto = "auto-replied" if via == "mail" else "auto-generated"
        out = mails.duplicate(rt, user, doc, auto_submitted=auto, in_reply_to=in_reply_to)
        request = DuplicateRequest.create(user=user, document=doc, via=via, outbox=out,
                                          requested_at=naive_utc(rt.now()))
        audit.record(rt, user.email, "duplicate.request", doc.number, via=via)
    return request


def login_link(rt: Runtime, user: User, client: str, in_reply_to: str | None = None) -> Outbox | None:
    """Mail a magic link, unless `client` (an IP address, or "reply") had its share for this address.

    Each client has its own budget per address, so someone asking for another person's links cannot
    spend theirs; web clients together also share a cap per address, against filling a mailbox.
    A reply carries a signed token from the address itself: it only has its own budget.
    """
    budgets = _login_budgets(rt, user, client)
    now = rt.now()
    if any(ratelimit.remaining(key, limit, HOUR, now) <= 0 for key, limit in budgets):
        return None
    with rt.db.atomic():
        for key, limit in budgets:
            ratelimit.hit(key, limit, HOUR, now)
        auto = "auto-replied" if in_reply_to else "auto-generated"
        return mails.login(rt, user, auto_submitted=auto, in_reply_to=in_reply_to)


def _login_budgets(rt: Runtime, user: User, client: str) -> list[tuple[str, int]]:
    limits = rt.config.limits
    budgets = [(f"login:{user.id}:{client}", limits.login_links_per_address_per_client_per_hour)]
    if client != REPLY_CLIENT:
        budgets.append((f"login:{user.id}", limits.login_links_per_address_per_hour))
    return budgets


def resend_invitation(rt: Runtime, user: User, in_reply_to: str | None = None, actor: str | None = None) -> Outbox:
    with rt.db.atomic():
        auto = "auto-replied" if in_reply_to else "auto-generated"
        out = mails.invitation(rt, user, auto_submitted=auto, in_reply_to=in_reply_to)
        audit.record(rt, actor or user.email, "invitation.resend", user.email)
    return out


def set_frequency(rt: Runtime, user: User, frequency: str, customer: Customer | None = None,
                  actor: str | None = None) -> int:
    """Change how often `user` hears about one customer number (or all); pending notices follow."""
    frequency = validation.frequency(frequency)
    with database.atomic():  # SQLite: waits for a running digest (every transaction begins IMMEDIATE)
        query = Preference.update(frequency=frequency, updated_at=naive_utc(rt.now())).where(Preference.user == user)
        changed = query.where(Preference.customer == customer).execute() if customer else query.execute()
        _move_pending(rt, user, frequency, customer)
        audit.record(rt, actor or user.email, "preference.set", user.email, frequency=frequency,
                     customer=customer.number if customer else "*")
    return changed


def _move_pending(rt: Runtime, user: User, frequency: str, customer: Customer | None) -> None:
    pending = Notification.select().where(Notification.user == user, Notification.status == "pending")
    if customer is not None:
        pending = pending.where(Notification.customer == customer)
    if is_postgres():  # a digest taking these rows meanwhile: wait for it, then leave what it took
        pending = pending.for_update()
    for note in pending:
        if frequency == "immediate":
            note.outbox, note.status = mails.document_notice(rt, user, note.document), "queued"
        elif frequency == "off":
            note.status = "skipped"
        note.frequency = frequency
        note.save()
