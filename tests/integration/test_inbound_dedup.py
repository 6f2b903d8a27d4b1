"""The dedup key is the Message-ID with the From address: another sender reusing a Message-ID is not a duplicate,
while the same message through any door, or retried, is kept once. The From header's fast path reads what the
email parser reads."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailflow.inbound import store
from mailflow.inbound.processing import InboundWorker
from mailflow.inbound.store import _UNSURE, _header_block, _plain_from, dedup_key, normalized_sender, store_raw
from tests.support.header_blocks import header_blocks
from tests.support.inbound import (  # noqa: F401 (inbound_smtp is a fixture)
    inbound_smtp, message, rows, send,
)


def parsed_key(raw: bytes) -> tuple[str, str | None]:
    """The dedup key as the email parser alone would make it (the path taken before the fast one)."""
    head = _header_block(raw)
    message_id, sender = store._normal_id(head.get("Message-ID")), store._normal_address(head.get("From"))
    if not message_id:
        return hashlib.sha256(raw).hexdigest(), None
    key = b"message-id:" + store._utf8(message_id) + b"\nfrom:" + store._utf8(sender)
    return hashlib.sha256(key).hexdigest(), message_id


NAMES = st.sampled_from([b"From", b"from", b"FROM", b"X-From", b"Reply-To", b"From ", b" From", b"Message-ID",
                         b"message-id", b"Subject"])
VALUE = st.binary(max_size=40) | st.sampled_from([
    b" Luc <Luc.Peeters@Example.BE>", b"luc@example.be", b' "Dupont, Marie" <m@x.be>', b" (comment) a@b",
    b" =?utf-8?q?Luc?= <luc@x>", b"", b" ", b" <>", b" a@b, c@d", b" group: a@b;", b" <a@b>", b" <x y@z>  ",
    b" Caf\xc3\xa9 <caf\xc3\xa9@x.be>"])


@settings(max_examples=3000, deadline=None)
@given(header_blocks(NAMES, VALUE))
def test_the_fast_path_makes_the_key_the_parser_makes(raw: bytes) -> None:
    assert dedup_key(raw) == parsed_key(raw)
    assert normalized_sender(raw) == store._normal_address(_header_block(raw).get("From"))


@pytest.mark.parametrize("raw, expected", [
    (b"From: Luc <Luc.Peeters@Example.BE>\r\nMessage-ID: <a@b>\r\n\r\nx", "luc.peeters@example.be"),
    (b"Message-ID: <a@b>\r\nfrom:\r\n  luc@example.be\r\n\r\n", "luc@example.be"),
    (b"From: a@x\r\nFrom: b@x\r\n\r\n", "a@x"),
    (b"Reply-To: r@x\r\nX-From: x@x\r\n\r\n", ""),
    (b"Subject: x\r\n\r\nFrom: in-body@x\r\n", ""),
])
def test_plain_blocks_read_the_from_address_on_the_fast_path(raw: bytes, expected: str) -> None:
    assert _plain_from(raw) is not _UNSURE
    assert normalized_sender(raw) == expected


def test_undecodable_from_addresses_stay_apart() -> None:
    one = b"From: caf\xe9@x.be\r\nMessage-ID: <same@x>\r\n\r\n"
    other = b"From: caf\xe8@x.be\r\nMessage-ID: <same@x>\r\n\r\n"
    assert dedup_key(one) != dedup_key(other)


def test_another_sender_reusing_a_message_id_is_not_a_duplicate(rt, inbound_smtp):
    first = message("marie.dupont@example.be", body="Bonjour", message_id="<reused@client.example>")
    genuine = message("luc.peeters@example.be", body="Ma vraie question", message_id="<reused@client.example>")
    answers = [send(inbound_smtp, raw) for raw in (first, genuine)]
    assert [answer.code for answer in answers] == [250, 250] and answers[0].text != answers[1].text
    assert [bytes(row.raw) for row in rows()] == [first, genuine]
    assert sum(InboundWorker(rt).flush().values()) == 2  # both acted on
    assert all(row.status != "received" for row in rows())


def test_the_same_message_sent_twice_or_through_another_door_is_kept_once(rt, inbound_smtp):
    raw = message("Luc <Luc.Peeters@Example.BE>", message_id="<once@client.example>")
    polled = store_raw(rt, raw, "imap")  # the support mailbox got it too
    answers = [send(inbound_smtp, raw), send(inbound_smtp, raw)]
    assert {answer.text for answer in answers} == {f"2.0.0 Stored as {polled.id}"}
    assert len(rows()) == 1
