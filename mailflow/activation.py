"""Paperless opt-in codes: issued per customer number, typed in by people, single use, valid 15 weeks."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from mailflow import accounts, audit, paperless, ratelimit
from mailflow.account_merge import account_of
from mailflow.accounts import Person
from mailflow.clock import aware_utc, naive_utc
from mailflow.config import secret_key
from mailflow.db import transaction
from mailflow.errors import PermissionDenied, TokenError, ValidationError
from mailflow.models import ActivationCode, Customer, Issuer, Outbox, User
from mailflow.outbound import mails
from mailflow.runtime import Runtime

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O or U to misread
CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
LENGTH = 12  # eleven random symbols (55 bits) and one check symbol
LIFETIME = timedelta(weeks=15)
HOUR = timedelta(hours=1)

REASONS = {
    "mistyped": "this code has a typing mistake",
    "unknown": "this code does not exist",
    "not_yours": "this code is for a customer number with another primary contact",
    "superseded": "a newer code was issued for this customer number; use the latest one",
    "expired": "this code has expired (codes are valid for 15 weeks)",
    "used": "this code has already been used",
    "already_active": "this customer number already receives its documents electronically",
}


def refused(reason: str) -> TokenError:
    return TokenError(REASONS[reason], reason=reason)


def normalize(text: str) -> str:
    """What the person meant: no spaces or dashes, upper case, look-alike letters read as digits."""
    return "".join(ch for ch in text.upper() if ch.isalnum()).translate(CONFUSABLE)


def formatted(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def check_symbol(body: str) -> str:
    """Luhn mod 32: any single wrong symbol and most swapped neighbours are caught before a lookup."""
    total, factor = 0, 2
    for ch in reversed(body):
        addend = factor * ALPHABET.index(ch)
        total += addend // 32 + addend % 32
        factor = 1 if factor == 2 else 2
    return ALPHABET[(32 - total % 32) % 32]


def well_formed(code: str) -> bool:
    return (len(code) == LENGTH and all(ch in ALPHABET for ch in code)
            and check_symbol(code[:-1]) == code[-1])


def code_hash(rt: Runtime, code: str) -> str:
    # keyed, so a copy of the database alone does not let anyone try the 2^55 codes offline
    return hmac.new(secret_key(rt.config), b"activation code " + code.encode(), hashlib.sha256).hexdigest()


def issue(rt: Runtime, customer: Customer, actor: str = "system") -> str:
    """A new code for `customer`, shown once; older unused codes stop working."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH - 1))
    code = body + check_symbol(body)
    now = naive_utc(rt.now())
    with rt.db.atomic():
        (ActivationCode.update(superseded_at=now)
         .where(ActivationCode.customer == customer, ActivationCode.used_at.is_null(),
                ActivationCode.superseded_at.is_null()).execute())
        ActivationCode.create(customer=customer, code_hash=code_hash(rt, code), issued_at=now,
                              expires_at=now + LIFETIME)
        audit.record(rt, actor, "activation.issue", customer.number)
    return formatted(code)


def mail_code(rt: Runtime, customer: Customer, actor: str, in_reply_to: str | None = None) -> Outbox:
    """A new code mailed to the customer number's primary contact, and to no one else (asked by reply: CODE)."""
    with rt.db.atomic():
        code = issue(rt, customer, actor)
        valid_until = (aware_utc(naive_utc(rt.now())) + LIFETIME).astimezone(ZoneInfo(rt.config.scheduler.timezone))
        return mails.activation_code(rt, customer, code, valid_until.date(), in_reply_to)


@dataclass(frozen=True)
class Printed:
    """A code as a print shop merges it into a letter: the one moment its plain text exists."""

    customer: Customer
    code: str
    valid_until: date


def needing_codes(rt: Runtime, issuer: Issuer | None = None, reissue: bool = False) -> list[Customer]:
    """Customer numbers on paper whose next letter needs a code: those without a live one (none yet, expired,
    or replaced), or all of them with `reissue` (their earlier codes then stop working).

    Live codes are left alone by default because they cannot be printed again (only their hash is kept) and
    replacing them would void the letters already sent: a second export the same day prints nothing new.
    """
    query = Customer.select().where(Customer.paperless == False).order_by(Customer.number)  # noqa: E712
    if issuer is not None:
        query = query.where(Customer.issuer == issuer)
    if not reissue:
        live = ActivationCode.select(ActivationCode.customer).where(
            ActivationCode.superseded_at.is_null(), ActivationCode.expires_at > naive_utc(rt.now()))
        query = query.where(Customer.id.not_in(live))
    return list(query)


