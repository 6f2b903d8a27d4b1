"""Inbound test helpers: the real inbound SMTP server, smtplib sending, and messages people really send."""

from __future__ import annotations

import contextlib
import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

import pytest

from mailflow.inbound.processing import InboundWorker
from mailflow.inbound.smtp_server import InboundSmtpServer
from mailflow.models import InboundMessage
from mailflow.outbound.delivery import DeliveryWorker
from mailflow.runtime import Runtime
from tests.support.env import START

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


def message(sender: str = "marie.dupont@example.be", to: str = f"reply@{REPLY_DOMAIN}", subject: str = "Re: votre facture",
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
