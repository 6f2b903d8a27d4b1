"""Reply and VERP tokens: compact, case-proof, verifiable without the database, unforgeable."""

from __future__ import annotations

import base64
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailflow.errors import TokenError
from mailflow.signing import Signer, _b32, _unb32, token_from_address

TODAY = date(2026, 11, 2)


def test_reply_token_round_trips_and_fits_an_address_local_part():
    signer = Signer(b"secret")
    token = signer.reply_token(42, 7, "notice", date(2027, 1, 1))
    assert len(f"reply+{token}") <= 64
    claim = signer.read_reply_token(token.upper(), TODAY)
    assert (claim.user_id, claim.customer_id, claim.purpose) == (42, 7, "notice")


def test_forged_expired_and_foreign_tokens_are_refused():
    signer = Signer(b"secret")
    token = signer.reply_token(42, 7, "notice", date(2026, 11, 1))
    with pytest.raises(TokenError) as expired:
        signer.read_reply_token(token, TODAY)
    assert expired.value.reason == "expired"
    good = signer.reply_token(42, 7, "notice", date(2027, 1, 1))
    tampered = good[:-2] + ("aa" if good[-2:] != "aa" else "bb")
    for bad in (tampered, Signer(b"other").reply_token(42, 7, "notice", date(2027, 1, 1)), "", "!!!", "a" * 34):
        with pytest.raises(TokenError):
            signer.read_reply_token(bad, TODAY)


def test_verp_token_names_the_outbox_row_and_cannot_be_guessed():
    signer = Signer(b"secret")
    token = signer.verp_token(123456)
    assert signer.read_verp_token(token) == 123456
    with pytest.raises(TokenError):
        Signer(b"other").read_verp_token(token)


@given(st.binary(max_size=64))
def test_base32_is_the_standard_alphabet_in_lower_case_without_padding(raw):
    assert _b32(raw) == base64.b32encode(raw).decode().rstrip("=").lower()
    assert _unb32(_b32(raw)) == raw
    assert _unb32(_b32(raw).upper()) == raw


@pytest.mark.parametrize(("address", "expected"), [
    ("reply+abc@reply.example", "abc"), ("<REPLY+abc@reply.example>", "abc"), ("bounces+abc@x", None),
    ("reply@reply.example", None), ("reply+@x", None), ("someone@example.be", None)])
def test_token_from_address(address, expected):
    assert token_from_address(address, "reply") == expected


@given(st.integers(1, 2**31), st.integers(0, 2**31), st.sampled_from(["notice", "answer", "login"]))
def test_a_reply_token_has_one_spelling_only(user_id, customer_id, purpose):
    """base32's spare bits in the last character must not give a second, equally valid spelling."""
    signer = Signer(b"secret")
    token = signer.reply_token(user_id, customer_id, purpose, date(2027, 1, 1))
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    variants = [token[:-1] + c for c in alphabet if c != token[-1]]
    assert signer.read_reply_token(token, TODAY).user_id == user_id
    for variant in variants:
        with pytest.raises(TokenError):
            signer.read_reply_token(variant, TODAY)


def test_a_verp_token_has_one_spelling_only():
    signer = Signer(b"secret")
    token = signer.verp_token(4242)
    for variant in (token[:-1] + c for c in "abcdefghijklmnopqrstuvwxyz234567" if c != token[-1]):
        with pytest.raises(TokenError):
            signer.read_verp_token(variant)
