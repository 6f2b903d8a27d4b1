"""Reading the mails a test caused straight from the outbox, as their recipient would get them."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage

from mailflow.models import Outbox

LINK = re.compile(r"https?://\S+")


def mails_to(address: str, kind: str | None = None) -> list[EmailMessage]:
    """The mails queued for `address` (of `kind`), oldest first."""
    query = Outbox.select().where(Outbox.recipient == address.lower())
    if kind is not None:
        query = query.where(Outbox.kind == kind)
    return [message_from_bytes(bytes(row.raw), policy=policy.default) for row in query.order_by(Outbox.id)]


def text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def link(message: EmailMessage, path: str) -> str:
    """The path of the mail's first link containing `path` (e.g. "/address/"), ready for a test client."""
    found = [url for url in LINK.findall(text(message)) if path in url]
    assert found, f"no {path} link in: {text(message)}"
    return "/" + found[0].split("/", 3)[3]
