"""What support staff do from the console: reprocess a message, answer it, lift a suppression."""

from __future__ import annotations

from mailflow import accounts, audit, i18n, validation
from mailflow.clock import naive_utc
from mailflow.errors import NotFound, ValidationError
from mailflow.inbound import mentions, processing
from mailflow.inbound.answers import thread_id
from mailflow.models import LANGUAGES, Customer, InboundMessage, Outbox, Suppression, User
from mailflow.outbound import mails
from mailflow.outbound.composer import one_line
from mailflow.runtime import Runtime

MAX_ANSWER_CHARS = 20_000


def inbound_message(message_id: int) -> InboundMessage:
    message = InboundMessage.get_or_none(InboundMessage.id == message_id)
    if message is None:
        raise NotFound("no such inbound message")
    return message


def reprocess(rt: Runtime, message_id: int, actor: str) -> None:
    """Run the inbound pipeline on a stored message again, now."""
    processing.reprocess(rt, inbound_message(message_id).id)
    audit.record(rt, actor, "inbound.reprocess", str(message_id))


def answer(rt: Runtime, message_id: int, body: str, actor: str, language: str = "") -> Outbox:
    """A support person's own answer to a message, by mail, threaded under it, in the person's language and in
    the name of the issuer the message is about. `language` is for a sender without an account."""
    message = inbound_message(message_id)
    text = body.replace("\r\n", "\n").strip()
    if not text or len(text) > MAX_ANSWER_CHARS:
        raise ValidationError("write an answer (at most 20,000 characters)", field="body")
    if not message.from_addr:
        raise ValidationError("this message has no sender address to answer", field="body")
    address = validation.email_address(message.from_addr)
    with rt.db.atomic():
        row = _queue_answer(rt, message, recipient(message, address, language), text)
        InboundMessage.update(status="processed", action=f"answered by {actor}", outbox=row,
                              processed_at=naive_utc(rt.now())).where(InboundMessage.id == message.id).execute()
        audit.record(rt, actor, "inbound.answer", address, message=message.id)
    return row


def recipient(message: InboundMessage, address: str, language: str = "") -> User:
    """The account of the address; for an address without one, a stand-in (no id, so no outbox link) speaking
    `language`, else that of the primary contact of the customer number the message is about."""
    user = accounts.find_user(address)
    if user is not None:
        return user
    if language not in LANGUAGES:
        customer = about(message)
        language = customer.primary_user.language if customer else i18n.DEFAULT_LANGUAGE
    return User(id=None, email=address, language=language)


def about(message: InboundMessage) -> Customer | None:
    """The customer number a message is about: its reply token's, else the first it names."""
    return message.customer if message.customer_id else mentions.first_customer(message.id)


def _queue_answer(rt: Runtime, message: InboundMessage, user: User, text: str) -> Outbox:
    context = {"paragraphs": [p.strip().split("\n") for p in text.split("\n\n") if p.strip()],
               "reply_subject": _reply_subject(message.subject or "")}
    return mails.queue(rt, mails.MailRequest(user, "staff_answer", "answer", "answer", context, about(message),
                                             auto_submitted="no", in_reply_to=thread_id(message.message_id)))


def _reply_subject(subject: str) -> str:
    clean = one_line(subject)
    return clean if clean.lower().startswith("re:") else f"Re: {clean}".strip()


def lift_suppression(rt: Runtime, suppression_id: int, actor: str) -> Suppression:
    """Mail that address again: the suppression is lifted and its bounce score starts from zero."""
    row = Suppression.get_or_none(Suppression.id == suppression_id)
    if row is None:
        raise NotFound("no such suppression")
    with rt.db.atomic():
        (Suppression.update(lifted_at=naive_utc(rt.now()), score=0.0)
         .where(Suppression.id == row.id).execute())
        audit.record(rt, actor, "suppression.lift", row.email)
    return Suppression.get_by_id(row.id)
