"""Lifecycle: how long mailflow keeps things. Old documents and their PDFs, raw inbound mail, the bytes of
delivered mail, spent tokens and sessions, stale activation codes, bounce scores and rate counters are cleared."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from mailflow import audit, ratelimit, storage
from mailflow.clock import naive_utc
from mailflow.inbound.outcome import InboundStatus
from mailflow.models import ActivationCode, Document, InboundMessage, Outbox, Session, Suppression, Token
from mailflow.outbound import summary
from mailflow.runtime import Runtime

log = logging.getLogger(__name__)

BATCH = 500  # documents deleted per transaction
# Spent links and sessions stay a while, so a late click still hears "expired" rather than "unknown".
TOKEN_MARGIN = timedelta(days=30)
SESSION_MARGIN = timedelta(days=1)
CODE_LIFETIME = timedelta(weeks=15)
CODE_MARGIN = timedelta(days=365)  # unused codes past expiry are kept a year, then deleted
RATE_MARGIN = timedelta(days=2)  # the longest rate-limit window is a day
# raw mail is only purged once it was read
UNDERSTOOD = (InboundStatus.PROCESSED, InboundStatus.STAFF, InboundStatus.IGNORED, InboundStatus.FAILED)
SENT_MAIL_MARGIN = timedelta(days=1)


def local_today(rt: Runtime) -> date:
    return rt.now().astimezone(ZoneInfo(rt.config.scheduler.timezone)).date()


def retention_cutoff(today: date, years: int) -> date:
    """Documents dated before this day are purged; 29 February falls back to the 28th."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def purge_documents(rt: Runtime) -> int:
    """Delete documents older than `[retention] years` (views and notifications go with them)."""
    cutoff = retention_cutoff(local_today(rt), rt.config.retention.years)
    total = 0
    while batch := _purge_document_batch(rt, cutoff):
        total += batch
    return total


def _purge_document_batch(rt: Runtime, cutoff: date) -> int:
    with rt.db.atomic():
        rows = list(Document.select(Document.id, Document.number, Document.pdf_sha256)
                    .where(Document.date < cutoff).order_by(Document.id).limit(BATCH).tuples())
        if not rows:
            return 0
        Document.delete().where(Document.id.in_([row[0] for row in rows])).execute()
        audit.record(rt, "system", "retention.documents", f"{len(rows)} documents", before=cutoff,
                     numbers=[row[1] for row in rows])
    # files go only after the commit, and only those no remaining document shares
    delete_unused_pdfs(rt, {row[2] for row in rows})
    return len(rows)


def delete_unused_pdfs(rt: Runtime, hashes: set[str]) -> int:
    used = {row[0] for row in Document.select(Document.pdf_sha256)
            .where(Document.pdf_sha256.in_(sorted(hashes))).tuples()}
    for sha in hashes - used:
        storage.delete_pdf(rt.config, sha)
    return len(hashes - used)


def purge_raw_mail(rt: Runtime) -> int:
    """Drop the bytes of inbound mail older than `[retention] raw_mail_days`; keep the row and audit trail."""
    cutoff = naive_utc(rt.now() - timedelta(days=rt.config.retention.raw_mail_days))
    with rt.db.atomic():
        purged = (InboundMessage.update(raw=None, raw_purged_at=naive_utc(rt.now()))
                  .where(InboundMessage.received_at < cutoff, InboundMessage.raw.is_null(False),
                         InboundMessage.status.in_(UNDERSTOOD)).execute())
        if purged:
            audit.record(rt, "system", "retention.raw_mail", f"{purged} messages", before=cutoff)
    return purged


def purge_sent_mail(rt: Runtime) -> int:
    """Empty the bytes of mail delivered over a day ago; the row (recipient, subject, status) stays.

    Those bytes hold login and invitation links in clear, which the token table keeps only as hashes:
    a copy of the database must not hand out live links."""
    before = naive_utc(rt.now() - SENT_MAIL_MARGIN)
    return (Outbox.update(raw=b"").where(Outbox.status.in_(("sent", "bounced")), Outbox.sent_at < before, Outbox.raw != b"")
            .execute())


def expire_tokens(rt: Runtime) -> int:
    before = naive_utc(rt.now() - TOKEN_MARGIN)
    return (Token.delete().where((Token.expires_at < before) | (Token.used_at < before)
                                 | (Token.revoked_at < before)).execute())


def expire_sessions(rt: Runtime) -> int:
    before = naive_utc(rt.now() - SESSION_MARGIN)
    return Session.delete().where((Session.expires_at < before) | (Session.revoked_at < before)).execute()


def expire_activation_codes(rt: Runtime) -> int:
    """Codes unused 15 weeks after issue expire whatever they were given; long-dead ones are deleted."""
    now = naive_utc(rt.now())
    clamped = (ActivationCode.update(expires_at=now)
               .where(ActivationCode.used_at.is_null(), ActivationCode.expires_at > now,
                      ActivationCode.issued_at <= naive_utc(rt.now() - CODE_LIFETIME)).execute())
    deleted = (ActivationCode.delete()
               .where(ActivationCode.used_at.is_null(),
                      ActivationCode.expires_at < naive_utc(rt.now() - CODE_MARGIN)).execute())
    return clamped + deleted


def reset_stale_bounce_scores(rt: Runtime) -> int:
    """An address without bounces for `[bounces] stale_days` starts from zero again, unless suppressed."""
    before = naive_utc(rt.now() - timedelta(days=rt.config.bounces.stale_days))
    not_suppressed = Suppression.suppressed_at.is_null() | Suppression.lifted_at.is_null(False)
    return (Suppression.update(score=0.0)
            .where(Suppression.score > 0, Suppression.last_bounce_at < before, not_suppressed).execute())


def purge_rate_counters(rt: Runtime) -> int:
    return ratelimit.purge_before(rt.now() - RATE_MARGIN)


STEPS: dict[str, Callable[[Runtime], int]] = {
    "purge_documents": purge_documents,
    "purge_raw_mail": purge_raw_mail,
    "purge_sent_mail": purge_sent_mail,
    "expire_tokens": expire_tokens,
    "expire_sessions": expire_sessions,
    "expire_activation_codes": expire_activation_codes,
    "reset_stale_bounce_scores": reset_stale_bounce_scores,
    "purge_rate_counters": purge_rate_counters,
    # An import cut short in coalesce mode owes its summaries until an import runs again: the night sends them.
    "send_owed_import_summaries": lambda rt: summary.send_pending(rt),
}


def run_all(rt: Runtime) -> dict[str, int | None]:
    """Every step's count; a failing step is logged and counted None, and the others still run."""
    return {name: run_step(rt, name, step) for name, step in STEPS.items()}


def run_step(rt: Runtime, name: str, step: Callable[[Runtime], int]) -> int | None:
    try:
        return step(rt)
    except Exception:  # one broken step must not stop the others
        log.exception("lifecycle step %s failed", name)
        return None
