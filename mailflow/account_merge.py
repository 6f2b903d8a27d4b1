"""Merging two accounts of one person: everything moves to the kept account, the other is retired."""

from __future__ import annotations

from mailflow import audit
from mailflow.clock import naive_utc
from mailflow.errors import ValidationError
from mailflow.models import (
    Access, ActivationCode, Customer, Digest, DuplicateRequest, InboundMessage, Notification, Outbox, Preference,
    Session, Share, Token, User, View,
)
from mailflow.runtime import Runtime

ROLE_RANK = {"primary": 2, "shared": 1}


def merge(rt: Runtime, keep: User, other: User, actor: str) -> User:
    """Move access, preferences, views, notifications and shares of `other` to `keep`; revoke `other`."""
    _check(keep, other)
    with rt.db.atomic():
        _move_access(keep, other)
        _move_unique(Preference, Preference.customer, keep, other)
        _move_unique(View, View.document, keep, other)
        _move_unique(Notification, Notification.document, keep, other)
        _move_shares(keep, other)
        _move_history(keep, other)
        _retire(rt, keep, other)
        audit.record(rt, actor, "user.merge", other.email, into=keep.email)
    return User.get_by_id(keep.id)


def _check(keep: User, other: User) -> None:
    if keep.id == other.id:
        raise ValidationError("an account cannot be merged into itself", field="other")
    if keep.merged_into_id or other.merged_into_id:
        raise ValidationError("one of these accounts was already merged into another", field="other")


def _move_access(keep: User, other: User) -> None:
    """Each customer number once, with the stronger role of the two."""
    mine = {a.customer_id: a for a in Access.select().where(Access.user == keep)}
    for access in Access.select().where(Access.user == other):
        held = mine.get(access.customer_id)
        if held is None:
            Access.update(user=keep).where(Access.id == access.id).execute()
            continue
        if ROLE_RANK[access.role] > ROLE_RANK[held.role]:
            Access.update(role=access.role).where(Access.id == held.id).execute()
        Access.delete().where(Access.id == access.id).execute()
    Customer.update(primary_user=keep).where(Customer.primary_user == other).execute()
    Access.update(granted_by=keep).where(Access.granted_by == other).execute()


def _move_unique(model, key, keep: User, other: User) -> None:
    """Rows unique per (user, key): the kept account's row wins, the other's duplicate goes."""
    taken = model.select(key).where(model.user == keep)
    model.delete().where(model.user == other, key.in_(taken)).execute()
    model.update(user=keep).where(model.user == other).execute()


def _move_shares(keep: User, other: User) -> None:
    for column, twin in ((Share.owner, Share.user), (Share.user, Share.owner)):
        existing = Share.select(twin).where(column == keep)
        Share.delete().where(column == other, (twin.in_(existing)) | (twin == keep)).execute()
        Share.update({column: keep}).where(column == other).execute()


def _move_history(keep: User, other: User) -> None:
    for model in (DuplicateRequest, Outbox, InboundMessage):
        model.update(user=keep).where(model.user == other).execute()
    ActivationCode.update(used_by=keep).where(ActivationCode.used_by == other).execute()
    taken = Digest.select(Digest.frequency, Digest.period_start).where(Digest.user == keep)
    keys = {(d.frequency, d.period_start) for d in taken}
    for digest in Digest.select().where(Digest.user == other):
        if (digest.frequency, digest.period_start) not in keys:
            Digest.update(user=keep).where(Digest.id == digest.id).execute()
    User.update(merged_into=keep).where(User.merged_into == other).execute()


def _retire(rt: Runtime, keep: User, other: User) -> None:
    now = naive_utc(rt.now())
    Session.update(revoked_at=now).where(Session.user == other, Session.revoked_at.is_null()).execute()
    Token.update(revoked_at=now).where(Token.user == other, Token.used_at.is_null(),
                                       Token.revoked_at.is_null()).execute()
    User.update(merged_into=keep, api_token_hash=None).where(User.id == other.id).execute()


def account_of(user: User) -> User:
    """The account a (possibly merged) user now lives in."""
    seen = {user.id}
    while user.merged_into_id and user.merged_into_id not in seen:
        seen.add(user.merged_into_id)
        user = User.get_by_id(user.merged_into_id)
    return user
