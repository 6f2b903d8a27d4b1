"""Turns a rendered mail into RFC 5322 bytes with mailflow's headers (Reply-To token, List-Unsubscribe…).

The MIME structure is written out directly from encoded parts: bodies quoted-printable or base64 by
binascii (in C), header text literal when it is plain ASCII and RFC 2047-encoded and folded by
`email.header` otherwise. `EmailMessage` with the default policy built the same message some twenty
times slower (it parses every header it is given and re-folds it), which was most of a digest run.
"""

from __future__ import annotations

import base64
import binascii
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from email.charset import QP, Charset
from email.header import Header
from email.utils import encode_rfc2231, format_datetime, formataddr, quote

from mailflow.outbound.renderer import Rendered

CRLF = "\r\n"
UTF8_Q = Charset("utf-8")
UTF8_Q.header_encoding = QP  # readable in the raw message, and no length comparison with base64 per header
UTF8_SHORTEST = Charset("utf-8")  # quoted-printable or base64, whichever is shorter
_UUID_BITS = 0xF000 << 64 | 0xC000 << 48  # the version nibble and the variant's two bits
_UUID7 = 0x7000 << 64 | 0x8000 << 48  # version 7 (RFC 9562), RFC 4122 variant
MAX_HEADER_LINE = 998  # RFC 5322; List-Unsubscribe must stay literal, so no folding below this


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "pdf"
    content_id: str = ""  # set: shown inside the HTML part (cid:…), in a multipart/related beside it


@dataclass(frozen=True)
class Envelope:
    """Everything about a mail that is not its rendered content."""

    to_address: str
    to_name: str
    language: str
    reply_token: str
    unsubscribe_token: str | None = None
    auto_submitted: str = "auto-generated"
    in_reply_to: str | None = None
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)
    inline: tuple[Attachment, ...] = ()  # images the HTML shows by Content-ID (an issuer's logo): no remote images


@dataclass(frozen=True)
class Sender:
    from_address: str
    from_name: str
    reply_domain: str
    base_url: str


@dataclass(frozen=True)
class Part:
    """A MIME entity already encoded: its Content-* header lines and its body bytes."""

    headers: tuple[str, ...]
    body: bytes

    def head(self) -> bytes:
        return (CRLF.join(self.headers) + CRLF + CRLF).encode("ascii")


def new_message_id(domain: str) -> str:
    """`<uuid7 hex@domain>`: milliseconds since 1970, then 74 random bits (RFC 9562 version 7).

    Time-ordered so the outbox's unique index on it grows at its end: with random ids every new mail
    wrote into a random page of an index that, at digest scale, no longer stays in the cache.
    """
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
    return f"<{value & ~_UUID_BITS | _UUID7:032x}@{domain}>"


NO_BREAK = frozenset("\u00a0\u202f")  # French puts one before a colon: "Votre résumé quotidien : …"


def one_line(value: str) -> str:
    """Header text from user data: CR, LF and other controls would let it inject headers. No-break spaces stay."""
    if not value.isprintable():
        value = "".join(ch if ch.isprintable() or ch in NO_BREAK else " " for ch in value)
    return " ".join(filter(None, value.split(" ")))


def compose(sender: Sender, envelope: Envelope, rendered: Rendered, message_id: str, now: datetime) -> bytes:
    html = text_part(rendered.html, "html")
    if envelope.inline:
        html = multipart("related", (html, *map(attachment_part, envelope.inline)))
    content = multipart("alternative", (text_part(rendered.text, "plain"), html))
    if envelope.attachments:
        content = multipart("mixed", (content, *map(attachment_part, envelope.attachments)))
    lines = [*_address_headers(sender, envelope), header("Subject", one_line(rendered.subject)),
             header("Date", _date(now.replace(microsecond=0))), header("Message-ID", message_id),
             header("Auto-Submitted", envelope.auto_submitted), *_threading_headers(envelope),
             *_unsubscribe_headers(sender, envelope), "MIME-Version: 1.0", *content.headers,
             header("Content-Language", envelope.language)]
    return (CRLF.join(lines) + CRLF + CRLF).encode("ascii") + content.body


@lru_cache(maxsize=4)
def _date(now: datetime) -> str:
    return format_datetime(now)  # some 8 µs; the same second for many mails in a row


def header(name: str, value: str) -> str:
    """One header field; text that is not printable ASCII is RFC 2047-encoded, folded if long."""
    if not value.isprintable():
        value = one_line(value)
    if not value.isascii():
        return f"{name}: {encoded_words(value, name)}"
    if len(name) + len(value) + 2 > MAX_HEADER_LINE:
        return f"{name}: {Header(value, header_name=name).encode(linesep=CRLF)}"
    return f"{name}: {value}"


