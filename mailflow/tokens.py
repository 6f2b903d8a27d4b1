"""Single-use link tokens (magic login, invitation): long random values stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from mailflow import bulk
from mailflow.clock import aware_utc, naive_utc
from mailflow.errors import TokenError
from mailflow.models import Token, User


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def issue(user: User, purpose: str, now: datetime, lifetime: timedelta) -> str:
    """A new token for `user`; only its hash is stored."""
    raw, row = prepare(user, purpose, now, lifetime)
    Token.create(**row)
    return raw


def prepare(user: User, purpose: str, now: datetime, lifetime: timedelta) -> tuple[str, dict[str, object]]:
    """A new token and the Token row that makes it work, for callers that insert many rows at once."""
    raw = secrets.token_urlsafe(32)
    return raw, {"user": user.id, "purpose": purpose, "token_hash": digest(raw), "created_at": naive_utc(now),
                 "expires_at": naive_utc(now + lifetime)}


def store(rows: list[dict[str, object]]) -> None:
    """Insert rows made by `prepare`, many per statement."""
    if rows:
        fields = [Token._meta.fields[name] for name in rows[0]]
        bulk.insert(fields, [tuple(row.values()) for row in rows])


def has_live(user: User, purpose: str, now: datetime) -> bool:
    """Whether `user` holds a link of `purpose` that still works (not used, revoked or expired)."""
    return Token.select().where(Token.user == user, Token.purpose == purpose, Token.used_at.is_null(),
                                Token.revoked_at.is_null(), Token.expires_at > naive_utc(now)).exists()


def revoke_all(user: User, purpose: str, now: datetime) -> int:
    return (Token.update(revoked_at=naive_utc(now))
            .where(Token.user == user, Token.purpose == purpose, Token.used_at.is_null(),
                   Token.revoked_at.is_null()).execute())


def peek(raw: str, now: datetime) -> Token:
    """The live token behind `raw`, without using it up (GET of a link)."""
    token = Token.get_or_none(Token.token_hash == digest(raw))
    if token is None:
        raise TokenError("this link is not valid", reason="invalid")
    _check_live(token, now)
    return token


def consume(raw: str, now: datetime) -> Token:
    """Use the token up; a second use of the same link is refused."""
    token = peek(raw, now)
    used = (Token.update(used_at=naive_utc(now))
            .where(Token.id == token.id, Token.used_at.is_null()).execute())
    if not used:
        raise TokenError("this link has already been used", reason="used")
    return token


def _check_live(token: Token, now: datetime) -> None:
    if token.used_at is not None:
        raise TokenError("this link has already been used", reason="used")
    if token.revoked_at is not None:
        raise TokenError("this link has been replaced by a newer one", reason="superseded")
    if aware_utc(token.expires_at) <= now:
        raise TokenError("this link has expired", reason="expired")