def issue_many(rt: Runtime, customers: list[Customer], actor: str) -> list[Printed]:
    """A new code for each customer, in one transaction retried while the database is busy."""
    until = (rt.now() + LIFETIME).astimezone(ZoneInfo(rt.config.scheduler.timezone)).date()
    return transaction(lambda: [Printed(c, issue(rt, c, actor), until) for c in customers], "issuing codes")


def latest(customer: Customer) -> ActivationCode | None:
    return (ActivationCode.select().where(ActivationCode.customer == customer)
            .order_by(ActivationCode.issued_at.desc(), ActivationCode.id.desc()).first())


def redeem(rt: Runtime, user: User, text: str) -> Customer:
    """Opt the code's customer number into electronic delivery; TokenError.reason says why not.

    A number whose primary contact never activated the account goes to whoever holds its latest code:
    the code came on paper to the company, as the FAQ's "other activation codes" section adds numbers.
    """
    ratelimit.hit(f"activation:{user.id}", rt.config.limits.activation_attempts_per_hour, HOUR, rt.now())
    row = _find(rt, text)
    _check(rt, row, user)
    return _activate(rt, row, user, "code")


def _find(rt: Runtime, text: str) -> ActivationCode:
    code = normalize(text)
    if not well_formed(code):
        raise refused("mistyped")
    row = ActivationCode.get_or_none(ActivationCode.code_hash == code_hash(rt, code))
    if row is None:
        raise refused("unknown")
    return row


def _check(rt: Runtime, row: ActivationCode, user: User | None) -> None:
    """Why `user` (None: someone without an account yet) may not use this code, as a TokenError."""
    customer = row.customer
    mine = user is not None and customer.primary_user_id == user.id
    if not mine and customer.primary_user.activated_at is not None:
        raise refused("not_yours")
    if row.superseded_at is not None:
        raise refused("superseded")
    if aware_utc(row.expires_at) <= rt.now():
        raise refused("expired")
    if row.used_at is not None and latest(customer).id != row.id:
        raise refused("used")  # only the latest code brings a number back after an opt-out
    if customer.paperless and mine:
        raise refused("used" if row.used_at else "already_active")


def _activate(rt: Runtime, row: ActivationCode, user: User, via: str) -> Customer:
    again = row.used_at is not None
    with rt.db.atomic():
        customer = row.customer
        if customer.primary_user_id != user.id:
            accounts.hand_over(rt, customer, user, actor=user.email)
        (ActivationCode.update(used_at=row.used_at or naive_utc(rt.now()), used_by=user)
         .where(ActivationCode.id == row.id).execute())
        action = "activation.reactivate" if again else "activation.redeem"
        if not customer.paperless:
            return paperless.change(rt, Customer.get_by_id(customer.id), True, user.email, via, action)
        audit.record(rt, user.email, action, customer.number, via=via)
    return Customer.get_by_id(row.customer_id)


def sign_up(rt: Runtime, number: str, text: str, person: Person, client: str) -> tuple[User, Customer]:
    """A new user with the customer number and code of a letter: the number's primary contact, paperless.

    A number and a code that do not belong together are refused as an unknown code, so that nobody learns
    which numbers exist; only the code's holder learns that the number already has an active contact.
    """
    ratelimit.hit(f"signup-ip:{client}", rt.config.limits.signups_per_ip_per_hour, HOUR, rt.now())
    row = _find(rt, text)
    if row.customer.number != number.strip().upper().replace(" ", ""):
        raise refused("unknown")
    person = person.checked()
    known = accounts.find_user(person.email)
    known = account_of(known) if known else None  # an address merged into another account signs that one up
    _check(rt, row, known)  # before any account is made for a refused sign-up
    user = known or accounts.ensure_user(rt, person)
    return user, _activate(rt, row, user, "signup")


def opt_out(rt: Runtime, user: User, customer: Customer) -> Customer:
    """Back to paper; the latest code (while valid) opts the number in again."""
    if customer.primary_user_id != user.id:
        raise PermissionDenied("only the primary contact can change how documents are delivered")
    if not customer.paperless:
        raise ValidationError(f"{customer.number} is not in electronic delivery", field="customer")
    with rt.db.atomic():
        return paperless.change(rt, customer, False, user.email, "portal", "activation.opt_out")
