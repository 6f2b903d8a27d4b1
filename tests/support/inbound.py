"""Inbound test helpers: the real inbound SMTP server, smtplib sending, and messages people really send."""

from __future__ import annotations

import contextlib
import smtplib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

import pytest

from mailflow.inbound.processing import InboundWorker
from mailflow.inbound.smtp_server import InboundSmtpServer
from mailflow.models import InboundMessage
from mailflow.outbound.delivery import DeliveryWorker
from mailflow.runtime import Runtime
from tests.support import factories
from tests.support.env import START
from tests.support.relay import Relay

REPLY_DOMAIN = "reply.mailflow.example"


@dataclass
class SmtpAnswer:
    code: int
    text: str


@pytest.fixture
def inbound_smtp(rt: Runtime) -> Iterator[InboundSmtpServer]:
    """The inbound SMTP door on a free loopback port, storing into the test database."""
    server = InboundSmtpServer(rt, host="127.0.0.1", port=0).start()
    yield server
    server.stop()


@pytest.fixture
def notice(smtp_rt: Runtime, relay: Relay) -> EmailMessage:
    """Marie's "new document" mail for F2026-0042, as the relay received it (the relay emptied after it)."""
    factories.customer(smtp_rt)
    factories.document(smtp_rt)
    DeliveryWorker(smtp_rt).flush()
    [got] = relay.to(factories.MARIE.email)
    relay.received.clear()
    return got.message


@contextlib.contextmanager
def started(rt: Runtime, **settings: object) -> Iterator[InboundSmtpServer]:
    """The inbound SMTP door on a free loopback port with some `[inbound.smtp]` settings changed."""
    rt.config.inbound.smtp = replace(rt.config.inbound.smtp, **settings)
    server = InboundSmtpServer(rt, host="127.0.0.1", port=0).start()
    try:
        yield server
    finally:
        server.stop()


class RawClient:
    """SMTP over a plain socket: exactly the bytes a test writes, and each reply as it comes."""

    def __init__(self, server: InboundSmtpServer, timeout: float = 30) -> None:
        self.sock = socket.create_connection((server.host, server.port), timeout)
        self.replies = self.sock.makefile("rb")

    def __enter__(self) -> "RawClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reply(self) -> SmtpAnswer:
        """The next (possibly multi-line) reply; code 0 when the server closed the connection instead."""
        lines = []
        while not lines or lines[-1][3:4] == b"-":
            line = self.replies.readline()
            if not line:
                return SmtpAnswer(0, b"".join(lines).decode())
            lines.append(line)
        return SmtpAnswer(int(lines[-1][:3]), b"".join(line[4:] for line in lines).decode().strip())

    def command(self, line: str | bytes) -> SmtpAnswer:
        self.write(line.encode() + b"\r\n" if isinstance(line, str) else line)
        return self.reply()

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def envelope(self, mail_from: str = "someone@example.be", rcpt: str = f"reply@{REPLY_DOMAIN}") -> None:
        """Greeting, EHLO, MAIL and RCPT, each answered as it should be."""
        assert self.reply().code == 220
        assert self.command("EHLO client.example").code == 250
        assert self.command(f"MAIL FROM:<{mail_from}>").code == 250
        assert self.command(f"RCPT TO:<{rcpt}>").code == 250

    def close(self) -> None:
        self.replies.close()
        self.sock.close()


def send(server: InboundSmtpServer, raw: bytes, mail_from: str = "someone@example.be",
         rcpt: str | list[str] = f"reply@{REPLY_DOMAIN}", size_option: bool = True) -> SmtpAnswer:
    """Drive one SMTP transaction with smtplib and return the server's final answer."""
    recipients = [rcpt] if isinstance(rcpt, str) else rcpt
    with smtplib.SMTP(server.host, server.port, timeout=60) as client:
        client.ehlo("client.example")
        options = [f"SIZE={len(raw)}"] if size_option and client.has_extn("size") else []
        code, text = client.mail(mail_from, options)
        if code != 250:
            return SmtpAnswer(code, text.decode())
        for address in recipients:
            code, text = client.rcpt(address)
            if code not in (250, 251):
                return SmtpAnswer(code, text.decode())
        code, text = client.data(raw)
        return SmtpAnswer(code, text.decode())


