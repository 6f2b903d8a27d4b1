"""Every mail mailflow sends to a person, rendered in their language and put in the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from mailflow import i18n, issuers, tokens
from mailflow.issuers import Face
from mailflow.models import Access, Customer, Document, Outbox, User
from mailflow.outbound import outbox
from mailflow.outbound.composer import Attachment, Envelope, Sender, compose, new_message_id
from mailflow.runtime import Runtime
from mailflow.storage import read_pdf

TYPE_LABELS = {"invoice": "invoice", "credit_note": "credit note"}


@dataclass
class MailRequest:
    user: User
    template: str
    kind: str
    purpose: str
    context: dict[str, Any] = field(default_factory=dict)
    customer: Customer | None = None
    document: Document | None = None
    unsubscribe: bool | None = None  # None: unless it answers the person's own request (see `unsubscribable`)
    auto_submitted: str = "auto-generated"
    in_reply_to: str | None = None
    attachments: tuple[Attachment, ...] = ()
    face: Face | None = None  # None: the face of `customer`'s issuer, or without one the user's (own_face)


def queue(rt: Runtime, req: MailRequest) -> Outbox:
    """Render, compose and enqueue one mail; call inside the transaction that causes it."""
    return outbox.enqueue(prepare(rt, req), rt.now())


def prepare(rt: Runtime, req: MailRequest) -> outbox.Mail:
    """Render and compose one mail without touching the database, for callers that enqueue many at once."""
    customer_id = req.customer.id if req.customer else None
    face = req.face or (issuers.face(rt.config, req.customer) if req.customer else own_face(rt, req.user))
    reply = rt.reply_token(req.user.id or 0, customer_id, req.purpose)  # id None: an address with no account
    envelope = Envelope(
        to_address=req.user.email, to_name=req.user.display_name, language=req.user.language,
        reply_token=reply, auto_submitted=req.auto_submitted, in_reply_to=req.in_reply_to,
        unsubscribe_token=rt.reply_token(req.user.id, customer_id, "unsubscribe") if unsubscribable(req) else None,
        attachments=req.attachments, inline=logo(face, rt.config.outbound.reply_domain))
    context = _base_context(rt, req, envelope, face)
    rendered = rt.renderer.render(req.template, req.user.language, **context)
    # in the From domain, the one DKIM signs: filters score a Message-ID of another domain than the sender's
    message_id = new_message_id(face.from_address.rpartition("@")[2])
    raw = compose(sender_of(rt.sender, face), envelope, rendered, message_id, rt.now())
    return outbox.Mail(message_id, raw, req.user.email, rendered.subject, req.kind,
                       req.user if req.user.id else None, req.customer, req.document)


# Mails that answer what the person asked for themselves: a login link, a duplicate, a link confirming their new
# address, an answer to their message. Everything else mailflow sends on its own initiative, and mailbox
# providers ask such mail for a one-click List-Unsubscribe (RFC 8058).
ANSWER_KINDS = frozenset({"login", "duplicate", "address_confirm", "answer"})


def unsubscribable(req: MailRequest) -> bool:
    if req.unsubscribe is not None:
        return req.unsubscribe
    answers = req.auto_submitted == "auto-replied" or req.kind in ANSWER_KINDS
    return not answers and req.user.id is not None  # an address without an account has nothing to turn off


@lru_cache(maxsize=64)
def sender_of(base: Sender, face: Face) -> Sender:
    """The sender of mail with this face: its From; the reply domain and links stay mailflow's."""
    return replace(base, from_address=face.from_address, from_name=face.from_name)


LOGO_TYPES = {".png": "png", ".svg": "svg+xml", ".jpg": "jpeg", ".jpeg": "jpeg", ".gif": "gif"}


def logo(face: Face, domain: str) -> tuple[Attachment, ...]:
    """The face's logo as an inline part the HTML shows by Content-ID (mail programs block remote images)."""
    if face.logo_path is None:
        return ()
    path = face.logo_path
    return (Attachment(f"logo{path.suffix.lower()}", _read_logo(path, path.stat().st_mtime_ns), "image",
                       LOGO_TYPES.get(path.suffix.lower(), "png"), f"logo.{face.prefix.lower()}@{domain}"),)


@lru_cache(maxsize=16)
def _read_logo(path: Path, mtime: int) -> bytes:
    return path.read_bytes()  # the same few bytes in every mail of the issuer: read once per version of the file


def _base_context(rt: Runtime, req: MailRequest, envelope: Envelope, face: Face) -> dict[str, Any]:
    unsubscribe = rt.url(f"unsubscribe/{envelope.unsubscribe_token}") if envelope.unsubscribe_token else None
    base = {"user": req.user, "customer": req.customer, "document": req.document, "issuer_name": face.name,
            "viewer_url": rt.url("documents"), "unsubscribe_url": unsubscribe, "action_url": None,
            "action_label": "", "invitation_url": None, "colour": face.colour, "ink": face.ink, "issuer_footer": face.footer,
            "logo_cid": envelope.inline[0].content_id if envelope.inline else "", "help_url": rt.url("help"),
            "support_address": face.support_address, "invitation_days": rt.config.security.invitation_days}
    if req.document is not None:
        base["document_type_label"] = TYPE_LABELS[req.document.type]
    return base | req.context


