"""Turns a rendered mail into RFC 5322 bytes with mailflow's headers (Reply-To token, List-Unsubscribe…)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

from mailflow.outbound.renderer import Rendered


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "pdf"


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


@dataclass(frozen=True)
class Sender:
    from_address: str
    from_name: str
    reply_domain: str
    base_url: str


def new_message_id(domain: str) -> str:
    return f"<{uuid.uuid4().hex}@{domain}>"


def one_line(value: str) -> str:
    """Header text from user data: CR, LF and other controls would let it inject headers."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())


# Long headers (List-Unsubscribe) must stay literal: default folding would RFC 2047-encode the URLs.
POLICY = SMTP.clone(max_line_length=998)


def compose(sender: Sender, envelope: Envelope, rendered: Rendered, message_id: str, now: datetime) -> bytes:
    msg = EmailMessage(policy=POLICY)
    _address_headers(msg, sender, envelope)
    msg["Subject"] = one_line(rendered.subject)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = envelope.auto_submitted
    _threading_headers(msg, envelope)
    _unsubscribe_headers(msg, sender, envelope)
    msg.set_content(rendered.text, cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    for item in envelope.attachments:
        msg.add_attachment(item.content, maintype=item.maintype, subtype=item.subtype, filename=item.filename)
    # After the body: set_content would move a Content-* header down into the first part.
    msg["Content-Language"] = envelope.language
    return msg.as_bytes()


def _address_headers(msg: EmailMessage, sender: Sender, envelope: Envelope) -> None:
    msg["From"] = formataddr((one_line(sender.from_name), sender.from_address))
    msg["To"] = formataddr((one_line(envelope.to_name), envelope.to_address))
    msg["Reply-To"] = f"reply+{envelope.reply_token}@{sender.reply_domain}"


def _threading_headers(msg: EmailMessage, envelope: Envelope) -> None:
    if envelope.in_reply_to:
        msg["In-Reply-To"] = one_line(envelope.in_reply_to)
        msg["References"] = one_line(envelope.in_reply_to)


def _unsubscribe_headers(msg: EmailMessage, sender: Sender, envelope: Envelope) -> None:
    # RFC 8058: the https form is POSTed by the mailbox provider; the mailto form reaches the STOP command.
    token = envelope.unsubscribe_token
    if token:
        msg["List-Unsubscribe"] = (f"<{sender.base_url.rstrip('/')}/unsubscribe/{token}>, "
                                   f"<mailto:reply+{token}@{sender.reply_domain}?subject=STOP>")
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
