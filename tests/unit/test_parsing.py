"""Parsing inbound bytes: decoded fields, tolerated breakage, and never an exception."""

from __future__ import annotations

from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailflow.inbound.classification import classify
from mailflow.inbound.command_parser import find_commands
from mailflow.inbound.parsing import html_to_text, parse_address, parse_message
from mailflow.inbound.trimming import trim_reply

FRENCH_OUTLOOK_REPLY = (
    "From: =?utf-8?q?Jean_Dupr=C3=A9?= <Jean.Dupre@Client.example>\r\n"
    "To: Portail <reply+abc@reply.example.com>, compta@client.example\r\n"
    "Cc: Other <other@client.example>\r\n"
    "Subject: =?utf-8?q?RE=C2=A0=3A_Nouvelle_facture_disponible?=\r\n"
    "Date: Mon, 2 Nov 2026 10:05:00 +0100\r\n"
    "Message-ID: <reply-1@client.example>\r\n"
    "In-Reply-To: <notice-42@portal.example.com>\r\n"
    "References: <first@portal.example.com>\r\n <notice-42@portal.example.com>\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: multipart/alternative; boundary="b1"\r\n'
    "\r\n"
    "--b1\r\n"
    'Content-Type: text/plain; charset="utf-8"\r\n'
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "DUPLICATA F2026-0042\r\n"
    "\r\n"
    "De : Portail <noreply@portal.example.com>\r\n"
    "Envoy=C3=A9 : lundi 2 novembre 2026 10:00\r\n"
    "=C3=80 : Jean Dupr=C3=A9 <jean.dupre@client.example>\r\n"
    "Objet : Nouvelle facture disponible\r\n"
    "\r\n"
    "Bonjour,\r\n"
    "--b1\r\n"
    'Content-Type: text/html; charset="utf-8"\r\n'
    "\r\n"
    "<html><body><p>DUPLICATA F2026-0042</p></body></html>\r\n"
    "--b1--\r\n"
).encode("ascii")


def test_reads_the_headers_of_a_french_outlook_reply() -> None:
    msg = parse_message(FRENCH_OUTLOOK_REPLY)
    assert msg.from_addr == "jean.dupre@client.example"
    assert msg.from_name == "Jean Dupré"
    assert msg.subject == "RE\u00a0: Nouvelle facture disponible"
    assert msg.message_id == "reply-1@client.example"
    assert msg.in_reply_to == "notice-42@portal.example.com"
    assert msg.references == ["first@portal.example.com", "notice-42@portal.example.com"]
    assert msg.date == datetime.fromisoformat("2026-11-02T10:05:00+01:00")
    assert msg.to_addrs == ["reply+abc@reply.example.com", "compta@client.example", "other@client.example"]


def test_prefers_the_plain_part_and_keeps_the_html() -> None:
    msg = parse_message(FRENCH_OUTLOOK_REPLY)
    assert msg.text.startswith("DUPLICATA F2026-0042\n\nDe : Portail")
    assert "Envoyé : lundi" in msg.text
    assert "\r" not in msg.text
    assert msg.html is not None and "<p>DUPLICATA" in msg.html


def test_headers_are_case_insensitive_and_keep_repeats() -> None:
    msg = parse_message(b"Received: one\nreceived: two\nX-Thing: =?utf-8?b?w6k=?=\n\nbody")
    assert msg.headers["RECEIVED"] == "one"
    assert msg.headers.get_all("Received") == ["one", "two"]
    assert msg.headers.get("x-thing") == "é"
    assert "x-THING" in msg.headers
    assert msg.headers.get("missing") is None


def test_header_values_never_carry_line_breaks() -> None:
    msg = parse_message(b"Subject: =?utf-8?q?hello=0D=0ABcc:_victim@example.com?=\n\nbody")
    assert "\n" not in msg.subject and "\r" not in msg.subject
    assert msg.subject.startswith("hello")


def test_malformed_mime_keeps_the_body_and_reports_defects() -> None:
    raw = b"From: a@example.com\nContent-Type: multipart/mixed\n\nno boundary was declared\n"
    msg = parse_message(raw)
    assert "no boundary was declared" in msg.text
    assert msg.defects


def test_bogus_charset_is_decoded_anyway_and_noted() -> None:
    raw = (
        b"Subject: =?x-unknown?q?caf=E9?=\n"
        b"Content-Type: text/plain; charset=x-unknown\n\n"
        b"caf\xc3\xa9 cr\xc3\xa8me\n"
    )
    msg = parse_message(raw)
    assert msg.text == "café crème\n"
    assert msg.subject == "café"
    assert any("x-unknown" in d for d in msg.defects)


def test_japanese_bytes_under_a_wrong_label_are_recovered() -> None:
    raw = "Content-Type: text/plain; charset=iso-2022-jp\n\n".encode() + "日本語のテキスト".encode("shift_jis")
    msg = parse_message(raw)
    assert msg.text == "日本語のテキスト"
    assert any("iso-2022-jp" in d for d in msg.defects)


def test_eight_bit_bytes_without_charset() -> None:
    assert parse_message(b"Subject: x\n\nna\xc3\xafve").text == "naïve"
    assert parse_message(b"Subject: x\n\nna\xefve").text == "naïve"  # cp1252/latin-1 when not UTF-8