def invitation_link(rt: Runtime, user: User) -> str:
    link, row = unstored_invitation_link(rt, user)
    tokens.store([row])
    return link


def unstored_invitation_link(rt: Runtime, user: User) -> tuple[str, dict[str, object]]:
    """An activation link and the Token row that makes it work, for callers that store tokens in bulk."""
    raw, row = tokens.prepare(user, "invitation", rt.now(), timedelta(days=rt.config.security.invitation_days))
    return rt.url(f"auth/{raw}"), row


def login_link(rt: Runtime, user: User) -> str:
    raw = tokens.issue(user, "login", rt.now(), timedelta(minutes=rt.config.security.login_link_minutes))
    return rt.url(f"auth/{raw}")


def document_notice(rt: Runtime, user: User, document: Document, mail_only: bool | None = None) -> Outbox:
    """"A new document is available"; an account not yet activated gets its activation link too.

    Someone the number is shared with by notification only does not see it in the viewer: the PDF comes
    with the notice instead, and no link leads to a page that would not show it.
    """
    if mail_only is None:
        mail_only = Access.select().where(Access.user == user, Access.customer == document.customer_id,
                                          Access.channels == "mail").exists()
    if mail_only:
        return queue(rt, MailRequest(user, "document_notice", "notice", "notice", {"attached": True},
                                     document.customer, document, unsubscribe=True,
                                     attachments=(pdf_attachment(rt, document, ""),)))
    context: dict[str, Any] = {}
    if user.activated_at is None and _invites(rt, user, document):
        link = invitation_link(rt, user)
        label = i18n.gettext(user.language, "Activate my account")
        context = {"invitation_url": link, "action_url": link, "action_label": label}
    return queue(rt, MailRequest(user, "document_notice", "notice", "notice", context, document.customer,
                                 document, unsubscribe=True))


def _invites(rt: Runtime, user: User, document: Document) -> bool:
    """Whether a notice to someone not yet activated carries an activation link. The primary contact's every
    notice does until activation (the FAQ: the next notification brings the invitation); a shared user was
    invited when the number was shared, and gets one again only once no link of theirs works any more, not one
    per document."""
    if document.customer.primary_user_id == user.id:
        return True
    return not tokens.has_live(user, "invitation", rt.now())


def pdf_attachment(rt: Runtime, document: Document, suffix: str) -> Attachment:
    # document numbers may hold "/", which a mail program would read as a folder in the attachment's name
    name = f"{document.number.replace('/', '-')}{suffix}.pdf"
    return Attachment(filename=name, content=read_pdf(rt.config, document.pdf_sha256))


def duplicate(rt: Runtime, user: User, document: Document, auto_submitted: str = "auto-generated",
              in_reply_to: str | None = None) -> Outbox:
    pdf = pdf_attachment(rt, document, "-duplicate")
    return queue(rt, MailRequest(user, "duplicate", "duplicate", "duplicate", {}, document.customer, document,
                                 auto_submitted=auto_submitted, in_reply_to=in_reply_to, attachments=(pdf,)))


def own_face(rt: Runtime, user: User) -> Face:
    """The face of mail about a person's whole account (login links, invitations, answers naming no customer
    number): the issuer of their first customer number in number order. Someone with numbers of several
    issuers sees the first one's name, colour and support address on these mails (the link opens the same
    viewer for all of them), and each issuer's own on the mails about its documents."""
    first = (Customer.select(Customer.number).join(Access, on=(Access.customer == Customer.id))
             .where(Access.user == user).order_by(Customer.number).first())
    return issuers.face_of_numbers(rt.config, [first.number] if first else [])


def login(rt: Runtime, user: User, auto_submitted: str = "auto-generated", in_reply_to: str | None = None) -> Outbox:
    link = login_link(rt, user)
    label = i18n.gettext(user.language, "Log in")
    context = {"action_url": link, "action_label": label, "minutes": rt.config.security.login_link_minutes}
    return queue(rt, MailRequest(user, "login_link", "login", "login", context, auto_submitted=auto_submitted,
                                 in_reply_to=in_reply_to))


def invitation(rt: Runtime, user: User, auto_submitted: str = "auto-generated",
               in_reply_to: str | None = None) -> Outbox:
    """A fresh activation link; every earlier one stops working."""
    tokens.revoke_all(user, "invitation", rt.now())
    link = invitation_link(rt, user)
    label = i18n.gettext(user.language, "Activate my account")
    return queue(rt, MailRequest(user, "invitation", "invitation", "invitation",
                                 {"action_url": link, "action_label": label}, auto_submitted=auto_submitted,
                                 in_reply_to=in_reply_to))


def activation_code(rt: Runtime, customer: Customer, code: str, valid_until: date,
                    in_reply_to: str | None = None) -> Outbox:
    """A paperless activation code, to the customer number's primary contact only."""
    user = customer.primary_user
    context = {"code": code, "valid_until": valid_until, "action_url": rt.url("activation"),
               "action_label": i18n.gettext(user.language, "Use the code")}
    auto = "auto-replied" if in_reply_to else "auto-generated"
    return queue(rt, MailRequest(user, "activation_code", "code", "notify", context, customer,
                                 auto_submitted=auto, in_reply_to=in_reply_to))
