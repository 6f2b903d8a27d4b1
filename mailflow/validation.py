"""Checks on input from people and back offices; each failure names the field and the reason."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from email_validator import EmailNotValidError, validate_email

from mailflow.errors import ValidationError
from mailflow.models import FREQUENCIES, LANGUAGES

_ENTERPRISE = re.compile(r"^(?:BE)?\s*([01]\d{3})[.\s]?(\d{3})[.\s]?(\d{3})$")
_DOCUMENT_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9/_.-]{0,63}$")
TYPE_ALIASES = {"invoice": "invoice", "credit_note": "credit_note", "credit-note": "credit_note",
                "creditnote": "credit_note", "credit note": "credit_note"}


def email_address(value: str, field: str = "email") -> str:
    """Normalized (lower-case) address; one account per address whatever its case."""
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError(f"invalid email address {value!r}: {exc}", field=field) from None
    return result.normalized.lower()


def enterprise_number(value: str | None) -> str | None:
    """Belgian enterprise number as BE0xxxxxxxxx, checked with mod 97."""
    if not value:
        return None
    match = _ENTERPRISE.match(value.strip().upper())
    digits = "".join(match.groups()) if match else ""
    if not match or 97 - int(digits[:8]) % 97 != int(digits[8:]):
        raise ValidationError(f"invalid enterprise number {value!r} (expected BE0 followed by 9 digits "
                              "passing the mod-97 check)", field="enterprise_number")
    return f"BE{digits}"


def language(value: str) -> str:
    return _one_of(value, LANGUAGES, "language", "unsupported language")


def frequency(value: str) -> str:
    return _one_of(value, FREQUENCIES, "frequency", "unknown frequency")


def _one_of(value: str, allowed: tuple[str, ...], field: str, problem: str) -> str:
    code = value.strip().lower()
    if code not in allowed:
        raise ValidationError(f"{problem} {value!r} (use one of {', '.join(allowed)})", field=field)
    return code


def document_type(value: str) -> str:
    code = TYPE_ALIASES.get(value.strip().lower())
    if code is None:
        raise ValidationError(f"unknown document type {value!r} (use invoice or credit_note)", field="type")
    return code


def amount_cents(value: str) -> int:
    """Amount incl. VAT as exact cents; '1234.56' or '1234,56', never negative."""
    text = value.strip().replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValidationError(f"amount {value!r} is not a number", field="amount") from None
    if not amount.is_finite() or amount < 0:
        raise ValidationError(f"amount {value!r} must be zero or positive", field="amount")
    if amount.as_tuple().exponent < -2 or amount >= Decimal("1e13"):
        raise ValidationError(f"amount {value!r} must have at most 2 decimals and 13 digits", field="amount")
    return int(amount * 100)


def iso_date(value: str, field: str = "date") -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(f"{field} {value!r} is not a date (YYYY-MM-DD)", field=field) from None


def document_number(value: str) -> str:
    number = value.strip().upper()
    if not _DOCUMENT_NUMBER.match(number):
        raise ValidationError(f"invalid document number {value!r}", field="number")
    return number


def name(value: str | None, field: str) -> str:
    text = " ".join((value or "").split())
    if len(text) > 100 or any(not ch.isprintable() for ch in text):
        raise ValidationError(f"{field} is too long or has control characters", field=field)
    return text


def number_key(value: str) -> str:
    """Search key of a document number: upper-case letters and digits only."""
    return re.sub(r"[^A-Z0-9]", "", value.upper())
