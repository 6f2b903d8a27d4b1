"""The composer writes MIME itself: what it writes must parse back to the same headers, parts and text as
the email package's own EmailMessage would have made, stay within SMTP's line rules, and let no data add
a header."""

from __future__ import annotations

import quopri
import re
import time
import uuid
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage

from hypothesis import given
from hypothesis import strategies as st

from mailflow.outbound.composer import Attachment, Envelope, Sender, compose, new_message_id, quoted_printable
from mailflow.outbound.renderer import Rendered

SENDER = Sender("documents@mailflow.example", "Lease Services", "reply.mailflow.example", "https://portal.example/")
NOW = datetime(2026, 11, 3, 6, 0, 12, 345, tzinfo=timezone.utc)
TEXT = ("Bonjour Zoë,\n\n- facture F-1, 2 novembre 2026, 1\u202f234,56\xa0€\n" + "long line = " * 12 + "\n"
        "trailing space \n\ttab\n.\nFrom here\n")
HTML = "<p>Bonjour Zoë</p>\n" + '<td style="a:b">x</td>' * 60 + "\n<p>=3D</p>"
SUBJECT = "Votre résumé quotidien : 2 novembre 2026"


def envelope(**changes: object) -> Envelope:
    fields = {"to_address": "zoe@example.be", "to_name": "Zoë Dupont-Lefèvre", "language": "fr",
              "reply_token": "aaaabbbbcccc", "unsubscribe_token": "ddddeeeeffff"} | changes
    return Envelope(**fields)


def parsed(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)


def content(message: EmailMessage, subtype: str) -> str:
    return message.get_body((subtype,)).get_content().replace("\r\n", "\n")


def reference(env: Envelope, rendered: Rendered) -> EmailMessage:
    """The same mail as EmailMessage builds it, to compare with."""
    msg = EmailMessage(policy=policy.SMTP.clone(max_line_length=998))
    msg["From"], msg["To"] = f"{SENDER.from_name} <{SENDER.from_address}>", f"{env.to_name} <{env.to_address}>"
    msg["Reply-To"] = f"reply+{env.reply_token}@{SENDER.reply_domain}"
    msg["Subject"], msg["Message-ID"], msg["Auto-Submitted"] = rendered.subject, "<m@x>", env.auto_submitted
    msg.set_content(rendered.text, cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    for item in env.attachments:
        msg.add_attachment(item.content, maintype=item.maintype, subtype=item.subtype, filename=item.filename)
    return parsed(msg.as_bytes())


def test_parses_back_like_the_email_package_would_have_made_it():
    env, rendered = envelope(attachments=(Attachment("F-1-duplicata-é.pdf", b"%PDF-1.4 \x00\xff" * 50),)), \
        Rendered(SUBJECT, TEXT, HTML)
    got, want = parsed(compose(SENDER, env, rendered, "<m@x>", NOW)), reference(env, rendered)
    for name in ("From", "To", "Reply-To", "Subject", "Message-ID", "Auto-Submitted", "MIME-Version"):
        assert str(got[name]) == str(want[name]), name
    assert [part.get_content_type() for part in got.walk()] == [part.get_content_type() for part in want.walk()]
    assert content(got, "plain") == content(want, "plain") == TEXT
    assert content(got, "html") == content(want, "html") == HTML + "\n"
    [attachment], [expected] = list(got.iter_attachments()), list(want.iter_attachments())
    assert attachment.get_filename() == expected.get_filename() == "F-1-duplicata-é.pdf"
    assert attachment.get_content() == expected.get_content()


def test_mailflow_headers_and_parts():
    raw = compose(SENDER, envelope(in_reply_to="<q@client>"), Rendered(SUBJECT, TEXT, HTML), "<m@x>", NOW)
    msg = parsed(raw)
    assert msg.get_content_type() == "multipart/alternative" and msg["Content-Language"] == "fr"
    assert msg["Date"] == "Tue, 03 Nov 2026 06:00:12 +0000" and msg["In-Reply-To"] == msg["References"] == "<q@client>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    literal = (b"List-Unsubscribe: <https://portal.example/unsubscribe/ddddeeeeffff>, "
               b"<mailto:reply+ddddeeeeffff@reply.mailflow.example?subject=STOP>\r\n")
    assert literal in raw  # one line, never RFC 2047-encoded: mailbox providers read it as it is
    for part in msg.get_body(("plain",)), msg.get_body(("html",)):
        assert part["Content-Transfer-Encoding"] == "quoted-printable" and part.get_content_charset() == "utf-8"
        assert part["Content-Language"] is None


def test_lines_follow_smtp_rules():
    raw = compose(SENDER, envelope(to_name="É" * 90), Rendered("é" * 120, TEXT + "x" * 500, HTML), "<m@x>", NOW)
    assert b"\r" not in raw.replace(b"\r\n", b"") and b"\n" not in raw.replace(b"\r\n", b"")
    head, body = raw.split(b"\r\n\r\n", 1)
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))
    assert all(len(line) <= 78 for line in head.split(b"\r\n") if line.startswith((b"Subject:", b" ")))
    assert all(len(line) <= 76 for line in body.split(b"\r\n"))
    msg = parsed(raw)
    assert msg["Subject"] == "é" * 120 and msg["To"].addresses[0].display_name == "É" * 90


def test_names_and_subjects_cannot_add_headers():
    env = envelope(to_name="Eve\r\nBcc: victim@example.com", in_reply_to="<a@b>\r\nX-Injected: 1")
    raw = compose(SENDER, env, Rendered("Hi\r\nBcc: victim@example.com\nX-Evil: é", "t\n", "<p>h</p>"), "<m@x>", NOW)
    msg = parsed(raw)
    assert msg["Bcc"] is None and msg["X-Injected"] is None and msg["X-Evil"] is None
    assert msg["Subject"] == "Hi Bcc: victim@example.com X-Evil: é"
    assert msg["To"].addresses[0].display_name == "Eve Bcc: victim@example.com"


def test_a_bare_carriage_return_becomes_a_line_end():
    raw = compose(SENDER, envelope(), Rendered("s", "one\rtwo\r\nthree\n", "<p>a\rb</p>"), "<m@x>", NOW)
    assert content(parsed(raw), "plain") == "one\ntwo\nthree\n"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_encoding_line_by_line_gives_the_same_bytes_as_at_once(text):
    by_line, at_once = quoted_printable(text, reuse_lines=True), quoted_printable(text)
    assert by_line == at_once
    normal = re.sub("\r\n?", "\n", text)
    assert quopri.decodestring(by_line.replace(b"\r\n", b"\n")).decode("utf-8") == normal


def test_message_ids_are_time_ordered_version_7_uuids():
    before = time.time_ns() // 1_000_000
    ids = [new_message_id("reply.mailflow.example") for _ in range(200)]
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == len(ids)
    values = [uuid.UUID(hex=re.fullmatch(r"<([0-9a-f]{32})@reply\.mailflow\.example>", m)[1]) for m in ids]
    assert all((value.version, value.variant) == (7, uuid.RFC_4122) for value in values)
    stamps = [value.int >> 80 for value in values]
    assert stamps == sorted(stamps) and before <= stamps[0] and stamps[-1] <= after
    assert len({value.int & ((1 << 62) - 1) for value in values}) == len(values)  # the random part differs
