"""The dedup key's Message-ID: the plain-ASCII fast path reads what the email parser reads."""

from __future__ import annotations

from email.utils import parseaddr

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailflow.inbound import store
from mailflow.inbound.store import _UNSURE, _header_block, _plain_message_id, normalized_message_id
from tests.support.header_blocks import header_blocks


def parsed(raw: bytes) -> str | None:
    """What the parser alone makes of `raw` (the path taken before the fast one existed)."""
    value = _header_block(raw).get("Message-ID")
    if not value:
        return None
    text = store._text("".join(str(value).split()))
    found = store._MSGID.search(text)
    return (f"<{found.group(1)}>" if found else text)[:998] or None


NAMES = st.sampled_from([b"Message-ID", b"message-id", b"MESSAGE-ID", b"Message-Id", b"X-Message-ID",
                         b"Subject", b"From", b"Received", b"Message-ID ", b" Message-ID", b"Message_ID"])
VALUE = st.binary(max_size=40) | st.sampled_from([b" <a@b>", b"<a@b>", b"", b" ", b"  <x y@z>  ", b" =?utf-8?q?x?="])


@settings(max_examples=3000, deadline=None)
@given(header_blocks(NAMES, VALUE))
def test_fast_path_agrees_with_the_parser(raw: bytes) -> None:
    assert normalized_message_id(raw) == parsed(raw)


@pytest.mark.parametrize("raw, expected", [
    (b"From: a@b\r\nMessage-ID: <one@example.be>\r\n\r\nbody", "<one@example.be>"),
    (b"message-id:\r\n  <folded@example.be>\r\nSubject: x\r\n\r\n", "<folded@example.be>"),
    (b"Message-ID: <first@x>\r\nMessage-ID: <second@x>\r\n\r\n", "<first@x>"),
    (b"X-Message-ID: <no@x>\r\n\r\n", None),
    (b"Subject: x\r\n\r\nMessage-ID: <in-body@x>\r\n", None),
])
def test_plain_blocks_take_the_fast_path(raw: bytes, expected: str | None) -> None:
    assert _plain_message_id(raw) is not _UNSURE
    assert normalized_message_id(raw) == expected == parsed(raw)


@pytest.mark.parametrize("raw", [
    b"From someone Mon Jan 1 00:00:00 2026\r\nMessage-ID: <mbox@x>\r\n\r\n",  # mbox separator line
    b"Subject: caf\xc3\xa9\r\nMessage-ID: <eight-bit@x>\r\n\r\n",
    b"not a header\r\nMessage-ID: <after-junk@x>\r\n\r\n",
    b"Message-ID: <bare-cr@x>\rSubject: x\r\n\r\n",
    b"Message-ID: <no-blank-line@x>",
])
def test_anything_else_is_left_to_the_parser(raw: bytes) -> None:
    assert _plain_message_id(raw) is _UNSURE
    assert normalized_message_id(raw) == parsed(raw)



ADDRESS_TEXT = st.text(alphabet=st.sampled_from(list('ab.Z <>@"(),;:\\[]-_ü')), max_size=30)


@settings(max_examples=3000, deadline=None)
@given(ADDRESS_TEXT)
def test_the_from_address_fast_path_agrees_with_parseaddr(value: str) -> None:
    text = " ".join(value.split())
    assert store._normal_address(value) == store._text(parseaddr(text)[1]).lower()


@pytest.mark.parametrize("value, expected", [
    ("Marie Dupont <Marie.Dupont@Example.be>", "marie.dupont@example.be"),
    ('"Dupont, Marie" <marie@example.be>', "marie@example.be"),  # a quoted name: parseaddr's own path
    ("marie@example.be (Marie)", "marie@example.be"),
    ("a@b, c@d", "a@b"),
])
def test_the_from_address_of_the_dedup_key(value: str, expected: str) -> None:
    assert store._normal_address(value) == expected
