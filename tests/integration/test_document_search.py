"""The listing's SQL against a plain ordering in Python: random documents over many customer numbers, every
sort and direction, filters, pages, for users who see one, a few or many numbers."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from mailflow import bulk, document_search, validation
from mailflow.clock import naive_utc
from mailflow.db import database
from mailflow.migrations import apply_migrations
from mailflow.models import Customer, Document, Issuer, SchemaVersion, User

CUSTOMERS = 40
DOCUMENTS = 3000
PER_PAGE = 7  # small pages, so that a few thousand rows make many of them
FILTERS = [
    {}, {"type": "credit_note"}, {"type": "invoice"}, {"date_from": "2026-01-20", "date_to": "2026-02-10"},
    {"amount_min": "10.00", "amount_max": "30.00"}, {"number": "7"}, {"number": "c1"},
    {"date_from": "2026-02-01", "type": "invoice", "amount_max": "40"},
]


@dataclass(frozen=True)
class Row:
    id: int
    number: str
    type: str
    date: date
    amount_cents: int
    customer_id: int
    customer_number: str


@pytest.fixture
def rows(rt) -> list[Row]:
    """Customer numbers inserted in shuffled order (ids do not follow numbers), some with no documents, some
    with many; few dates, amounts and types, so that ties are everywhere and only the id breaks them."""
    rng = random.Random(13)
    now, issuer = naive_utc(rt.now()), Issuer.select().first()
    numbers = [f"DL2{n:06d}" for n in rng.sample(range(1, 999_999), CUSTOMERS)]
    owner = User.create(email="compta@fiduciaire.example", language="fr", created_at=now)
    ids = [Customer.create(number=number, issuer=issuer, company=number, primary_user=owner, created_at=now).id
           for number in numbers]
    weights = [0 if n % 9 == 0 else 1 + n % 5 for n in range(CUSTOMERS)]
    owners = rng.choices(range(CUSTOMERS), weights, k=DOCUMENTS)
    made = [_document(rng, n, ids[owner], numbers[owner]) for n, owner in enumerate(owners)]
    fields = (Document.issuer, Document.customer, Document.number, Document.number_key, Document.type, Document.date,
              Document.amount_cents, Document.pdf_sha256, Document.pdf_size, Document.pdf_name, Document.created_at)
    inserted = bulk.insert(fields, [(issuer.id, row.customer_id, row.number, validation.number_key(row.number),
                                     row.type, row.date, row.amount_cents, "0" * 64, 1, "x.pdf", now)
                                    for row in made], returning=(Document.id,))
    return [Row(doc_id, *_fields(row)) for (doc_id,), row in zip(inserted, made, strict=True)]


def _document(rng: random.Random, n: int, customer_id: int, customer_number: str) -> Row:
    kind = rng.choice(["invoice", "invoice", "invoice", "credit_note"])
    number = f"{'C' if kind == 'credit_note' else 'F'}{rng.choice(['', '-', '/'])}{rng.randrange(1, 3000)}-{n}"
    day = date(2026, 1, 1) + timedelta(days=rng.randrange(60))
    return Row(0, number, kind, day, rng.choice(range(500, 5000, 250)), customer_id, customer_number)


def _fields(row: Row) -> tuple:
    return row.number, row.type, row.date, row.amount_cents, row.customer_id, row.customer_number


def expected(rows: list[Row], visible: set[int], flt: document_search.DocumentFilter) -> list[int]:
    """The page's ids as the listing promises them, sorted by Python's stable sort, last key first."""
    found = [row for row in rows if row.customer_id in visible and _matches(row, flt)]
    keys = {"date": lambda r: r.date, "number": lambda r: r.number, "amount": lambda r: r.amount_cents,
            "type": lambda r: r.type, "customer": lambda r: r.customer_number}
    if flt.sort in ("type", "customer"):  # newest first within a group
        found.sort(key=lambda r: (r.date, r.id), reverse=True)
        found.sort(key=keys[flt.sort], reverse=flt.order == "desc")
    else:
        found.sort(key=lambda r: (keys[flt.sort](r), r.id), reverse=flt.order == "desc")
    start = (flt.page - 1) * PER_PAGE
    return [row.id for row in found[start:start + PER_PAGE + 1]]


def _matches(row: Row, flt: document_search.DocumentFilter) -> bool:
    return ((flt.date_from is None or row.date >= flt.date_from) and (flt.date_to is None or row.date <= flt.date_to)
            and (flt.type is None or row.type == flt.type) and (flt.number is None or flt.number in
                                                                 validation.number_key(row.number))
            and (flt.amount_min is None or row.amount_cents >= flt.amount_min)
            and (flt.amount_max is None or row.amount_cents <= flt.amount_max))


def listed(visible: dict[int, str], flt: document_search.DocumentFilter) -> list[int]:
    return [found[0] for found in database.execute_sql(*document_search.query(visible, flt, PER_PAGE)).fetchall()]


@pytest.mark.parametrize("size", [1, 5, 33])
def test_every_sort_filter_and_page_lists_what_a_plain_sort_lists(rt, rows, size):
    customers = {row.customer_id: row.customer_number for row in rows}
    customers.update({c.id: c.number for c in Customer.select()})  # numbers with no documents too
    rng = random.Random(size)
    checked = 0
    for params in FILTERS:
        visible = dict(rng.sample(sorted(customers.items()), size))
        for sort in document_search.SORTS:
            for order in document_search.ORDERS:
                for page in (1, 2, 5, 40):
                    flt = document_search.parse({**params, "sort": sort, "order": order, "page": str(page)})
                    assert listed(visible, flt) == expected(rows, set(visible), flt), flt
                    checked += 1
    assert checked == len(FILTERS) * 10 * 4


def test_pages_follow_one_another_without_overlap_or_gap(rt, rows):
    """Walking every page of a large selection gives each matching document exactly once, in order."""
    visible = {row.customer_id: row.customer_number for row in rows}
    for sort in ("date", "customer", "type"):
        flt = document_search.parse({"sort": sort, "type": "credit_note"})
        seen: list[int] = []
        while page := listed(visible, flt)[:PER_PAGE]:
            seen += page
            flt = document_search.parse({"sort": sort, "type": "credit_note", "page": str(flt.page + 1)})
        assert seen == expected_all(rows, set(visible), flt)


def expected_all(rows: list[Row], visible: set[int], flt: document_search.DocumentFilter) -> list[int]:
    everything = document_search.DocumentFilter(type=flt.type, sort=flt.sort, order=flt.order, page=1)
    big = [row for row in rows if row.customer_id in visible and _matches(row, everything)]
    pages = (len(big) + PER_PAGE - 1) // PER_PAGE
    found: list[int] = []
    for page in range(1, pages + 1):
        found += expected(rows, visible, document_search.DocumentFilter(
            type=flt.type, sort=flt.sort, order=flt.order, page=page))[:PER_PAGE]
    return found


def test_a_user_with_a_number_that_has_no_documents_and_one_with_many(rt, rows):
    """Numbers without rows take no part; one number's own order comes through unchanged among others."""
    counts: dict[int, int] = {}
    for row in rows:
        counts[row.customer_id] = counts.get(row.customer_id, 0) + 1
    empty = next(c for c in Customer.select() if c.id not in counts)
    busiest = max(counts, key=counts.__getitem__)
    visible = {empty.id: empty.number, busiest: next(r.customer_number for r in rows if r.customer_id == busiest)}
    for page in (1, 3):
        flt = document_search.parse({"sort": "amount", "order": "asc", "page": str(page)})
        assert listed(visible, flt) == expected(rows, set(visible), flt)
        assert listed({busiest: visible[busiest]}, flt) == listed(visible, flt)


def test_version_60_makes_one_listing_index_per_order_and_runs_again_harmlessly(rt):
    found = {index.name: tuple(index.columns) for index in rt.db.get_indexes("document")}
    assert found["document_listing_date"][:3] == ("customer_id", "date", "id")
    assert found["document_listing_amount"][:3] == ("customer_id", "amount_cents", "id")
    assert {"document_listing_number", "document_listing_type", "document_listing_type_asc"} <= set(found)
    SchemaVersion.delete().where(SchemaVersion.version == 60).execute()
    assert "0060_document_listing_indexes" in apply_migrations(rt.db, rt.clock)
