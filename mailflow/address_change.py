"""Changing a user's address: a link to the new address confirms it, the old address is told and may undo."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from mailflow import audit, i18n, ratelimit, tokens, validation
from mailflow.accounts import find_user
from mailflow.clock import aware_utc, naive_utc
from mailflow.errors import Conflict, TokenError, ValidationError
from mailflow.models import AddressChange, Customer, Session, Suppression, User
from mailflow.outbound import mails
from mailflow.runtime import Runtime

DAY = timedelta(days=1)
OPEN = ("suggested", "pending")  # asked for, not yet confirmed: a newer request replaces them
TAKEN = "an account with this address already exists"


def request(rt: Runtime, user: User, new_email: str, actor: User | str) -> AddressChange:
    """Mail a confirmation link to `new_email`; the address changes only when that link is used."""
    new = checked_address(user, new_email)
    ratelimit.hit(f"address-change:{user.id}", rt.config.limits.address_changes_per_day, DAY, rt.now())
    raw = secrets.token_urlsafe(32)
    now = rt.now()
    _close_open(user)
    row = AddressChange.create(
        user=user, old_email=user.email, new_email=new, actor=_name(actor), status="pending",
        confirm_hash=tokens.digest(raw), created_at=naive_utc(now),
        expires_at=naive_utc(now + timedelta(hours=rt.config.security.address_change_hours)))
    context = {"action_url": rt.url(f"address/{raw}"), "action_label": "Confirm my new address",
               "change": row, "hours": rt.config.security.address_change_hours} | asked_by(user, actor)
    _mail(rt, user, new, "address_confirm", context)
    audit.record(rt, _name(actor), "address.request", user.email, new=new)
    return row


def suggest(rt: Runtime, user: User, new_email: str, by: User) -> AddressChange:
    """A shared user names the new address of a primary contact whose mail bounces; staff decide and send
    the confirmation (whoever confirms a link becomes the account, so nobody else may start one for it)."""
    new = checked_address(user, new_email)
    ratelimit.hit(f"address-suggest:{by.id}", rt.config.limits.address_changes_per_day, DAY, rt.now())
    AddressChange.update(status="cancelled").where(AddressChange.user == user, AddressChange.status == "suggested",
                                                   AddressChange.actor == by.email).execute()
    row = AddressChange.create(user=user, old_email=user.email, new_email=new, actor=by.email, status="suggested",
                               created_at=naive_utc(rt.now()))
    audit.record(rt, by.email, "address.suggest", user.email, new=new)
    return row


def checked_address(user: User, new_email: str) -> str:
    """The new address, normalized; refused when it is the current one or another account's."""
    new = validation.email_address(new_email)
    if new == user.email:
        raise ValidationError("this is already the address of the account", field="email_unchanged")
    if find_user(new) is not None:
        raise Conflict(f"{TAKEN}: one address has one account; ask us to merge the two accounts", field="email")
    return new


def pending_for(user: User) -> AddressChange | None:
    return (AddressChange.select().where(AddressChange.user == user, AddressChange.status == "pending")
            .order_by(AddressChange.id.desc()).first())


def peek(rt: Runtime, raw: str) -> AddressChange:
    """The pending change behind a confirmation link, without using it (GET)."""
    row = AddressChange.get_or_none(AddressChange.confirm_hash == tokens.digest(raw))
    if row is None:
        raise TokenError("this link is not valid", reason="invalid")
    _check_live(row.status, "pending", row.expires_at, rt.now())
    return row


def confirm(rt: Runtime, raw: str) -> User:
    """Use the link: the account takes the new address, the old one is told and gets an undo link."""
    with rt.db.atomic():
        return _confirm(rt, peek(rt, raw))


def _confirm(rt: Runtime, row: AddressChange) -> User:
    _take(row, "pending", "confirmed", confirmed_at=naive_utc(rt.now()))
    user = _still_at(row, row.old_email)
    if find_user(row.new_email) is not None:
        raise Conflict(TAKEN, field="email")
    undo = secrets.token_urlsafe(32)
    until = rt.now() + timedelta(days=rt.config.security.address_undo_days)
    AddressChange.update(undo_hash=tokens.digest(undo), undo_until=naive_utc(until)).where(
        AddressChange.id == row.id).execute()
    _move(rt, user, row.new_email)
    _mail(rt, user, row.old_email, "address_changed", {"action_url": rt.url(f"address/undo/{undo}"),
                                                       "action_label": "Undo the change", "change": row,
                                                       "until": until.date()})
    audit.record(rt, row.new_email, "address.change", row.old_email, new=row.new_email, asked_by=row.actor)
    return User.get_by_id(user.id)


def holder(raw: str) -> User | None:
    """Whose link this is, even used or expired: the page that says so speaks their language."""
    digest = tokens.digest(raw)
    row = AddressChange.get_or_none((AddressChange.confirm_hash == digest) | (AddressChange.undo_hash == digest))
    return row.user if row else None


