"""Checks on input from people and back offices; each failure names the field and the reason."""

from __future__ import annotations

import re
from datetime import date

from email_validator import EmailNotValidError, validate_email

from mailflow.errors import ValidationError
from mailflow.models import FREQUENCIES, LANGUAGES

_ENTERPRISE = re.compile(r"^(?:BE)?\s*([01]\d{3})[.\s]?(\d{3})[.\s]?(\d{3})$")
_DOCUMENT_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9/_.-]{0,63}$")
_AMOUNT = re.compile(r"[0-9][0-9 .,]*")
_THOUSANDS = re.compile(r"[0-9]{1,3}(?:[ .,][0-9]{3})+|[0-9]+")  # 1234, or groups of three after one to three digits
_AMOUNT_CHARS = 32
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
    """Amount incl. VAT as exact cents, never negative: '1234.56', '1234,5', '1.234,56', '1,234.56', '1 234,56'.

    One separator followed by exactly three digits ('1,234', '1.234') could be thousands or decimals: it is
    refused rather than guessed, since a wrong guess is a factor of a thousand on someone's invoice.
    """
    text = value.strip().replace("\u00a0", " ").replace("\u202f", " ")  # French spaces between thousands
    if len(text) > _AMOUNT_CHARS:
        raise ValidationError(f"amount {value[:_AMOUNT_CHARS]!r}… is too long", field="amount")
    if text.startswith("-"):
        raise ValidationError(f"amount {value!r} must be zero or positive", field="amount")
    if not _AMOUNT.fullmatch(text):
        raise ValidationError(f"amount {value!r} is not a number", field="amount")
    whole, fraction = _split_decimals(text, value)
    if not _THOUSANDS.fullmatch(whole) or len(set(re.sub(r"[0-9]", "", whole))) > 1:
        raise ValidationError(f"amount {value!r} has misplaced thousands separators", field="amount")
    units = int(re.sub(r"[^0-9]", "", whole))
    if len(fraction) > 2 or units >= 10 ** 13:
        raise ValidationError(f"amount {value!r} must have at most 2 decimals and 13 digits", field="amount")
    return units * 100 + int(fraction.ljust(2, "0"))


def _split_decimals(text: str, value: str) -> tuple[str, str]:
    """(whole part with its thousands separators, decimal digits); the decimal mark is the last , or . unless
    that mark is repeated (then it separates thousands)."""
    marks = [ch for ch in text if ch in ".,"]
    if not marks or marks.count(marks[-1]) > 1:
        return text, ""
    whole, _, fraction = text.rpartition(marks[-1])
    if len(fraction) == 3 and len(set(marks)) == 1 and whole.isdigit() and not whole.startswith("0"):
        other = "," if marks[-1] == "." else "."
        raise ValidationError(f"amount {value!r} is ambiguous (thousands or decimals?): write its decimals too, "
                              f"e.g. {text}{other}00 if it means {whole}{fraction}", field="amount")
    if not fraction.isdigit():
        raise ValidationError(f"amount {value!r} is not a number", field="amount")
    return whole, fraction


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
