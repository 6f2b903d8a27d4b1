"""Whatever arrives is stored and ends with a clear status; nothing a sender gets wrong crashes anything."""

from __future__ import annotations

import base64
import json

import pytest

from mailflow import storage
from mailflow.inbound.processing import InboundWorker, retry_failed
from mailflow.models import Document, InboundMessage, Outbox, Preference
from mailflow.outbound.delivery import DeliveryWorker
from tests.support import factories
from tests.support.inbound import (  # noqa: F401 (inbound_smtp is a fixture)
    REPLY_DOMAIN, inbound_smtp, message, send, settle,
)

MARIE = factories.MARIE.email
SUPPORT = f"support@{REPLY_DOMAIN}"


@pytest.fixture
def marie_reply_to(smtp_rt, relay) -> str:
    factories.customer(smtp_rt)
    factories.document(smtp_rt)
    DeliveryWorker(smtp_rt).flush()
    address = relay.to(MARIE)[0].message["Reply-To"]
    relay.received.clear()
    return address


def deliver(rt, server, raw: bytes, rcpt: str = SUPPORT, sender: str = MARIE) -> InboundMessage:
    answer = send(server, raw, sender, rcpt)
    assert answer.code == 250, answer
    settle(rt)
    row = InboundMessage.select().order_by(InboundMessage.id.desc()).get()
    assert row.error is None and row.status in ("processed", "staff", "ignored"), (row.status, row.error)
    return row


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("latin-1")


def test_malformed_mime_is_stored_and_sent_to_staff(smtp_rt, relay, inbound_smtp, marie_reply_to):
    raw = crlf(f"""From: {MARIE}
To: {SUPPORT}
Subject: broken
Message-ID: <broken-1@client.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="never-closed"

--never-closed
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

Qm9uam91ciwgcXVlbGxlIGVzdCBsYSBkYXRlIGQnw6ljaMOpYW5jZSA/!!!not base64
--never-closed
Content-Type: application/pdf; name="x.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
""")
    row = deliver(smtp_rt, inbound_smtp, raw)
    assert (row.status, row.kind, row.from_addr) == ("staff", "message", MARIE)
    assert bytes(row.raw) == raw


def test_missing_headers_still_get_a_status(smtp_rt, relay, inbound_smtp):
    row = deliver(smtp_rt, inbound_smtp, b"\r\nJust some text and no headers at all.\r\n", sender="x@example.org")
    assert (row.status, row.from_addr, row.message_id) == ("staff", None, None)
    assert "unknown sender" in row.action and relay.received == []


def test_not_an_email_at_all(smtp_rt, relay, inbound_smtp):
    row = deliver(smtp_rt, inbound_smtp, bytes(range(1, 256)) * 40, sender="x@example.org")
    assert row.status == "staff" and row.size == 255 * 40 + 2  # smtplib adds the final CRLF


def test_eight_bit_body_without_charset_and_unknown_charset_are_read(smtp_rt, relay, inbound_smtp,
                                                                    marie_reply_to):
    undeclared = crlf(f"From: {MARIE}\nTo: {marie_reply_to}\nSubject: r\u00e9ponse\nMessage-ID: <8bit@c.example>\n\n"
                      "HEBDOMADAIRE\nMerci, \u00e0 bient\u00f4t\n")
    row = deliver(smtp_rt, inbound_smtp, undeclared, marie_reply_to)
    assert row.status == "processed" and "à bientôt" in row.reply_text
    assert Preference.get().frequency == "weekly"
    unknown = (f"From: {MARIE}\r\nTo: {marie_reply_to}\r\nSubject: =?x-unknown?Q?caf=E9?=\r\n"
               "Message-ID: <unknown-cs@c.example>\r\nMIME-Version: 1.0\r\n"
               "Content-Type: text/plain; charset=x-unknown-charset\r\n"
               "Content-Transfer-Encoding: 8bit\r\n\r\n").encode() + "MENSUEL\r\nCaf\u00e9\r\n".encode("cp1252")
    row = deliver(smtp_rt, inbound_smtp, unknown, marie_reply_to)
    assert row.status == "processed" and Preference.get().frequency == "monthly"
    assert "Café" in row.reply_text


def test_a_20_mb_message_is_stored_and_its_command_carried_out(smtp_rt, relay, inbound_smtp, marie_reply_to):
    attachment = base64.encodebytes(b"\x00\x01scan" * 3_000_000).decode()
    raw = crlf(f"""From: {MARIE}
To: {marie_reply_to}
Subject: scan
Message-ID: <big-1@client.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain; charset=utf-8

DUPLICATA F2026-0042
--b
Content-Type: application/octet-stream; name="scan.bin"
Content-Transfer-Encoding: base64

{attachment}--b--
""")
    assert len(raw) > 20_000_000
    row = deliver(smtp_rt, inbound_smtp, raw, marie_reply_to)
    assert row.status == "processed" and row.size == len(raw)
    assert relay.to(MARIE)[0].message["Subject"].startswith("DUPLICATA")


