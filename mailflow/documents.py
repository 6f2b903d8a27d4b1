"""Publishing documents: one transaction writes the document, its notifications and the immediate mails."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Callable

from peewee import JOIN

from mailflow import accounts, audit, bulk, storage, validation
from mailflow.clock import naive_utc
from mailflow.db import transaction
from mailflow.errors import Conflict, NotFound, ValidationError
from mailflow.models import CHANNELS, Access, Customer, Document, Notification, Preference, User
from mailflow.outbound import mails
from mailflow.runtime import Runtime


@dataclass(frozen=True)
class DocumentInput:
    """A document as a back office hands it over, not yet checked."""

    customer: str
    number: str
    type: str
    date: str
    amount: str
    pdf: bytes | None
    pdf_name: str = "document.pdf"


@dataclass(frozen=True)
class CheckedDocument:
    customer: Customer
    number: str
    type: str
    date: date
    amount_cents: int
    pdf: bytes
    pdf_name: str
    pdf_sha256: str = ""  # set, and the bytes dropped, once the PDF is stored
    pdf_size: int = 0

    def differences(self, stored: Document) -> list[str]:
        """What differs from a stored document of the same number (empty when it is the very same)."""
        ours = (self.customer.id, self.type, self.date, self.amount_cents, self.pdf_sha256)
        theirs = (stored.customer_id, stored.type, stored.date, stored.amount_cents, stored.pdf_sha256)
        return [name for name, a, b in zip(COMPARED, ours, theirs) if a != b]


COMPARED = ("customer", "type", "date", "amount", "PDF")
Recipient = tuple[User, str, str]  # who, how often (frequency), by which channels (both | mail)
NOTIFY_MODES = ("each", "coalesce", "none")


def read_pdf_file(path: str | Path) -> tuple[bytes, str]:
    file = Path(path)
    try:
        return file.read_bytes(), file.name
    except (FileNotFoundError, IsADirectoryError):
        raise ValidationError(f"PDF file not found: {file}", field="pdf") from None
    except OSError as exc:  # unreadable (permissions, a device): that row's problem, not the import's
        raise ValidationError(f"PDF file {file} cannot be read: {exc.strerror}", field="pdf") from None


def check(item: DocumentInput, customers: Callable[[str], Customer] = accounts.get_customer) -> CheckedDocument:
    """Every problem with the input, as a ValidationError naming the field; nothing is written."""
    customer = customers(item.customer)
    if not item.pdf:
        raise ValidationError("the PDF is missing or empty", field="pdf")
    storage.check_pdf(item.pdf, item.pdf_name)
    return CheckedDocument(customer, validation.document_number(item.number), validation.document_type(item.type),
                           validation.iso_date(item.date), validation.amount_cents(item.amount), item.pdf,
                           Path(item.pdf_name).name[:200] or "document.pdf")


def store_pdf(rt: Runtime, doc: CheckedDocument) -> CheckedDocument:
    """The document with its PDF stored (content-addressed: a rollback later leaves no harm), minus the bytes."""
    sha = storage.store_pdf(rt.config, doc.pdf, doc.pdf_name)
    return replace(doc, pdf=b"", pdf_sha256=sha, pdf_size=len(doc.pdf))


def publish(rt: Runtime, item: DocumentInput, actor: str = "system") -> Document:
    doc = store_pdf(rt, check(item))  # outside the transaction: the write lock is held for the rows only
    return transaction(lambda: _publish_new(rt, doc, actor), f"publishing {doc.number}")


def _publish_new(rt: Runtime, doc: CheckedDocument, actor: str) -> Document:
    publication = Publication(rt, [doc], actor)
    if publication.known:
        raise Conflict(f"document {doc.number} already exists for issuer {doc.customer.issuer.prefix}",
                       field="number")
    return publication.insert(doc)


class Publication:
    """Documents published within the caller's transaction, with what they share read once: which of their
    numbers are stored already (one query for all) and each customer's recipients."""

    def __init__(self, rt: Runtime, docs: list[CheckedDocument], actor: str, notify_mode: str = "each") -> None:
        self.rt, self.actor, self.notify_mode = rt, actor, notify_mode
        self.known = _stored(docs)
        self._recipients: dict[int, list[Recipient]] = {}

    def publish_once(self, doc: CheckedDocument) -> Document | None:
        """The document published, or None when the very same one is already there (a rerun); the same
        number with other content is a Conflict naming what differs, raised before anything is written."""
        found = self.known.get(_key(doc))
        if found is None:
            return self.insert(doc)
        if differences := doc.differences(found):
            raise Conflict(f"document {doc.number} already exists for issuer {doc.customer.issuer.prefix} with "
                           f"another {', '.join(differences)}", field="number")
        return None

    def insert(self, doc: CheckedDocument) -> Document:
        """The document row, its notifications and mails, and the audit line."""
        document = Document.create(
            issuer=doc.customer.issuer_id, customer=doc.customer, number=doc.number,
            number_key=validation.number_key(doc.number), type=doc.type, date=doc.date,
            amount_cents=doc.amount_cents, pdf_sha256=doc.pdf_sha256, pdf_size=doc.pdf_size,
            pdf_name=doc.pdf_name, created_at=naive_utc(self.rt.now()))
        self.known[_key(doc)] = document
        notify(self.rt, document, self.notify_mode, self.recipients(doc.customer))
        detail = {"notify": self.notify_mode} if self.notify_mode != "each" else {}  # a silent one says so
        audit.record(self.rt, self.actor, "document.publish", doc.number, customer=doc.customer.number, **detail)
        return document

    def recipients(self, customer: Customer) -> list[Recipient]:
        if customer.id not in self._recipients:
            self._recipients[customer.id] = _recipients_with_frequency(customer)
        return self._recipients[customer.id]