def message(sender: str = "marie.dupont@example.be", to: str = f"reply@{REPLY_DOMAIN}",
            subject: str = "Re: votre facture",
            body: str = "Bonjour", message_id: str | None = None, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(START)
    msg["Message-ID"] = message_id or make_msgid(domain="client.example")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes(policy=SMTP)


def outlook_reply_fr(sender: str, to: str, command: str, original: EmailMessage, **headers: str) -> bytes:
    """A French Outlook reply: the command on top, then Outlook's header block and the quoted original."""
    quoted = original.get_body(("plain",)).get_content()
    body = (f"{command}\n\nCordialement,\nMarie Dupont\n\n"
            "________________________________\n"
            f"De : {original['From']}\n"
            "Envoyé : lundi 2 novembre 2026 10:00\n"
            f"À : Marie Dupont <{sender}>\n"
            f"Objet : {original['Subject']}\n\n" + quoted)
    return message(sender, to, f"RE: {original['Subject']}", body, **headers)


def rows() -> list[InboundMessage]:
    return list(InboundMessage.select().order_by(InboundMessage.id))


def settle(rt: Runtime) -> None:
    """Process everything stored, then deliver everything that produced."""
    InboundWorker(rt).flush()
    DeliveryWorker(rt).flush()


@contextlib.contextmanager
def table_moved_away(rt: Runtime) -> Iterator[str]:
    """Storage really failing: the inbound table is renamed away, then put back."""
    table = InboundMessage._meta.table_name
    away = f"{table}_away"
    rt.db.execute_sql(f'ALTER TABLE "{table}" RENAME TO "{away}"')
    try:
        yield away
    finally:
        rt.db.execute_sql(f'ALTER TABLE "{away}" RENAME TO "{table}"')


def postfix_dsn(verp: str, recipient: str, original_id: str, status: str = "5.1.1",
                diagnostic: str = "Recipient address rejected: User unknown in virtual mailbox table",
                dsn_id: str = "20261102090001.8A3D6C0F2B") -> bytes:
    """A delivery status notification as Postfix writes it."""
    boundary = "8A3D6C0F2B.1762074000/mx.example.be"
    action = "failed" if status.startswith("5") else "delayed"
    code = "550" if status.startswith("5") else "452"
    return f"""\
Return-Path: <>
From: MAILER-DAEMON@mx.example.be (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {verp}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"
Message-Id: <{dsn_id}@mx.example.be>

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.be.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{recipient}>: host mail.example.be[192.0.2.10] said: {code} {status} <{recipient}>:
    {diagnostic}

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.be
X-Postfix-Queue-ID: 8A3D6C0F2B
X-Postfix-Sender: rfc822; {verp}
Arrival-Date: Mon,  2 Nov 2026 09:00:00 +0000 (UTC)

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mail.example.be
Diagnostic-Code: smtp; {code} {status} <{recipient}>: {diagnostic}

--{boundary}
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <{verp}>
From: Lease Services <documents@mailflow.example>
To: {recipient}
Message-ID: {original_id}

--{boundary}--
""".replace("\n", "\r\n").encode()


def arf_complaint(recipient: str, original_id: str, return_path: str = "bounces@reply.mailflow.example") -> bytes:
    """A spam complaint in the Abuse Reporting Format (RFC 5965), as mailbox providers send them."""
    return f"""\
From: feedback@fbl.mailbox.example
To: abuse@reply.mailflow.example
Subject: FW: Un nouveau document est disponible
Message-ID: <arf-{original_id.strip('<>')}>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="arf"

--arf
Content-Type: text/plain; charset=us-ascii

This is an email abuse report for an email message received from IP 192.0.2.1.

--arf
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <{return_path}>
Original-Rcpt-To: <{recipient}>

--arf
Content-Type: message/rfc822

Return-Path: <{return_path}>
From: Lease Services <documents@mailflow.example>
To: {recipient}
Subject: Un nouveau document est disponible
Message-ID: {original_id}

Bonjour
--arf--
""".replace("\n", "\r\n").encode()
