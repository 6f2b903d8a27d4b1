"""Bounces and complaints: mark the delivery the VERP address names, score the address, suppress the dead.

Everything read from the message comes from its classification (the BounceEvent, or the reported mail of a
complaint): this module decides and writes, it does not parse.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from peewee import Case

from mailflow.clock import naive_utc
from mailflow.errors import StorageError, TokenError
from mailflow.inbound.classification import BounceEvent, RecipientOutcome
from mailflow.inbound.outcome import InboundStatus, Outcome
from mailflow.inbound.understanding import Understanding
from mailflow.models import Access, Customer, Outbox, Suppression, User
from mailflow.outbound import mails
from mailflow.runtime import Runtime

_SUCCESS = ("delivered", "relayed", "expanded")


def handle_bounce(rt: Runtime, u: Understanding) -> Outcome:
    event = u.classification.bounce or BounceEvent([])
    out = verp_outbox(rt, event.verp_tokens)
    addresses = [out.recipient] if out else mailed(event.recipients)
    what = f"{event.action or 'failed'} {event.status or 'no status'}"
    if (event.action or "") in _SUCCESS:
        return Outcome(InboundStatus.IGNORED, f"delivery report ({what}): nothing to do", outbox=out)
    if not addresses:
        return Outcome(InboundStatus.IGNORED, f"bounce ({what}) for no address mailflow sent to", outbox=out)
    if out is not None:
        _mark(rt, out, event.outcome_for(out.recipient))
    return _score_all(rt, addresses, event, out, what)


def _score_all(rt: Runtime, addresses: list[str], event: BounceEvent, out: Outbox | None, what: str) -> Outcome:
    scored = [_score(rt, address, event.outcome_for(address)) for address in addresses]
    told = [c for address, (_, newly) in zip(addresses, scored) if newly for c in dead_primary(rt, address)]
    action = f"bounce {what}" + (f" for outbox #{out.id}" if out else "") + ": " + "; ".join(n for n, _ in scored)
    if told:
        action += "; dead primary contact of " + ", ".join(c.number for c in told) + ", shared users told"
    user = User.get_or_none(User.email == addresses[0])
    status = InboundStatus.STAFF if told else InboundStatus.PROCESSED
    return Outcome(status, action, user, out.customer if out else None, out)


def _score(rt: Runtime, address: str, outcome: RecipientOutcome) -> tuple[str, bool]:
    """A note for staff, and whether this bounce just made the address dead (suppressed)."""
    if (outcome.action or "failed") != "failed":
        return f"{address}: temporary, recorded", False
    if not outcome.permanent:  # refused for a reason that may pass (full mailbox, policy): not the address's fault
        return f"{address}: refused ({outcome.cause or 'unknown cause'}), not scored", False
    row, newly = add_point(rt, address, f"bounce {outcome.status or ''} {outcome.diagnostic or ''}".strip())
    limit = rt.config.bounces.score_threshold
    return f"{address}: score {row.score:g}/{limit:g} ({outcome.cause})" + (", suppressed" if newly else ""), newly


def _mark(rt: Runtime, out: Outbox, outcome: RecipientOutcome) -> None:
    detail = f"{outcome.status or ''} {outcome.diagnostic or ''}".strip()[:900]
    if (outcome.action or "failed") == "delayed":
        Outbox.update(last_response=f"delayed (DSN): {detail}").where(Outbox.id == out.id).execute()
        return
    # A row still being sent takes the status when its worker records it (the outbox's record keeps bounced_at).
    status = Case(None, ((Outbox.status == "sent", "bounced"),), Outbox.status)
    Outbox.update(bounced_at=naive_utc(rt.now()), last_response=f"bounced (DSN): {detail}", status=status).where(
        Outbox.id == out.id).execute()


def handle_complaint(rt: Runtime, u: Understanding) -> Outcome:
    """A spam complaint (ARF): the address is suppressed at once, whatever its score."""
    event = u.classification.event
    out = verp_outbox(rt, event.verp_tokens if event else ())
    addresses = [out.recipient] if out else mailed(u.classification.recipients)
    if not addresses:
        return Outcome(InboundStatus.STAFF, "spam complaint naming no address mailflow sent to", outbox=out)
    for address in addresses:
        suppress(rt, address, "spam complaint (ARF)")
    user = User.get_or_none(User.email == addresses[0])
    return Outcome(InboundStatus.PROCESSED, f"spam complaint: {', '.join(addresses)} suppressed", user,
                   out.customer if out else None, out)


def verp_outbox(rt: Runtime, tokens: tuple[str, ...]) -> Outbox | None:
    """The outbound mail a report is about: the first VERP token found that our signature vouches for."""
    for token in tokens:
        try:
            outbox_id = rt.signer.read_verp_token(token)
        except TokenError:
            continue
        found = Outbox.get_or_none(Outbox.id == outbox_id)
        if found is not None:
            return found
    return None


def mailed(addresses: list[str]) -> list[str]:
    """Only addresses mailflow has written to: a forged report must not silence anyone else."""
    wanted = [a.lower() for a in addresses if a]
    if not wanted:
        return []
    known = {r.recipient for r in Outbox.select(Outbox.recipient).where(Outbox.recipient.in_(wanted))}
    return [a for a in dict.fromkeys(wanted) if a in known]


SCORE_ATTEMPTS = 10


def add_point(rt: Runtime, address: str, reason: str) -> tuple[Suppression, bool]:
    """Mailman-style score: one point a day at most, reset when stale; True when this suppressed it.

    Compare-and-set: the UPDATE applies only if the row is still as it was read, so two bounces for one
    address handled at once (two workers on PostgreSQL) both count instead of one overwriting the other.
    """
    now = naive_utc(rt.now())
    for _ in range(SCORE_ATTEMPTS):
        row = _suppression(address)
        seen = (row.score, row.last_bounce_at, row.suppressed_at)
        newly = _scored(rt, row, now, reason)
        if _swap(row, seen):
            return row, newly
    raise StorageError(f"bounce score of {address} kept changing under us; try again")


def _scored(rt: Runtime, row: Suppression, now: datetime, reason: str) -> bool:
    """Apply one bounce to `row` in memory; True when it makes the address suppressed."""
    if row.last_bounce_at and now - row.last_bounce_at > timedelta(days=rt.config.bounces.stale_days):
        row.score = 0.0
    if row.score == 0 or row.last_bounce_at is None or row.last_bounce_at.date() < now.date():
        row.score += 1
    row.last_bounce_at = now
    newly = row.score >= rt.config.bounces.score_threshold and not is_active(row)
    if newly:
        _set_suppressed(row, now, f"{reason} (score {row.score:g})")
    return newly


def _swap(row: Suppression, seen: tuple[float, datetime | None, datetime | None]) -> bool:
    score, last, suppressed = seen
    return bool(Suppression.update(score=row.score, last_bounce_at=row.last_bounce_at, suppressed_at=row.suppressed_at,
                                   lifted_at=row.lifted_at, reason=row.reason)
                .where(Suppression.id == row.id, Suppression.score == score, _same(Suppression.last_bounce_at, last),
                       _same(Suppression.suppressed_at, suppressed)).execute())


def _same(column, value):
    return column.is_null() if value is None else column == value


def suppress(rt: Runtime, address: str, reason: str) -> Suppression:
    row = _suppression(address)
    if not is_active(row):
        _set_suppressed(row, naive_utc(rt.now()), reason)
        row.save()
    return row


def _suppression(address: str) -> Suppression:
    return Suppression.get_or_create(email=address.lower())[0]


def _set_suppressed(row: Suppression, now: datetime, reason: str) -> None:
    row.suppressed_at, row.lifted_at, row.reason = now, None, reason[:500]


def is_active(row: Suppression) -> bool:
    return row.suppressed_at is not None and row.lifted_at is None


def dead_primary(rt: Runtime, address: str) -> list[Customer]:
    """Customer numbers whose primary contact is `address`; their shared users are told by mail."""
    customers = list(Customer.select().join(User, on=(Customer.primary_user == User.id))
                     .where(User.email == address.lower()))
    for customer in customers:
        for shared in _shared_users(customer):
            fix = rt.url(f"primary-contact/{customer.id}")  # where a shared user can name the new address
            mails.queue(rt, mails.MailRequest(shared, "primary_bounced", "primary_bounced", "notify",
                                              {"primary": customer.primary_user, "fix_url": fix}, customer))
    return customers


def _shared_users(customer: Customer) -> list[User]:
    return list(User.select().join(Access, on=(Access.user == User.id))
                .where(Access.customer == customer, Access.role == "shared").order_by(User.id))