def test_an_empty_body_goes_to_staff_with_an_acknowledgement(smtp_rt, relay, inbound_smtp, marie_reply_to):
    raw = crlf(f"From: {MARIE}\nTo: {marie_reply_to}\nSubject: Re:\nMessage-ID: <empty@c.example>\n\n")
    row = deliver(smtp_rt, inbound_smtp, raw, marie_reply_to)
    assert (row.status, row.reply_text) == ("staff", "")
    assert len(relay.to(MARIE)) == 1


def test_html_only_reply_is_read_without_its_quoted_original(smtp_rt, relay, inbound_smtp, marie_reply_to):
    html = ("<html><body><div>QUOTIDIEN</div><div>Marie</div>"
            "<div><hr><b>De :</b> Lease Services<br><b>Envoy\u00e9 :</b> lundi 2 novembre 2026<br>"
            "<b>\u00c0 :</b> Marie<br><b>Objet :</b> Facture</div>"
            "<blockquote>STOP<br>Un nouveau document est disponible</blockquote></body></html>")
    raw = (f"From: {MARIE}\r\nTo: {marie_reply_to}\r\nSubject: RE: Facture\r\nMessage-ID: <html@c.example>\r\n"
           "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n").encode() + html.encode()
    row = deliver(smtp_rt, inbound_smtp, raw, marie_reply_to)
    assert row.status == "processed"
    assert json.loads(row.commands) == [{"name": "frequency", "args": ["daily"]}]
    assert Preference.get().frequency == "daily"


def test_a_command_missing_its_argument_is_answered_with_what_is_missing(smtp_rt, relay, inbound_smtp,
                                                                         marie_reply_to):
    raw = message(MARIE, marie_reply_to, "RE: Facture", "DUPLICATA\n\nMarie")
    row = deliver(smtp_rt, inbound_smtp, raw, marie_reply_to)
    assert row.status == "processed" and "no document number" in row.action
    text = relay.to(MARIE)[0].message.get_body(("plain",)).get_content()
    assert "indiquer le numéro du document après DUPLICATA" in text


def test_nul_bytes_and_control_characters_are_stored_and_read(smtp_rt, relay, inbound_smtp):
    raw = b"From: x\x00y@example.org\r\nSubject: a\x00b\x07\r\n\r\nhello\x00 world\r\n"
    row = deliver(smtp_rt, inbound_smtp, raw, sender="x@example.org")
    assert row.status == "staff" and "\x00" not in (row.reply_text or "") + (row.subject or "")


def test_a_message_whose_processing_fails_is_kept_and_can_be_reprocessed(smtp_rt, relay, inbound_smtp,
                                                                         marie_reply_to):
    document = Document.get()
    pdf = storage.read_pdf(smtp_rt.config, document.pdf_sha256)
    storage.delete_pdf(smtp_rt.config, document.pdf_sha256)
    send(inbound_smtp, message(MARIE, marie_reply_to, "RE: Facture", "DUPLICATA F2026-0042"), MARIE,
         marie_reply_to)
    send(inbound_smtp, message(MARIE, marie_reply_to, "RE: Facture", "HEBDOMADAIRE"), MARIE, marie_reply_to)
    counts = InboundWorker(smtp_rt).flush()
    assert counts == {"failed": 1, "processed": 1}  # the failure did not stop the worker
    failed = InboundMessage.get(InboundMessage.status == "failed")
    assert "PDF of this document is missing" in failed.error
    assert (failed.kind, failed.from_addr) == ("command", MARIE)  # what was understood is kept for staff
    assert not Outbox.select().where(Outbox.kind == "duplicate").exists()  # nothing half-done
    storage.store_pdf(smtp_rt.config, pdf)
    assert retry_failed(smtp_rt) == 1 and InboundWorker(smtp_rt).flush() == {"processed": 1}
    assert InboundMessage.get_by_id(failed.id).error is None
    assert Outbox.select().where(Outbox.kind == "duplicate").count() == 1


def test_a_message_that_gave_up_after_crashes_is_read_afresh_when_retried(smtp_rt, relay, inbound_smtp,
                                                                          marie_reply_to):
    from mailflow.inbound.processing import MAX_ATTEMPTS  # noqa: PLC0415
    send(inbound_smtp, message(MARIE, marie_reply_to, "RE: Facture", "HEBDOMADAIRE"), MARIE, marie_reply_to)
    # as if its worker had been killed MAX_ATTEMPTS times in the middle of it
    InboundMessage.update(attempts=MAX_ATTEMPTS).execute()
    assert InboundWorker(smtp_rt).flush() == {"failed": 1}
    assert "gave up after" in InboundMessage.get().error
    assert retry_failed(smtp_rt) == 1 and InboundWorker(smtp_rt).flush() == {"processed": 1}
    assert InboundMessage.get().attempts == 1