def test_html_only_mail_gets_text_with_line_structure() -> None:
    raw = (
        b"Content-Type: text/html; charset=utf-8\n\n"
        b"<html><head><style>p{color:red}</style></head><body>"
        b"<div>WEEKLY</div><div><br></div><div>Thanks &amp; regards</div>"
        b"<div class=gmail_quote>On Mon, Portal wrote:<br>"
        b"<blockquote><p>Your invoice</p></blockquote></div></body></html>"
    )
    msg = parse_message(raw)
    assert msg.html is not None
    assert msg.text == "WEEKLY\n\nThanks & regards\nOn Mon, Portal wrote:\n> Your invoice"


def test_html_to_text_renders_rules_lists_and_pre() -> None:
    text = html_to_text("<p>a</p><hr><ul><li>one</li><li>two</li></ul><pre>  x\n  y</pre>")
    assert text.split("\n") == ["a", "_" * 32, "- one", "- two", "  x", "  y"]


def test_empty_and_degenerate_inputs() -> None:
    for raw in (b"", b"\n", b"Subject: only headers\n", b"\x00\x01\x02", b"\r\r\r"):
        msg = parse_message(raw)
        assert isinstance(msg.text, str) and isinstance(msg.subject, str)
    assert parse_message(b"Subject: x\n\n").text == ""


def test_nul_bytes_and_bare_carriage_returns() -> None:
    msg = parse_message(b"Subject: a\x00b\r\rline one\rline\x00 two\r")
    assert "\x00" not in msg.text and "\x00" not in msg.subject
    assert "line one\nline two" in msg.text


def test_attachments_are_not_the_body() -> None:
    raw = (
        b'Content-Type: multipart/mixed; boundary="x"\n\n'
        b'--x\nContent-Type: text/plain; name="a.txt"\nContent-Disposition: attachment\n\nattached\n'
        b"--x\nContent-Type: text/plain\n\nthe body\n--x--\n"
    )
    assert parse_message(raw).text.strip() == "the body"


def test_large_message_is_parsed() -> None:
    raw = b"Subject: big\nContent-Type: text/plain\n\n" + b"x" * 76 + b"\n"
    raw += (b"y" * 76 + b"\n") * 270_000  # about 20 MB
    msg = parse_message(raw)
    # Lines that could be base64 are read from their beginning only: what mailflow reads is never that deep.
    assert msg.text.startswith("x" * 76 + "\n" + "y" * 76) and 100_000 < len(msg.text) < 1_000_000
    assert "1 large base64 part(s) read from their beginning only" in msg.defects


def test_a_20_mib_attachment_is_read_in_bounded_memory_and_what_follows_it_still_counts() -> None:
    import base64  # noqa: PLC0415
    import tracemalloc  # noqa: PLC0415
    pdf = b"".join(base64.b64encode(bytes([n % 256]) * 57) + b"\r\n" for n in range(13_000)) * 20
    raw = (b'From: a@example.be\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
           b"--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n" + pdf +
           b"--b\r\nContent-Type: text/plain\r\n\r\nDUPLICATA F2026-0042\r\n--b--\r\n")
    tracemalloc.start()
    try:
        msg = parse_message(raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20, f"{peak / 2**20:.0f} MiB to read a {len(raw) / 2**20:.0f} MiB message"
    assert msg.text.strip() == "DUPLICATA F2026-0042"


def test_parse_address() -> None:
    assert parse_address("Jean <Jean.Dupre@Example.COM>") == "jean.dupre@example.com"
    assert parse_address("bounces+Tok@x.example") == "bounces+tok@x.example"
    assert parse_address("x@y.example (comment)") == "x@y.example"
    assert parse_address("<>") is None
    assert parse_address("not an address") is None
    assert parse_address(None) is None
    assert parse_address("=?utf-8?q?D=C3=A9?= <d@e.example>") == "d@e.example"


def _pipeline(raw: bytes) -> None:
    msg = parse_message(raw)
    classify(msg, envelope_from="")
    classify(msg, envelope_from=None)
    reply = trim_reply(msg.text)
    find_commands(msg.subject, reply)


_FUZZ = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(st.binary(max_size=4000))
def test_pipeline_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    _pipeline(raw)


_HEADER_NAMES = st.sampled_from(
    ["From", "To", "Subject", "Message-ID", "In-Reply-To", "References", "Date", "Content-Type",
     "Content-Transfer-Encoding", "Auto-Submitted", "Precedence", "Return-Path", "Reply-To"]
)
_INJECTED = st.lists(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20)
    | st.sampled_from(["\r", "\n", "\r\n", "\n ", ":", "=?utf-8?q?", "=?x-bogus?b?", "?=", "<>", "\x00", "\xff"]),
    max_size=12,
).map("".join)


@_FUZZ
@given(st.lists(st.tuples(_HEADER_NAMES, _INJECTED), max_size=8), st.text(max_size=500))
def test_pipeline_never_raises_on_hostile_header_values(headers: list[tuple[str, str]], body: str) -> None:
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    raw = (head + "\r\n" + body).encode("utf-8", "surrogatepass")
    _pipeline(raw)
    msg = parse_message(raw)
    assert all("\n" not in v and "\r" not in v for _, v in msg.headers.items_in_order())