def _key(doc: CheckedDocument) -> tuple[int, str]:
    return doc.customer.issuer_id, doc.number


def _stored(docs: list[CheckedDocument]) -> dict[tuple[int, str], Document]:
    issuers, numbers = list({doc.customer.issuer_id for doc in docs}), list({doc.number for doc in docs})
    query = Document.select().where(bulk.among(Document.issuer, issuers), bulk.among(Document.number, numbers))
    return {(document.issuer_id, document.number): document for document in query}


def notify(rt: Runtime, document: Document, mode: str = "each",
           recipients: list[Recipient] | None = None) -> list[Notification]:
    """One notification per recipient; immediate ones are mailed now, the rest wait for their digest.

    `coalesce` leaves the immediate ones pending too, for one summary per recipient at the end of an import
    (outbound.summary); `none` tells no one (history being loaded).
    """
    if mode == "none":
        return []
    created = []
    found = _recipients_with_frequency(document.customer) if recipients is None else recipients
    for user, frequency, channels in found:
        note = Notification(user=user, document=document, customer=document.customer, frequency=frequency,
                            status="pending", created_at=naive_utc(rt.now()))
        if frequency == "immediate" and mode == "each":
            note.outbox, note.status = mails.document_notice(rt, user, document, channels == "mail"), "queued"
        elif frequency == "off":
            note.status = "skipped"
        note.save(force_insert=True)
        created.append(note)
    return created


def _recipients_with_frequency(customer: Customer) -> list[Recipient]:
    """Who is told about the number's documents (portal-only shared users are not), how often, by which channels."""
    query = (User.select(User, Preference.frequency.alias("frequency"), Access.channels.alias("channels"))
             .join(Access, on=(Access.user == User.id))
             .join(Preference, join_type=JOIN.LEFT_OUTER,
                   on=((Preference.user == User.id) & (Preference.customer == Access.customer)))
             .where(Access.customer == customer, Access.channels.in_(accounts.MAILED)).order_by(User.id).objects())
    return [(user, user.frequency or "immediate", user.channels) for user in query]


def get_visible(user: User, document_id: int, channels: tuple[str, ...] = CHANNELS) -> Document:
    """A document the user may see (through `channels`: the viewer asks for PORTAL); any other id is not found."""
    document = (Document.select().join(Access, on=(Access.customer == Document.customer))
                .where(Document.id == document_id, Access.user == user, Access.channels.in_(channels)).first())
    if document is None:
        raise NotFound("no such document")
    return document


def visible_by_number(user: User, number: str) -> list[Document]:
    """The documents of that number, written loosely (f2026 0042 finds F2026-0042), among every customer
    number the user sees: one per issuer at most, since a number is unique per issuer."""
    return list(Document.select().join(Access, on=(Access.customer == Document.customer))
                .where(Document.number_key == validation.number_key(number), Access.user == user)
                .order_by(Document.customer, Document.id))
