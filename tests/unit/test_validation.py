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


@pytest.mark.parametrize(("raw", "cents"), [("1234.56", 123456), ("1234,5", 123450), ("0", 0), (" 7 ", 700)])
def test_amounts_are_exact(raw, cents):
    assert validation.amount_cents(raw) == cents


@pytest.mark.parametrize("raw", ["-1", "abc", "1.001", "NaN", "Infinity", "1e20", "1 234,56"])
def test_bad_amounts(raw):
    with pytest.raises(ValidationError):
        validation.amount_cents(raw)


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
