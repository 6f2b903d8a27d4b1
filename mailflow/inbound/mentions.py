"""The customer numbers (DL2123456) and document numbers a message people wrote names, linked for staff."""

from __future__ import annotations

import re

from mailflow.inbound.classification import MessageKind
from mailflow.inbound.understanding import Understanding
from mailflow.models import Customer, Document, InboundMention, InboundMessage
from mailflow.validation import number_key

# Letters glued to digits, groups split by - / . or a space before 3+ digits: DL2123456, F2026-0042, f2026 0042.
_CANDIDATE = re.compile(r"(?<![\w@])[A-Za-z]{1,5}[-/.]?\d{2,}(?:(?:[-/._]|\s(?=\d{3,}))\d+)*(?![\w@])")
MAX_CANDIDATES = 50  # a message listing more is a list, not about one customer: the first ones are kept
READ_CHARS = 20_000  # what people write about is at the top


def candidates(text: str) -> list[str]:
    """The search keys (letters and digits) of every number-like word, in order, without repeats."""
    keys = dict.fromkeys(number_key(m.group(0)) for m in _CANDIDATE.finditer(text[:READ_CHARS]))
    return list(keys)[:MAX_CANDIDATES]


def found(text: str) -> tuple[list[Customer], list[Document]]:
    """The customer numbers and documents `text` names, as they exist."""
    keys = candidates(text)
    if not keys:
        return [], []
    return (list(Customer.select().where(Customer.number.in_(keys))),
            list(Document.select().where(Document.number_key.in_(keys))))


def record(inbound_id: int, u: Understanding | None) -> int:
    """Link a processed message to what it names (again from scratch when it is processed again); how many."""
    InboundMention.delete().where(InboundMention.inbound == inbound_id).execute()
    if u is None or u.classification.kind is not MessageKind.MESSAGE:  # bounces quote our own mail
        return 0
    customers, documents = found(f"{u.parsed.subject}\n{u.reply_text}")
    rows = {(inbound_id, c.id, None) for c in customers} | {(inbound_id, d.customer_id, d.id) for d in documents}
    if rows:
        InboundMention.insert_many(sorted(rows, key=str), fields=[InboundMention.inbound, InboundMention.customer,
                                                                   InboundMention.document]).execute()
    return len(rows)


def of_message(inbound_id: int) -> list[InboundMention]:
    return list(InboundMention.select().where(InboundMention.inbound == inbound_id).order_by(InboundMention.id))


def first_customer(inbound_id: int) -> Customer | None:
    """The customer number a message is about when it names one (for answering in that issuer's name)."""
    mention = InboundMention.select().where(InboundMention.inbound == inbound_id).order_by(InboundMention.id).first()
    return mention.customer if mention else None


def messages_about(customer_ids: list[int], limit: int = 20) -> list[InboundMessage]:
    """The latest messages that name one of these customer numbers (or one of their documents)."""
    named = InboundMention.select(InboundMention.inbound).where(InboundMention.customer.in_(customer_ids))
    return list(InboundMessage.select(InboundMessage.id, InboundMessage.received_at, InboundMessage.from_addr,
                                      InboundMessage.subject, InboundMessage.status)
                .where(InboundMessage.id.in_(named)).order_by(InboundMessage.received_at.desc()).limit(limit))
