"""Server-side viewer sessions: the cookie holds a random value, the database only its hash."""

from __future__ import annotations

import secrets
from datetime import timedelta

from mailflow.clock import aware_utc, naive_utc
from mailflow.models import Session, User
from mailflow.runtime import Runtime
from mailflow.tokens import digest

TOUCH_EVERY = timedelta(minutes=1)  # sliding expiry without a write on every click


def lifetime(rt: Runtime) -> timedelta:
    return timedelta(hours=rt.config.web.session_hours)


def start(rt: Runtime, user: User, previous: Session | None = None) -> tuple[Session, str]:
    """A brand-new session id at every login, so an id planted before login is worth nothing."""
    if previous is not None:
        revoke(rt, previous)
    raw = secrets.token_urlsafe(32)
    now = naive_utc(rt.now())
    session = Session.create(user=user, session_hash=digest(raw), csrf_token=secrets.token_urlsafe(32),
                             created_at=now, last_seen_at=now, expires_at=now + lifetime(rt))
    return session, raw


def load(rt: Runtime, raw: str | None) -> Session | None:
    """The live session behind a cookie value, its expiry pushed back; None for anything else."""
    if not raw or len(raw) > 100:
        return None
    session = Session.get_or_none(Session.session_hash == digest(raw))
    now = rt.now()
    if session is None or session.revoked_at is not None or aware_utc(session.expires_at) <= now:
        return None
    if session.user.merged_into_id is not None:
        return None
    if now - aware_utc(session.last_seen_at) >= TOUCH_EVERY:
        session.last_seen_at, session.expires_at = naive_utc(now), naive_utc(now + lifetime(rt))
        Session.update(last_seen_at=session.last_seen_at, expires_at=session.expires_at).where(
            Session.id == session.id).execute()
    return session


def revoke(rt: Runtime, session: Session) -> None:
    Session.update(revoked_at=naive_utc(rt.now())).where(Session.id == session.id,
                                                         Session.revoked_at.is_null()).execute()


def revoke_all(rt: Runtime, user: User) -> int:
    return (Session.update(revoked_at=naive_utc(rt.now()))
            .where(Session.user == user, Session.revoked_at.is_null()).execute())
