"""What support staff do from the console: reprocess a message, answer it, lift a suppression."""

from __future__ import annotations

from html import escape

from mailflow import accounts, audit, validation
from mailflow.clock import naive_utc
from mailflow.errors import NotFound, ValidationError
from mailflow.inbound import processing
from mailflow.models import InboundMessage, Outbox, Suppression
from mailflow.outbound import outbox
from mailflow.outbound.composer import Envelope, compose, new_message_id, one_line
from mailflow.outbound.renderer import Rendered
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


def answer(rt: Runtime, message_id: int, body: str, actor: str) -> Outbox:
    """A support person's own answer to a message, by mail, threaded under it."""
    message = inbound_message(message_id)
    text = body.replace("\r\n", "\n").strip()
    if not text or len(text) > MAX_ANSWER_CHARS:
        raise ValidationError("write an answer (at most 20,000 characters)", field="body")
    if not message.from_addr:
        raise ValidationError("this message has no sender address to answer", field="body")
    address = validation.email_address(message.from_addr)
    with rt.db.atomic():
        row = _queue_answer(rt, message, address, text)
        InboundMessage.update(status="processed", action=f"answered by {actor}", outbox=row,
                              processed_at=naive_utc(rt.now())).where(InboundMessage.id == message.id).execute()
        audit.record(rt, actor, "inbound.answer", address, message=message.id)
    return row


def _queue_answer(rt: Runtime, message: InboundMessage, address: str, text: str) -> Outbox:
    user = accounts.find_user(address)
    language = user.language if user else "en"
    subject = _reply_subject(message.subject or "")
    rendered = Rendered(subject=subject, text=text + "\n", html=_html(text, language))
    token = rt.reply_token(user.id if user else 0, None, "answer")
    envelope = Envelope(to_address=address, to_name=user.display_name if user else "", language=language,
                        reply_token=token, auto_submitted="no", in_reply_to=message.message_id)
    message_id = new_message_id(rt.config.outbound.reply_domain)
    raw = compose(rt.sender, envelope, rendered, message_id, rt.now())
    return outbox.enqueue(outbox.Mail(message_id, raw, address, subject, "answer", user), rt.now())


def _reply_subject(subject: str) -> str:
    clean = one_line(subject)
    return clean if clean.lower().startswith("re:") else f"Re: {clean}".strip()


def _html(text: str, language: str) -> str:
    paragraphs = "".join(f"<p>{escape(p.strip()).replace(chr(10), '<br>')}</p>"
                         for p in text.split("\n\n") if p.strip())
    return (f'<!doctype html><html lang="{escape(language)}"><body style="font-family:Helvetica,Arial,'
            f'sans-serif;font-size:15px;line-height:1.5;color:#1d2430">{paragraphs}</body></html>')


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
