"""Hypothesis strategies for hostile inbound mail: broken MIME trees, bogus charsets and encodings, header
injection through CR/LF and encoded words, NULs and enormous lines."""

from __future__ import annotations

import base64
import quopri
from dataclasses import dataclass

from hypothesis import strategies as st

SUPPORT = "support@reply.mailflow.example"
MARIE = "marie.dupont@example.be"

CHARSETS = ("utf-8", "us-ascii", "iso-8859-1", "windows-1252", "koi8-r", "shift_jis", "iso-2022-jp", "utf-16",
            "utf-7", "x-unknown-charset", "", "utf-8'fr'", '"broken', "unknown-8bit", "cp65001")
TEXT_TYPES = ("text/plain", "text/html", "text/enriched", "text/x-bogus", "text", "application/octet-stream")
ENCODINGS = ("7bit", "8bit", "binary", "base64", "quoted-printable", "x-uuencode", "bogus",
             "base64 (broken)", "quoted-printable (broken)")
MULTIPARTS = ("mixed", "alternative", "related", "report; report-type=delivery-status", "signed", "digest")
BOUNDARIES = ("b", "==b==", "b1", "x y", "")  # few on purpose: nested parts reuse each other's boundaries
COMMANDS = ("", "AIDE", "HELP", "STOP", "HEBDOMADAIRE", "DUPLICATA F2026-0042", "LOGIN", "RENVOYER", "> STOP")
INJECTIONS = (
    "", "\r\nBcc: victim@attacker.example", "\nX-Injected: yes", "\rX-Injected: yes", "\x00",
    "=?utf-8?b?" + base64.b64encode(b"hi\r\nBcc: victim@attacker.example").decode() + "?=",
    "=?utf-8?q?hi=0D=0AX-Injected:_yes?=", "=?bogus?q?x=0Ay?=", "\r\n\tfolded on", "%0d%0aX-Injected: yes",
)
HUGE_LINE = b"A" * 1_000_000  # one megabyte without a line break


def header_text() -> st.SearchStrategy[str]:
    """Header text with CR, LF, NUL or encoded words carrying them, somewhere in it."""
    return st.tuples(st.text(max_size=30), st.sampled_from(INJECTIONS), st.text(max_size=15)).map("".join)


def body_bytes() -> st.SearchStrategy[bytes]:
    command_text = st.tuples(st.sampled_from(COMMANDS), st.text(max_size=120)).map(lambda t: f"{t[0]}\n{t[1]}")
    return st.one_of(command_text.map(lambda text: text.encode("utf-8")),
                     command_text.map(lambda text: text.encode("latin-1", "replace")),
                     st.binary(max_size=300))


def _encoded(body: bytes, encoding: str) -> bytes:
    if encoding == "base64":
        return base64.encodebytes(body)
    if encoding == "base64 (broken)":
        return base64.encodebytes(body)[:-3] + b"!!*not base64*"
    if encoding == "quoted-printable":
        return quopri.encodestring(body)
    if encoding == "quoted-printable (broken)":
        return body + b"=ZZ=\r\n=4"
    return body


def text_part(ctype: str, charset: str, encoding: str, body: bytes, attached: bool) -> bytes:
    declared = encoding.split(" ")[0]
    head = f'Content-Type: {ctype}; charset="{charset}"\r\nContent-Transfer-Encoding: {declared}\r\n'
    if attached:
        head += 'Content-Disposition: attachment; filename="scan.txt"\r\n'
    return head.encode() + b"\r\n" + _encoded(body, encoding)


def _status_part(recipient: str, status: str, action: str) -> bytes:
    return (f"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.be\r\n\r\n"
            f"Final-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n"
            f"Diagnostic-Code: smtp; 550 {status} unknown user\r\n").encode("utf-8", "surrogateescape")


def _multipart(subtype: str, parts: list[bytes], boundary: str, closed: bool) -> bytes:
    head = f"Content-Type: multipart/{subtype}" + (f'; boundary="{boundary}"' if boundary else "") + "\r\n\r\n"
    mark = b"--" + boundary.encode()
    body = b"preamble\r\n" + b"".join(mark + b"\r\n" + part + b"\r\n" for part in parts)
    return head.encode() + body + (mark + b"--\r\n" if closed else b"")


def _embedded(subject: str, inner: bytes) -> bytes:
    head = f"Content-Type: message/rfc822\r\n\r\nFrom: someone@else.example\r\nSubject: {subject}\r\n"
    return head.encode("utf-8", "surrogateescape") + inner


def leaves() -> st.SearchStrategy[bytes]:
    text = st.builds(text_part, st.sampled_from(TEXT_TYPES), st.sampled_from(CHARSETS),
                     st.sampled_from(ENCODINGS), body_bytes(), st.booleans())
    status = st.builds(_status_part, st.sampled_from((MARIE, "nobody@example.org", "", "<>\r\nX: y")),
                       st.sampled_from(("5.1.1", "4.2.2", "2.0.0", "x.y.z", "")),
                       st.sampled_from(("failed", "delayed", "relayed", "")))
    return st.one_of(text, status)


def mime_trees() -> st.SearchStrategy[bytes]:
    """Nested multiparts and embedded messages, down to text and delivery-status leaves."""
    def branches(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
        multipart = st.builds(_multipart, st.sampled_from(MULTIPARTS), st.lists(children, max_size=4),
                              st.sampled_from(BOUNDARIES), st.booleans())
        return st.one_of(multipart, st.builds(_embedded, header_text(), children))
    return st.recursive(leaves(), branches, max_leaves=8)


@dataclass(frozen=True)
class HostileMail:
    """One message with its envelope; the reply and bounce addresses are filled in from the test's database."""

    from_header: str | None
    to: str  # "support", "reply", "bounces" or header text
    subject: str
    message_id_tail: str  # inside a unique Message-ID, after its serial: injections ride on it
    extra: tuple[str, ...]
    tree: bytes
    envelope_from: str | None

    def raw(self, serial: int, addresses: dict[str, str]) -> bytes:
        to = addresses.get(self.to, self.to)
        lines = [f"From: {self.from_header}" if self.from_header is not None else "", f"To: {to}",
                 f"Subject: {self.subject}", f"Message-ID: <hostile-{serial}.{self.message_id_tail}@client.example>",
                 *self.extra, "MIME-Version: 1.0"]
        head = "".join(line + "\r\n" for line in lines if line)
        return head.encode("utf-8", "surrogateescape") + self.tree

    def envelope_to(self, addresses: dict[str, str]) -> list[str]:
        return [addresses.get(self.to, SUPPORT)]


def hostile_mails() -> st.SearchStrategy[HostileMail]:
    sender = st.one_of(st.sampled_from((MARIE, f"Marie <{MARIE.upper()}>", None, "")),
                       header_text().map(lambda name: f"{name} <{MARIE}>"), header_text())
    to = st.one_of(st.sampled_from(("support", "reply", "bounces")), header_text())
    extra = st.lists(st.sampled_from(("Auto-Submitted: auto-replied", "List-Id: <news.example>",
                                      "Precedence: bulk", "In-Reply-To: <nothing@portal.example>",
                                      "X-Auto-Response-Suppress: All", "Content-Type: text/plain")),
                     max_size=2, unique=True).map(tuple)
    # No angle brackets in the Message-ID's tail: an inner <id> would be taken as the id and make examples resends.
    id_tail = header_text().map(lambda text: text.replace("<", "").replace(">", ""))
    return st.builds(HostileMail, sender, to, header_text(), id_tail, extra, mime_trees(),
                     st.sampled_from((MARIE, "", "MAILER-DAEMON@mx.example.be", None)))
