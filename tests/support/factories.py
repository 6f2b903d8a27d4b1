"""Small builders for test data through the real services."""

from __future__ import annotations

from mailflow import accounts, documents
from mailflow.accounts import Person
from mailflow.models import Customer, Document, User
from mailflow.pdf import simple_pdf
from mailflow.runtime import Runtime

MARIE = Person("marie.dupont@example.be", "Marie", "Dupont", "fr")
JAN = Person("compta@fiduciaire.example", "Jan", "Peeters", "nl")


def customer(rt: Runtime, number: str = "DL2123456", contact: Person = MARIE,
             company: str = "Garage Dupont SRL") -> Customer:
    return accounts.add_customer(rt, number, company, contact, "BE0403170701" if number == "DL2123456" else None)


def share(rt: Runtime, number: str = "DL2123456", person: Person = JAN) -> User:
    return accounts.share(rt, number, person)


def document(rt: Runtime, customer_number: str = "DL2123456", number: str = "F2026-0042",
             amount: str = "1234.56", doc_type: str = "invoice", day: str = "2026-11-02") -> Document:
    pdf = simple_pdf(f"Invoice {number}")
    return documents.publish(rt, documents.DocumentInput(customer_number, number, doc_type, day, amount, pdf,
                                                         f"{number}.pdf"))


def JAN_user() -> User:  # noqa: N802 - reads like the constant it belongs to
    return User.get(User.email == JAN.email)
