"""`mailflow demo`: realistic data for an empty database (two issuers, a dozen customers, years of documents)."""

from __future__ import annotations

import random
from datetime import date, timedelta

from mailflow import accounts, audit, storage, validation
from mailflow.accounts import Person
from mailflow.clock import naive_utc
from mailflow.documents import DocumentInput, publish
from mailflow.errors import Conflict
from mailflow.models import ALL_MODELS, Customer, Document, Issuer, SchemaVersion
from mailflow.pdf import simple_pdf
from mailflow.runtime import Runtime

COMPANIES = [
    ("DL2100001", "Garage Dupont SRL", "BE0403170701", "marie.dupont@example.be", "Marie", "Dupont", "fr"),
    ("DL2100002", "Bakkerij Peeters BV", None, "an.peeters@example.be", "An", "Peeters", "nl"),
    ("DL2100003", "Transports Lambert SA", None, "luc.lambert@example.be", "Luc", "Lambert", "fr"),
    ("DL2100004", "Janssens & Zonen NV", None, "els.janssens@example.be", "Els", "Janssens", "nl"),
    ("DL2100005", "Brussels Design Studio", None, "sam.taylor@example.com", "Sam", "Taylor", "en"),
    ("DL2100006", "Pharmacie Leroy", None, "claire.leroy@example.be", "Claire", "Leroy", "fr"),
    ("DL5200001", "Garage Dupont SRL (Namur)", None, "marie.dupont@example.be", "Marie", "Dupont", "fr"),
    ("DL5200002", "Vervoer Maes BVBA", None, "tom.maes@example.be", "Tom", "Maes", "nl"),
    ("DL5200003", "Cabinet Médical Renard", None, "paul.renard@example.be", "Paul", "Renard", "fr"),
    ("DL5200004", "Hoveniers De Smet", None, "lies.desmet@example.be", "Lies", "De Smet", "nl"),
    ("DL5200005", "Eifel Logistik GmbH", None, "jonas.weber@example.de", "Jonas", "Weber", "de"),
    ("DL5200006", "Atelier Wouters", None, "nina.wouters@example.be", "Nina", "Wouters", "fr"),
]
SHARES = [("DL2100001", "compta@fiduciaire.example", "Jan", "Peeters", "nl"),
          ("DL5200002", "boekhouding@accountant.example", "Sofie", "Claes", "nl")]


def run_demo(rt: Runtime, years: int = 3, seed: int = 7, reset: bool = False) -> dict[str, int]:
    """Fill an empty database; refuses to touch one that already has customers, unless told to `reset` it."""
    rng = random.Random(seed)
    with rt.db.atomic():  # emptied and filled at once: a failed fill leaves the data as it was
        if reset:
            empty(rt)
        if Customer.select().exists():
            raise Conflict("the database already has customers; the demo only fills an empty one (--reset empties "
                           "it first)")
        return _fill(rt, rng, years)


def empty(rt: Runtime) -> None:
    """Delete every row but the issuers (they come from the configuration) and the schema's version; children
    first, as the models are listed parents first. Stored PDFs stay: retention removes unreferenced ones."""
    for model in reversed(ALL_MODELS):
        if model not in (Issuer, SchemaVersion):
            model.delete().execute()
    audit.record(rt, "cli", "demo.reset", "")


def _fill(rt: Runtime, rng: random.Random, years: int) -> dict[str, int]:
    for number, company, enterprise, email, first, last, lang in COMPANIES:
        accounts.add_customer(rt, number, company, Person(email, first, last, lang), enterprise)
    for number, email, first, last, lang in SHARES:
        accounts.share(rt, number, Person(email, first, last, lang))
    history = _history(rt, rng, years)
    fresh = _fresh_documents(rt)
    return {"customers": len(COMPANIES), "shared users": len(SHARES), "documents": history + fresh}


def _history(rt: Runtime, rng: random.Random, years: int) -> int:
    """Past documents, bulk-inserted: they were announced long ago, so no mail is queued for them."""
    today = rt.now().date()
    rows = []
    for customer in Customer.select():
        for months_back in range(1, years * 12):
            rows.append(_historic_row(rt, customer, today, months_back, rng))
    with rt.db.atomic():
        for start in range(0, len(rows), 500):
            Document.insert_many(rows[start:start + 500]).execute()
    return len(rows)


def _historic_row(rt: Runtime, customer: Customer, today: date, months_back: int, rng: random.Random) -> dict:
    day = (today.replace(day=1) - timedelta(days=30 * months_back)).replace(day=rng.randint(1, 28))
    credit = rng.random() < 0.08
    number = f"{'C' if credit else 'F'}{day.year}-{customer.number[-4:]}{months_back:03d}"
    pdf = simple_pdf(customer.company, f"{'Credit note' if credit else 'Invoice'} {number}", str(day))
    return {"issuer": customer.issuer_id, "customer": customer.id, "number": number,
            "number_key": validation.number_key(number), "type": "credit_note" if credit else "invoice",
            "date": day, "amount_cents": rng.randint(15_000, 450_000), "currency": "EUR",
            "pdf_sha256": storage.store_pdf(rt.config, pdf), "pdf_size": len(pdf),
            "pdf_name": f"{number}.pdf", "created_at": naive_utc(rt.now())}


def _fresh_documents(rt: Runtime) -> int:
    """This month's invoices, published the normal way so their notifications go out."""
    today = rt.now().date()
    for number in ("DL2100001", "DL2100002", "DL5200002"):
        doc_number = f"F{today.year}-{number[-4:]}{today.month:02d}"
        pdf = simple_pdf(f"Invoice {doc_number}", str(today))
        publish(rt, DocumentInput(number, doc_number, "invoice", today.isoformat(), "1234.56", pdf,
                                  f"{doc_number}.pdf"), actor="demo")
    return 3
