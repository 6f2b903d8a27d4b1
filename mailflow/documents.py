"""Publishing documents: one transaction writes the document, its notifications and the immediate mails."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from peewee import JOIN

from mailflow import accounts, audit, storage, validation
from mailflow.clock import naive_utc
from mailflow.errors import Conflict, NotFound, ValidationError
from mailflow.models import Access, Customer, Document, Notification, Preference, User
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


def read_pdf_file(path: str | Path) -> tuple[bytes, str]:
    file = Path(path)
    try:
        return file.read_bytes(), file.name
    except (FileNotFoundError, IsADirectoryError):
        raise ValidationError(f"PDF file not found: {file}", field="pdf") from None


def check(item: DocumentInput) -> CheckedDocument:
    """Every problem with the input, as a ValidationError naming the field; nothing is written."""
    customer = accounts.get_customer(item.customer)
    if not item.pdf:
        raise ValidationError("the PDF is missing or empty", field="pdf")
    storage.check_pdf(item.pdf, item.pdf_name)
    return CheckedDocument(customer, validation.document_number(item.number), validation.document_type(item.type),
                           validation.iso_date(item.date), validation.amount_cents(item.amount), item.pdf,
                           Path(item.pdf_name).name[:200] or "document.pdf")


def publish(rt: Runtime, item: DocumentInput, actor: str = "system") -> Document:
    doc = check(item)
    sha = storage.store_pdf(rt.config, doc.pdf, doc.pdf_name)  # content-addressed: a rollback leaves no harm
    with rt.db.atomic():
        if Document.select().where(Document.issuer == doc.customer.issuer_id, Document.number == doc.number).exists():
            raise Conflict(f"document {doc.number} already exists for issuer {doc.customer.issuer.prefix}",
                           field="number")
        document = Document.create(
            issuer=doc.customer.issuer_id, customer=doc.customer, number=doc.number,
            number_key=validation.number_key(doc.number), type=doc.type, date=doc.date,
            amount_cents=doc.amount_cents, pdf_sha256=sha, pdf_size=len(doc.pdf), pdf_name=doc.pdf_name,
            created_at=naive_utc(rt.now()))
        notify(rt, document)
        audit.record(rt, actor, "document.publish", doc.number, customer=doc.customer.number)
    return document


def notify(rt: Runtime, document: Document) -> list[Notification]:
    """One notification per recipient; immediate ones are mailed now, the rest wait for their digest."""
    created = []
    for user, frequency in _recipients_with_frequency(document.customer):
        note = Notification(user=user, document=document, customer=document.customer, frequency=frequency,
                            status="pending", created_at=naive_utc(rt.now()))
        if frequency == "immediate":
            note.outbox, note.status = mails.document_notice(rt, user, document), "queued"
        elif frequency == "off":
            note.status = "skipped"
        note.save(force_insert=True)
        created.append(note)
    return created


def _recipients_with_frequency(customer: Customer) -> list[tuple[User, str]]:
    query = (User.select(User, Preference.frequency.alias("frequency"))
             .join(Access, on=(Access.user == User.id))
             .join(Preference, join_type=JOIN.LEFT_OUTER,
                   on=((Preference.user == User.id) & (Preference.customer == Access.customer)))
             .where(Access.customer == customer).order_by(User.id).objects())
    return [(user, user.frequency or "immediate") for user in query]


def get_visible(user: User, document_id: int) -> Document:
    """A document the user may see; any other id is simply not found."""
    document = (Document.select().join(Access, on=(Access.customer == Document.customer))
                .where(Document.id == document_id, Access.user == user).first())
    if document is None:
        raise NotFound("no such document")
    return document


def find_by_number(user: User, number: str, customer_id: int | None = None) -> Document:
    """A visible document by its number, written loosely (f2026 0042 finds F2026-0042)."""
    query = (Document.select().join(Access, on=(Access.customer == Document.customer))
             .where(Document.number_key == validation.number_key(number), Access.user == user))
    if customer_id is not None:
        query = query.where(Document.customer == customer_id)
    document = query.order_by(Document.date.desc()).first()
    if document is None:
        raise NotFound(f"no document {number} that you can see")
    return document
