"""The listing's SQL against a plain ordering in Python: random documents over many customer numbers, every
sort and direction, filters, pages, for users who see one, a few or many numbers."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlparse

import pytest
from peewee import PostgresqlDatabase

from mailflow import bulk, document_search, validation
from mailflow.clock import naive_utc
from mailflow.db import database
from mailflow.errors import ConfigError
from mailflow.migrations import MIGRATIONS_DIR, _load, apply_migrations
from mailflow.models import Customer, Document, Issuer, SchemaVersion, User
from tests.support.env import PG_URL, PostgresDatabase, admin as _admin

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


# Number searches of every length; `%` and `_` are no part of a key (validation.number_key), so they never reach
# LIKE as wildcards: "1%2_3" searches for 123, "%7_" for 7.
NUMBERS = ["123", "F12", "c29", "250-1", "1%2_3", "f/1 2", "12", "%7_", "C", "F1234-5"]


@pytest.mark.parametrize("size", [5, 33])
def test_a_number_search_of_any_length_lists_what_a_plain_sort_lists(rt, rows, size):
    visible = dict(random.Random(size).sample(sorted({r.customer_id: r.customer_number for r in rows}.items()), size))
    for number in NUMBERS:
        for sort in document_search.SORTS:
            for order, page in (("asc", 1), ("desc", 1), ("desc", 2), ("asc", 4)):
                flt = document_search.parse({"number": number, "sort": sort, "order": order, "page": str(page)})
                assert listed(visible, flt) == expected(rows, set(visible), flt), flt
    assert document_search.parse({"number": "1%2_3"}).number == "123"


needs_postgres = pytest.mark.skipif(not PG_URL, reason="needs MAILFLOW_TEST_DATABASE_URL (PostgreSQL)")
# The rarity of a key, decided: rare (every match found, through the trigram index at scale) or common (each
# number's first rows). Either keeps the statement's one parameter, the key's pattern.
RARE, COMMON = 'SELECT %s IS NOT NULL AS "rare"', 'SELECT %s IS NULL AS "rare"'


@needs_postgres
@pytest.mark.parametrize("rarity", [RARE, COMMON])
def test_a_number_search_either_way_lists_what_the_per_number_path_lists(rt, rows, monkeypatch, rarity):
    """From 3 characters on, PostgreSQL finds a rare key's matches all at once (the trigram index, migration
    0070) instead of reading each number's rows in the listing's order: same rows, same order, page after page."""
    monkeypatch.setattr(document_search, "_RARITY", rarity)
    visible = {r.customer_id: r.customer_number for r in rows if r.customer_id % 3}
    for number in ["123", "F12", "c29", "250-1", "1%2_3", "F1234-5", "ZZZ"]:
        for sort in document_search.SORTS:
            for order in document_search.ORDERS:
                for page in (1, 2, 3, 9):
                    flt = document_search.parse({"number": number, "sort": sort, "order": order, "page": str(page)})
                    args = (list(visible), flt, document_search._conditions(flt), PER_PAGE)
                    searched, walked = document_search._number_search(*args), document_search._per_number(*args)
                    assert run(searched) == run(walked) == expected(rows, set(visible), flt), flt
                    assert document_search.query(visible, flt, PER_PAGE) == searched


@needs_postgres
def test_a_short_key_other_filters_and_fewer_numbers_keep_the_per_number_path(rt, rows):
    everyone = {r.customer_id: r.customer_number for r in rows}
    few = dict(sorted(everyone.items())[:document_search.MANY - 1])
    for visible, params in [(everyone, {"number": "12"}), (everyone, {"number": "%7_"}),
                            (everyone, {"type": "invoice"}), (everyone, {"number": "c", "sort": "amount"}),
                            (few, {"number": "123"})]:
        flt = document_search.parse(params)
        args = (list(visible), flt, document_search._conditions(flt), PER_PAGE)
        assert document_search.query(visible, flt, PER_PAGE) == document_search._per_number(*args)


@needs_postgres
def test_a_key_is_rare_when_few_numbers_of_the_statistics_sample_hold_it(rt, rows):
    def rare(key: str) -> bool:
        return database.execute_sql(document_search._RARITY, [f"%{key}%"]).fetchone()[0]
    rt.db.execute_sql('ANALYZE "document"')
    attribute = "SELECT attstattarget FROM pg_attribute WHERE attrelid = 'document'::regclass AND attname = %s"
    assert database.execute_sql(attribute, ["number_key"]).fetchone()[0] == 1000  # migration 0070
    assert rare("ZZZ") and rare("F12345")
    assert not rare("F1") and not rare("")  # in a quarter of the numbers, in all of them


def run(statement: tuple[str, list]) -> list[int]:
    return [found[0] for found in database.execute_sql(*statement).fetchall()]


def test_version_70_indexes_numbers_by_trigram_on_postgresql_only(rt):
    found = {index.name: index.sql for index in rt.db.get_indexes("document")}
    if PG_URL:
        assert "USING gin (lower((number_key)::text) gin_trgm_ops)" in found["document_number_trigram"]
    else:
        assert "document_number_trigram" not in found
    SchemaVersion.delete().where(SchemaVersion.version == 70).execute()
    assert apply_migrations(rt.db, rt.clock) == ["0070_document_number_trigram"]


@needs_postgres
def test_version_70_refused_the_extension_says_who_can_create_it(rt):
    """A database whose user may not create extensions: a ConfigError naming the statement, no silent skip; once
    its owner has created pg_trgm, the same user goes on."""
    bare, role = PostgresDatabase(PG_URL).create(), f"mailflow_test_{uuid.uuid4().hex[:10]}"
    _admin(PG_URL, f'CREATE ROLE "{role}" LOGIN')
    parts = urlparse(bare.url)
    db = PostgresqlDatabase(bare.name, user=role, host=parts.hostname, port=parts.port or 5432)
    migration = _load(MIGRATIONS_DIR / "0070_document_number_trigram.py")
    try:
        with pytest.raises(ConfigError, match=r"CREATE EXTENSION pg_trgm;.*owner") as refused:
            migration.migrate(db)
        assert bare.name in refused.value.message and "permission denied" in refused.value.message
        _admin(bare.url, "CREATE EXTENSION pg_trgm")
        migration.create_extension(db)
    finally:
        db.close()
        bare.drop()
        _admin(PG_URL, f'DROP ROLE "{role}"')