def peek_undo(rt: Runtime, raw: str) -> AddressChange:
    row = AddressChange.get_or_none(AddressChange.undo_hash == tokens.digest(raw))
    if row is None:
        raise TokenError("this link is not valid", reason="invalid")
    _check_live(row.status, "confirmed", row.undo_until, rt.now())
    return row


def undo(rt: Runtime, raw: str) -> User:
    """Give the account its old address back; every session and link of the new one stops working."""
    with rt.db.atomic():
        return _undo(rt, peek_undo(rt, raw))


def _undo(rt: Runtime, row: AddressChange) -> User:
    _take(row, "confirmed", "undone", undone_at=naive_utc(rt.now()))
    user = _still_at(row, row.new_email)
    if find_user(row.old_email) is not None:
        raise Conflict(f"{TAKEN} at {row.old_email} meanwhile; please contact us", field="email")
    _close_open(user)
    _move(rt, user, row.old_email)
    _revoke_access_of_new(rt, user)
    audit.record(rt, row.old_email, "address.undo", row.new_email, restored=row.old_email)
    return User.get_by_id(user.id)


def _check_live(status: str, wanted: str, expires: datetime | None, now: datetime) -> None:
    if status == "cancelled":
        raise TokenError("a newer change of address was asked for; this link no longer works", reason="superseded")
    if status != wanted:
        raise TokenError("this link has already been used", reason="used")
    if expires is None or aware_utc(expires) <= now:
        raise TokenError("this link has expired", reason="expired")


def _take(row: AddressChange, was: str, becomes: str, **stamps: Any) -> None:
    """Move the row on only if no one else did first: a link works once, even clicked twice at once."""
    done = (AddressChange.update(status=becomes, **stamps)
            .where(AddressChange.id == row.id, AddressChange.status == was).execute())
    if not done:
        raise TokenError("this link has already been used", reason="used")


def _still_at(row: AddressChange, address: str) -> User:
    user = User.get_by_id(row.user_id)
    if user.merged_into_id is not None or user.email != address:
        raise TokenError("the account's address changed since this link was sent", reason="superseded")
    return user


def _move(rt: Runtime, user: User, address: str) -> None:
    """The account itself stays (access, preferences, history, reply tokens naming its id); links mailed
    to the address it leaves stop working."""
    User.update(email=address).where(User.id == user.id).execute()
    for purpose in ("login", "invitation"):
        tokens.revoke_all(user, purpose, rt.now())


def _revoke_access_of_new(rt: Runtime, user: User) -> None:
    # Undo is the old mailbox saying "that was not me": whoever holds the new one is logged out everywhere.
    Session.update(revoked_at=naive_utc(rt.now())).where(Session.user == user, Session.revoked_at.is_null()).execute()
    User.update(api_token_hash=None).where(User.id == user.id).execute()


def _close_open(user: User) -> None:
    AddressChange.update(status="cancelled").where(AddressChange.user == user,
                                                   AddressChange.status.in_(OPEN)).execute()


def _mail(rt: Runtime, user: User, address: str, template: str, context: dict[str, Any]) -> None:
    """A mail about the account sent to `address`, which is not (or no longer) the account's own."""
    at = User(**(user.__data__ | {"email": address}))  # never saved: only the mail's recipient differs
    context["action_label"] = i18n.gettext(user.language, context["action_label"])  # the button's words
    mails.queue(rt, mails.MailRequest(at, template, template, "notify", context))


def _name(actor: User | str) -> str:
    return actor.email if isinstance(actor, User) else actor


def asked_by(user: User, actor: User | str) -> dict[str, Any]:
    """Who asked, as the confirmation mail says it: the person themselves, someone by name, or staff."""
    if not isinstance(actor, User):
        return {"asked_by": None, "by_staff": True}
    return {"asked_by": None if actor.id == user.id else actor.display_name, "by_staff": False}


def dead_primaries(customer: Customer | None = None) -> list[Customer]:
    """Customer numbers (or this one) whose primary contact's address is suppressed: bounces or a complaint."""
    dead = Suppression.select(Suppression.email).where(Suppression.suppressed_at.is_null(False),
                                                       Suppression.lifted_at.is_null())
    query = Customer.select().join(User, on=(Customer.primary_user == User.id)).where(User.email.in_(dead))
    if customer is not None:
        query = query.where(Customer.id == customer.id)
    return list(query.order_by(Customer.number))


def suggestions(user: User) -> list[AddressChange]:
    return list(AddressChange.select().where(AddressChange.user == user, AddressChange.status == "suggested")
                .order_by(AddressChange.id.desc()))


def history(user: User) -> list[AddressChange]:
    return list(AddressChange.select().where(AddressChange.user == user).order_by(AddressChange.id.desc()))