def encoded_words(text: str, name: str = "") -> str:
    """RFC 2047 Q-encoding: one word when it fits in 75 characters (nearly always), else split and folded.

    `Header.encode` searches for split points byte by byte, some 60 µs even for a short subject.
    """
    word = UTF8_Q.header_encode(text)
    if len(word) <= 75:
        return word
    return Header(text, "utf-8", header_name=name).encode(linesep=CRLF)


def address_header(name: str, display_name: str, email: str) -> str:
    """`Name: Display Name <email>`, the name quoted or RFC 2047-encoded as it needs; the address is ASCII."""
    display_name = one_line(display_name)
    if display_name.isascii():
        return f"{name}: {formataddr((display_name, email))}"  # quotes a name with specials
    return f"{name}: {_one_word(display_name)} <{email}>"


def _one_word(text: str) -> str:
    """A name as one encoded word, however long (up to the 998 limit): the email package reads several
    adjacent words in an address with spaces between them."""
    word = UTF8_Q.header_encode(text)
    return word if len(word) <= 75 else UTF8_SHORTEST.header_encode(text)


def _address_headers(sender: Sender, envelope: Envelope) -> list[str]:
    return [_from_header(sender), address_header("To", envelope.to_name, envelope.to_address),
            header("Reply-To", f"reply+{envelope.reply_token}@{sender.reply_domain}")]


@lru_cache(maxsize=8)
def _from_header(sender: Sender) -> str:
    return address_header("From", sender.from_name, sender.from_address)  # the same in every mail, 2 µs each


def _threading_headers(envelope: Envelope) -> list[str]:
    if not envelope.in_reply_to:
        return []
    return [header("In-Reply-To", envelope.in_reply_to), header("References", envelope.in_reply_to)]


def _unsubscribe_headers(sender: Sender, envelope: Envelope) -> list[str]:
    # RFC 8058: the https form is POSTed by the mailbox provider; the mailto form reaches the STOP command.
    token = envelope.unsubscribe_token
    if not token:
        return []
    return [header("List-Unsubscribe", f"<{sender.base_url.rstrip('/')}/unsubscribe/{token}>, "
                                       f"<mailto:reply+{token}@{sender.reply_domain}?subject=STOP>"),
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click"]


def text_part(text: str, subtype: str) -> Part:
    # The HTML part repeats the layout's long lines in every mail; the text part is short and mostly data.
    text = text if text.endswith("\n") else text + "\n"  # as the email package does: a part ends its last line
    return Part((f'Content-Type: text/{subtype}; charset="utf-8"', "Content-Transfer-Encoding: quoted-printable"),
                quoted_printable(text, reuse_lines=subtype == "html"))


def quoted_printable(text: str, reuse_lines: bool = False) -> bytes:
    """Quoted-printable with CRLF line ends.

    With `reuse_lines` each line is encoded apart and remembered: lines encode independently, and most lines
    of an MJML page are the same in every mail, so binascii's byte-by-byte loop (some 7 µs a kilobyte) runs
    only on the lines that carry data.
    """
    data = text.encode("utf-8")
    if b"\r" in data:  # any line end becomes CRLF; a bare CR must not reach SMTP
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if not reuse_lines:
        return _encode_qp(data)
    return b"\r\n".join(map(_encode_qp_line, data.split(b"\n")))


def _encode_qp(data: bytes) -> bytes:
    return binascii.b2a_qp(data, quotetabs=False, istext=True).replace(b"\n", b"\r\n")


_encode_qp_line = lru_cache(maxsize=4096)(_encode_qp)


def attachment_part(item: Attachment) -> Part:
    encoded = base64.encodebytes(item.content).replace(b"\n", b"\r\n")
    placed = (f"Content-ID: <{item.content_id}>", f"Content-Disposition: inline; {_filename(item.filename)}")
    return Part((f"Content-Type: {item.maintype}/{item.subtype}", "Content-Transfer-Encoding: base64",
                 *(placed if item.content_id else (f"Content-Disposition: attachment; {_filename(item.filename)}",))),
                encoded)


def _filename(name: str) -> str:
    name = one_line(name)
    if name.isascii():
        return f'filename="{quote(name)}"'
    return f"filename*={encode_rfc2231(name, 'utf-8')}"  # RFC 2231: percent-encoded UTF-8


def multipart(subtype: str, parts: tuple[Part, ...]) -> Part:
    # "=_" occurs in no quoted-printable or base64 body, so a boundary starting with it never needs to be random
    boundary = f"=_{subtype}"
    delimiter = f"--{boundary}\r\n".encode("ascii")
    # joined once: adding the pieces up one by one copied the HTML part's ten kilobytes five times
    pieces = [piece for part in parts for piece in (delimiter, part.head(), part.body, b"\r\n")]
    body = b"".join([*pieces, f"--{boundary}--\r\n".encode("ascii")])
    return Part((f'Content-Type: multipart/{subtype}; boundary="{boundary}"',), body)
