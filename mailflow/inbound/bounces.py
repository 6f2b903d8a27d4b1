"""Bounces and complaints: mark the delivery the VERP address names, score the address, suppress the dead."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email import message_from_bytes
from email.policy import compat32

from mailflow.clock import naive_utc
from mailflow.errors import StorageError, TokenError
from mailflow.inbound.classification import BounceInfo
from mailflow.inbound.outcome import Outcome
from mailflow.inbound.parsing import parse_address
from mailflow.inbound.understanding import Understanding
from mailflow.models import Access, Customer, Outbox, Suppression, User
from mailflow.outbound import mails
from mailflow.runtime import Runtime
from mailflow.signing import token_from_address

# Where a returned original is quoted, the VERP address usually is too; no need to read further.
_SCAN_BYTES = 256 * 1024
_SUCCESS = ("delivered", "relayed", "expanded")
_ARF_RECIPIENT = re.compile(rb"^Original-Rcpt-To:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)


def handle_bounce(rt: Runtime, raw: bytes, u: Understanding, recipients: list[str]) -> Outcome:
    info = u.classification.bounce or BounceInfo([], False, None, None)
    out = verp_outbox(rt, raw, recipients)
    addresses = [out.recipient] if out else mailed(info.recipients)
    what = f"{info.action or 'failed'} {info.status or 'no status'}"
    if (info.action or "") in _SUCCESS:
        return Outcome("ignored", f"delivery report ({what}): nothing to do", outbox=out)
    if not addresses:
        return Outcome("ignored", f"bounce ({what}) for no address mailflow sent to", outbox=out)
    if out is not None:
        _mark(rt, out, info)
    return _score_all(rt, addresses, info, out, what)


def _score_all(rt: Runtime, addresses: list[str], info: BounceInfo, out: Outbox | None, what: str) -> Outcome:
    scored = [_score(rt, address, info) for address in addresses]
    told = [c for address, (_, newly) in zip(addresses, scored) if newly for c in dead_primary(rt, address)]
    action = f"bounce {what}" + (f" for outbox #{out.id}" if out else "") + ": " + "; ".join(n for n, _ in scored)
    if told:
        action += "; dead primary contact of " + ", ".join(c.number for c in told) + ", shared users told"
    user = User.get_or_none(User.email == addresses[0])
    return Outcome("staff" if told else "processed", action, user, out.customer if out else None, out)


def _score(rt: Runtime, address: str, info: BounceInfo) -> tuple[str, bool]:
    """A note for staff, and whether this bounce just made the address dead (suppressed)."""
    if (info.action or "failed") != "failed":
        return f"{address}: temporary, recorded", False
    if not info.permanent:  # refused for a reason that may pass (full mailbox, policy): not the address's fault
        return f"{address}: refused ({info.cause or 'unknown cause'}), not scored", False
    row, newly = add_point(rt, address, f"bounce {info.status or ''} {info.diagnostic or ''}".strip())
    limit = rt.config.bounces.score_threshold
    return f"{address}: score {row.score:g}/{limit:g}" + (", suppressed" if newly else ""), newly


def _mark(rt: Runtime, out: Outbox, info: BounceInfo) -> None:
    detail = f"{info.status or ''} {info.diagnostic or ''}".strip()[:900]
    if (info.action or "failed") == "delayed":
        Outbox.update(last_response=f"delayed (DSN): {detail}").where(Outbox.id == out.id).execute()
        return
    Outbox.update(bounced_at=naive_utc(rt.now()), last_response=f"bounced (DSN): {detail}").where(
        Outbox.id == out.id).execute()


def handle_complaint(rt: Runtime, raw: bytes, recipients: list[str]) -> Outcome:
    """A spam complaint (ARF): the address is suppressed at once, whatever its score."""
    out = verp_outbox(rt, raw, recipients)
    addresses = [out.recipient] if out else mailed(complained_addresses(raw))
    if not addresses:
        return Outcome("staff", "spam complaint naming no address mailflow sent to", outbox=out)
    for address in addresses:
        suppress(rt, address, "spam complaint (ARF)")
    user = User.get_or_none(User.email == addresses[0])
    return Outcome("processed", f"spam complaint: {', '.join(addresses)} suppressed", user,
                   out.customer if out else None, out)


def verp_outbox(rt: Runtime, raw: bytes, recipients: list[str]) -> Outbox | None:
    """The outbound mail a bounce is about, named by a genuine `bounces+TOKEN@` address."""
    domain = re.escape(rt.config.outbound.reply_domain.encode())
    quoted = [m.decode() for m in re.findall(rb"bounces\+[A-Za-z2-7]+@" + domain, raw[:_SCAN_BYTES], re.I)]
    for address in [*recipients, *quoted]:
        token = token_from_address(address, "bounces")
        try:
            outbox_id = rt.signer.read_verp_token(token) if token else None
        except TokenError:
            continue
        found = Outbox.get_or_none(Outbox.id == outbox_id) if outbox_id else None
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


def complained_addresses(raw: bytes) -> list[str]:
    found = [parse_address(m.decode("utf-8", "replace")) for m in _ARF_RECIPIENT.findall(raw[:_SCAN_BYTES])]
    return [a for a in found if a] or _original_to(raw)


def _original_to(raw: bytes) -> list[str]:
    tree = message_from_bytes(raw[:_SCAN_BYTES], policy=compat32)
    for part in tree.walk():
        inner = part.get_payload()
        if part.get_content_type() == "message/rfc822" and isinstance(inner, list) and inner:
            address = parse_address(inner[0].get("To"))
            return [address] if address else []
    return []


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
            mails.queue(rt, mails.MailRequest(shared, "primary_bounced", "primary_bounced", "notify",
                                              {"primary": customer.primary_user}, customer))
    return customers


def _shared_users(customer: Customer) -> list[User]:
    return list(User.select().join(Access, on=(Access.user == User.id))
                .where(Access.customer == customer, Access.role == "shared").order_by(User.id))

