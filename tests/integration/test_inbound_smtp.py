"""The inbound SMTP door, driven with smtplib: 250 only once stored, 550/552/451 otherwise, one row per message."""

from __future__ import annotations

import smtplib

from mailflow.inbound.processing import InboundWorker
from mailflow.inbound.smtp_server import InboundSmtpServer
from mailflow.models import InboundMessage
from tests.support.inbound import (  # noqa: F401 (inbound_smtp is a fixture)
    REPLY_DOMAIN, inbound_smtp, message, rows, send, table_moved_away,
)


def test_mail_for_the_reply_domain_is_stored_before_250(rt, inbound_smtp):
    raw = message(body="Une question sur ma facture.")
    answer = send(inbound_smtp, raw, "marie.dupont@example.be", f"reply+abc@{REPLY_DOMAIN}")
    assert answer.code == 250
    [row] = rows()
    assert answer.text == f"2.0.0 Stored as {row.id}"
    assert bytes(row.raw) == raw and row.size == len(raw)
    assert (row.door, row.status, row.envelope_from) == ("smtp", "received", "marie.dupont@example.be")
    assert row.envelope_to == f"reply+abc@{REPLY_DOMAIN}"


def test_recipient_domain_is_compared_without_case(rt, inbound_smtp):
    assert send(inbound_smtp, message(), rcpt=f"Reply@{REPLY_DOMAIN.upper()}").code == 250


def test_other_domains_get_550_and_nothing_is_stored(rt, inbound_smtp):
    answer = send(inbound_smtp, message(), rcpt="postmaster@elsewhere.example")
    assert answer.code == 550
    assert rows() == []


def test_only_accepted_recipients_of_a_mixed_envelope_are_kept(rt, inbound_smtp):
    with smtplib.SMTP(inbound_smtp.host, inbound_smtp.port, timeout=30) as client:
        refused = client.sendmail("a@example.be", [f"reply@{REPLY_DOMAIN}", "x@elsewhere.example"], message())
    assert list(refused) == ["x@elsewhere.example"] and refused["x@elsewhere.example"][0] == 550
    assert rows()[0].envelope_to == f"reply@{REPLY_DOMAIN}"


def test_oversize_is_refused_with_552_whether_announced_or_not(rt):
    rt.config.inbound.smtp.max_message_bytes = 100_000
    server = InboundSmtpServer(rt, host="127.0.0.1", port=0).start()
    try:
        big = message(body=("z" * 900 + "\n") * 120)
        assert len(big) > 100_000
        assert send(server, big, size_option=True).code == 552  # refused at MAIL FROM (SIZE=)
        assert send(server, big, size_option=False).code == 552  # refused after DATA
        assert send(server, message()).code == 250
    finally:
        server.stop()
    assert len(rows()) == 1


def test_storage_failing_answers_451_and_stores_nothing_then_the_retry_is_kept(rt, inbound_smtp):
    raw = message(body="Je voudrais un duplicata.")
    with table_moved_away(rt) as away:
        answer = send(inbound_smtp, raw)
        assert answer.code == 451 and answer.text.startswith("4.3.0")
        assert rt.db.execute_sql(f'SELECT COUNT(*) FROM "{away}"').fetchone()[0] == 0
    assert rows() == []
    assert send(inbound_smtp, raw).code == 250  # the MTA's retry
    assert len(rows()) == 1


def test_the_same_message_id_twice_is_stored_and_processed_once(rt, inbound_smtp):
    raw = message(body="Bonjour, une question.", message_id="<retry-1@client.example>")
    first = send(inbound_smtp, raw)
    again = send(inbound_smtp, raw.replace(b"Bonjour", b"Bonjour!"))
    assert first.code == again.code == 250 and first.text == again.text
    assert len(rows()) == 1
    assert sum(InboundWorker(rt).flush().values()) == 1
    assert send(inbound_smtp, raw).code == 250
    assert sum(InboundWorker(rt).flush().values()) == 0
    [row] = rows()
    assert row.status == "staff" and row.message_id == "<retry-1@client.example>"


def test_without_message_id_identical_bytes_are_one_message(rt, inbound_smtp):
    raw = b"From: a@example.be\r\nSubject: no id\r\n\r\nhello\r\n"
    assert send(inbound_smtp, raw).code == send(inbound_smtp, raw).code == 250
    assert send(inbound_smtp, raw + b"again\r\n").code == 250
    assert InboundMessage.select().count() == 2
