"""Input checks: enterprise numbers (mod 97), amounts as exact cents, addresses, types."""

from __future__ import annotations

import pytest

from mailflow import validation
from mailflow.errors import ValidationError


@pytest.mark.parametrize(("raw", "normalized"), [
    ("BE0403170701", "BE0403170701"), ("be 0403.170.701", "BE0403170701"), ("0403170701", "BE0403170701"),
    (None, None), ("", None)])
def test_enterprise_numbers(raw, normalized):
    assert validation.enterprise_number(raw) == normalized


@pytest.mark.parametrize("raw", ["BE0403170702", "BE2403170701", "BE04031707", "FR0403170701"])
def test_bad_enterprise_numbers(raw):
    with pytest.raises(ValidationError, match="enterprise number"):
        validation.enterprise_number(raw)


@pytest.mark.parametrize(("raw", "cents"), [
    ("1234.56", 123456), ("1234,5", 123450), ("0", 0), (" 7 ", 700), ("1.234,56", 123456), ("1,234.56", 123456),
    ("1234,56", 123456), ("1 234,56", 123456), ("1\u00a0234,56", 123456), ("1\u202f234,56", 123456),
    ("1234.5", 123450), ("1234", 123400), ("1.234.567", 123456700), ("1,234,567.89", 123456789),
    ("1 234 567.8", 123456780), ("0,05", 5), ("9999999999999.99", 999999999999999)])
def test_amounts_are_exact(raw, cents):
    assert validation.amount_cents(raw) == cents


@pytest.mark.parametrize(("raw", "reason"), [
    ("-1", "zero or positive"), ("abc", "not a number"), ("1.001", "ambiguous"), ("NaN", "not a number"),
    ("Infinity", "not a number"), ("1e20", "not a number"), ("+5", "not a number"), (".5", "not a number"),
    ("12.", "not a number"), ("1,2,3", "thousands separators"), ("12 34", "thousands separators"),
    ("1 234.567,89", "thousands separators"), ("1.23,45", "thousands separators"), ("0.123", "2 decimals"),
    ("1 234,567", "2 decimals"), ("10000000000000", "13 digits"), ("\u0661\u0662", "not a number"),
    ("9" * 5000, "too long")])
def test_bad_amounts(raw, reason):
    with pytest.raises(ValidationError, match=reason):
        validation.amount_cents(raw)


@pytest.mark.parametrize("raw", ["1,234", "1.234", "12,345", "999.000"])
def test_three_digits_after_the_only_separator_are_refused_not_guessed(raw):
    """Thousands or decimals? A factor of a thousand on an invoice is not worth a guess."""
    with pytest.raises(ValidationError, match="ambiguous") as refused:
        validation.amount_cents(raw)
    assert refused.value.field == "amount"


def test_addresses_are_one_account_whatever_the_case():
    assert validation.email_address(" Marie.Dupont@Example.BE ") == "marie.dupont@example.be"
    for bad in ("marie", "marie@", "a b@example.be", "marie@example..be"):
        with pytest.raises(ValidationError, match="invalid email address"):
            validation.email_address(bad)


def test_document_numbers_and_their_search_key():
    assert validation.document_number(" f2026-0042 ") == "F2026-0042"
    assert validation.number_key("#f2026 0042") == validation.number_key("F2026-0042") == "F20260042"
    with pytest.raises(ValidationError):
        validation.document_number("F2026\n0042")
