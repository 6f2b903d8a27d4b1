"""Finding documents for the viewer and the API: filters, sort and pages, always scoped by customer number."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Mapping

from mailflow import bulk, validation
from mailflow.db import database, is_postgres
from mailflow.errors import ValidationError

SORTS = ("date", "number", "type", "customer", "amount")
ORDERS = ("asc", "desc")
PER_PAGE = 25
MAX_PAGE = 2000  # deep offsets cost a scan; nobody pages 50,000 rows by hand
TRIGRAM = 3  # pg_trgm indexes a number three characters at a time: a shorter key has no trigram to look up
# Below MANY numbers, reading all their rows costs no more than the trigram index's own lookup of a key of
# common digits (3–12 ms). At 2,500 documents a number, a rare key's search read that way against through the
# trigram index takes 6 against 4–12 ms for 10 numbers, 11–13 against 5–15 for 20, 16–18 against 6–14 for 30.
MANY = 20
FIELDS = ("date_from", "date_to", "number", "type", "amount_min", "amount_max", "customer", "sort", "order",
          "page")


@dataclass(frozen=True)
class DocumentFilter:
    """What the user asked for, checked; `customer` is a customer number such as DL2123456."""

    date_from: date | None = None
    date_to: date | None = None
    number: str | None = None
    type: str | None = None
    amount_min: int | None = None
    amount_max: int | None = None
    customer: str | None = None
    sort: str = "date"
    order: str = "desc"
    page: int = 1

    def params(self, **changes: object) -> dict[str, str]:
        """Query parameters that reproduce this filter (with `changes`), defaults left out."""
        chosen = replace(self, **changes) if changes else self
        raw = {"date_from": chosen.date_from, "date_to": chosen.date_to, "number": chosen.number,
               "type": chosen.type, "amount_min": _amount_text(chosen.amount_min),
               "amount_max": _amount_text(chosen.amount_max), "customer": chosen.customer,
               "sort": None if chosen.sort == "date" else chosen.sort,
               "order": None if chosen.order == default_order(chosen.sort) else chosen.order,
               "page": None if chosen.page == 1 else chosen.page}
        return {key: str(value) for key, value in raw.items() if value is not None}

    @property
    def is_filtered(self) -> bool:
        return any(v is not None for v in (self.date_from, self.date_to, self.number, self.type,
                                           self.amount_min, self.amount_max, self.customer))


@dataclass(frozen=True)
class DocumentRow:
    id: int
    number: str
    type: str
    date: date
    amount_cents: int
    currency: str
    customer_id: int
    customer_number: str
    viewed: bool


@dataclass(frozen=True)
class DocumentPage:
    rows: list[DocumentRow]
    page: int
    per_page: int
    has_next: bool
    filter: DocumentFilter = field(default_factory=DocumentFilter)

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def default_order(sort: str) -> str:
    """Newest first for dates, largest first for amounts, A to Z otherwise."""
    return "desc" if sort in ("date", "amount") else "asc"


def parse(params: Mapping[str, str]) -> DocumentFilter:
    """Check query parameters; a ValidationError names the first bad one. Empty values mean "not set"."""
    given = {key: params[key].strip() for key in FIELDS if params.get(key, "").strip()}
    sort = _choice(given.get("sort", "date"), SORTS, "sort")
    flt = DocumentFilter(
        date_from=_date(given, "date_from"), date_to=_date(given, "date_to"), number=_number(given),
        type=_type(given), amount_min=_amount(given, "amount_min"), amount_max=_amount(given, "amount_max"),
        customer=given.get("customer", "").upper() or None, sort=sort,
        order=_choice(given.get("order", default_order(sort)), ORDERS, "order"), page=_page(given))
    _check_ranges(flt)
    return flt


def _choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value.lower() not in allowed:
        raise ValidationError(f"{name} must be one of {', '.join(allowed)}, got {value!r}", field=name)
    return value.lower()


def _date(given: Mapping[str, str], name: str) -> date | None:
    return validation.iso_date(given[name], name) if name in given else None


def _number(given: Mapping[str, str]) -> str | None:
    if "number" not in given:
        return None
    key = validation.number_key(given["number"])
    if not key or len(key) > 64:
        raise ValidationError(f"number {given['number']!r} has no letters or digits to search for", field="number")
    return key


def _type(given: Mapping[str, str]) -> str | None:
    if "type" not in given:
        return None
    try:
        return validation.document_type(given["type"])
    except ValidationError as exc:
        raise ValidationError(exc.message, field="type") from None


def _amount(given: Mapping[str, str], name: str) -> int | None:
    if name not in given:
        return None
    try:
        return validation.amount_cents(given[name])
    except ValidationError as exc:
        raise ValidationError(exc.message.replace("amount", name, 1), field=name) from None


def _page(given: Mapping[str, str]) -> int:
    text = given.get("page", "1")
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
        raise ValidationError(f"page must be a whole number from 1 to {MAX_PAGE}, got {text!r}", field="page")
    return int(text)


def _check_ranges(flt: DocumentFilter) -> None:
    if flt.date_from and flt.date_to and flt.date_from > flt.date_to:
        raise ValidationError("date_from is after date_to", field="date_range")
    if flt.amount_min is not None and flt.amount_max is not None and flt.amount_min > flt.amount_max:
        raise ValidationError("amount_min is larger than amount_max", field="amount_range")


def _amount_text(cents: int | None) -> str | None:
    return None if cents is None else f"{cents // 100}.{cents % 100:02d}"


def scope(visible: Mapping[int, str], flt: DocumentFilter) -> dict[int, str]:
    """The customer numbers to search (id → number): the visible ones, or the one asked for among them."""
    if flt.customer is None:
        return dict(visible)
    chosen = {cid: number for cid, number in visible.items() if number == flt.customer}
    if not chosen:
        raise ValidationError(f"customer {flt.customer} is not one of your customer numbers", field="customer")
    return chosen


def search(user_id: int, customers: dict[int, str], flt: DocumentFilter, per_page: int = PER_PAGE) -> DocumentPage:
    """One page of documents of `customers` (id → number) for `user_id`, with their viewed state."""
    if not customers:
        return DocumentPage([], flt.page, per_page, False, flt)
    found = database.execute_sql(*query(customers, flt, per_page)).fetchall()
    viewed = _viewed(user_id, [row[0] for row in found[:per_page]])
    rows = [DocumentRow(doc_id, number, kind, _as_date(day), cents, currency, customer_id, customers[customer_id],
                        doc_id in viewed)
            for doc_id, number, kind, day, cents, currency, customer_id in found[:per_page]]
    return DocumentPage(rows, flt.page, per_page, len(found) > per_page, flt)


_COLUMNS = 'SELECT d."id", d."number", d."type", d."date", d."amount_cents", d."currency", d."customer_id"'
_SELECT = f'{_COLUMNS} FROM "document" AS d'
_JOIN_CUSTOMER = ' INNER JOIN "customer" AS c ON c."id" = d."customer_id"'
_NUMBER_LIKE = 'd."number_key" LIKE '
_ORDER_COLUMNS = {"date": 'd."date"', "number": 'd."number"', "type": 'd."type"', "customer": 'c."number"',
                  "amount": 'd."amount_cents"', "id": 'd."id"'}


def query(customers: Mapping[int, str], flt: DocumentFilter, per_page: int = PER_PAGE) -> tuple[str, list]:
    """The SQL and parameters of one page of the visible `customers` (id → number), one row more to know
    whether a next page exists; the `customer` filter narrows them (ValidationError when it is not one).

    Every condition is led by the customer numbers, so the (customer, …) indexes serve it and no other
    customer's rows are read. For several numbers, each number's rows are read in the page's order from
    the listing index of that order (migration 0060), and only as many as can still enter the page:
    reading all of them to sort them cost ~0.5 s for 100 numbers at 5,000,000 documents (benchmarks/README.md).
    On PostgreSQL, a search for a rare number among many is the exception: its matches come from the trigram
    index.
    LIMIT and OFFSET are written out rather than bound: not knowing them, SQLite's planner prefers walking
    the whole-table date index, a disaster for a selective filter. The text is written here, not built by
    peewee: for a small page, building it cost twice the query.
    """
    customer_ids = list(scope(customers, flt))
    conditions = _conditions(flt)
    if len(customer_ids) == 1:
        return _one_number(customer_ids, flt, conditions, per_page)
    if not is_postgres():
        return _in_index_order(customer_ids, flt, conditions, per_page)
    if len(flt.number or "") >= TRIGRAM and len(customer_ids) >= MANY:
        return _number_search(customer_ids, flt, conditions, per_page)
    return _per_number(customer_ids, flt, conditions, per_page)


def _one_number(customer_ids: list[int], flt: DocumentFilter, conditions: list[tuple[str, object]],
                per_page: int) -> tuple[str, list]:
    """A single number's rows: the planner picks the (customer, …) index that fits the filters and order."""
    where, params = _where(customer_ids, conditions)
    join = _JOIN_CUSTOMER if flt.sort == "customer" else ""
    return f"{_SELECT}{join} WHERE {where} ORDER BY {_ordering(flt)} {_limit(flt, per_page)}", params


def _in_index_order(customer_ids: list[int], flt: DocumentFilter, conditions: list[tuple[str, object]],
                    per_page: int) -> tuple[str, list]:
    """SQLite, several numbers: `customer_id IN (…)` read through the listing index of the page's order.

    SQLite then takes each number's rows in that order and leaves a number as soon as its next row would
    not enter the page (its ORDER BY … LIMIT optimization). Left to itself, its planner takes any
    (customer, …) index, all alike for `customer_id IN`, and sorts every visible row. By customer, the
    numbers are walked in their own order, so the rows come out sorted and the LIMIT ends the reading.
    """
    by_customer = flt.sort == "customer"
    where, params = _where(customer_ids, conditions, 'c."id"' if by_customer else 'd."customer_id"')
    index = f'INDEXED BY "{_listing_index(flt)}"'
    if by_customer:
        source = (f'FROM "customer" AS c INDEXED BY "customer_number" INNER JOIN "document" AS d {index} '
                  'ON d."customer_id" = c."id"')
    else:
        source = f'FROM "document" AS d {index}'
    return f"{_COLUMNS} {source} WHERE {where} ORDER BY {_ordering(flt)} {_limit(flt, per_page)}", params


def _per_number(customer_ids: list[int], flt: DocumentFilter, conditions: list[tuple[str, object]],
                per_page: int) -> tuple[str, list]:
    """PostgreSQL, several numbers: the page out of each number's first rows, then its rows from the table."""
    page, params = _per_number_page(customer_ids, flt, conditions, per_page)
    return _page_rows(page, flt), params


def _per_number_page(customer_ids: list[int], flt: DocumentFilter, conditions: list[tuple[str, object]],
                     per_page: int, also: str = "") -> tuple[str, list]:
    """For each number, the keys of its first rows in the page's order (as many as the page and those before
    it could take), those few sorted into the page's ids and sort keys; `also` is one more condition.

    The keys come from the listing index alone (an index-only scan once the table is vacuumed), so a filter
    the index cannot seek, a number's digits, is checked there and not on every row of the table.
    """
    inner = 'd."date" DESC, d."id" DESC' if flt.sort == "customer" else _ordering(flt)
    filters = "".join(f" AND {condition}{database.param}" for condition, _ in conditions)
    first = (f'SELECT {_key_list(flt)} FROM "document" AS d WHERE d."customer_id" = c."id"'
             f"{filters} ORDER BY {inner} LIMIT {int(flt.page * per_page + 1)}")
    number = ', c."number" AS "customer_number"' if flt.sort == "customer" else ""
    page = (f'SELECT {_key_list(flt)}{number} FROM "customer" AS c CROSS JOIN LATERAL ({first}) AS d '
            f'WHERE c."id" IN ({bulk.marks(len(customer_ids))}){also} '
            f"ORDER BY {_ordering(flt)} {_limit(flt, per_page)}")
    return page, [value for _, value in conditions] + customer_ids


def _page_rows(page: str, flt: DocumentFilter) -> str:
    """The rows of `page` (ids and sort keys, the customer number as "customer_number") read from the table."""
    again = _ordering(flt).replace('d."', 'page."').replace('c."number"', 'page."customer_number"')
    return f'{_COLUMNS} FROM ({page}) AS page INNER JOIN "document" AS d ON d."id" = page."id" ORDER BY {again}'


def _number_search(customer_ids: list[int], flt: DocumentFilter, conditions: list[tuple[str, object]],
                   per_page: int) -> tuple[str, list]:
    """PostgreSQL, several numbers, a number search of 3 characters or more: a rare key's matches all found
    at once (`_matches_page`), a common key's through each number's first rows, as without a search.

    Each number's first rows hold a common key soon, a rare one only after most of them: every visible
    document's number was read (60–70 ms for 100 numbers at 5,000,000 documents, benchmarks/README.md).
    Finding every match costs in proportion to their count instead: 110–200 ms for a key in 2–20 % of them.
    The statement holds both ways; the one the key's rarity does not choose is never run.
    """
    walked, walked_params = _per_number_page(customer_ids, flt, conditions, per_page, f" AND NOT {_IS_RARE}")
    where, params = _where(customer_ids, [_trigram(condition) for condition in conditions])
    found = f'SELECT {_key_list(flt)}, d."customer_id" FROM "document" AS d WHERE {where}'
    pages = f"({_matches_page(flt, per_page)}) UNION ALL ({walked})"
    return (f'WITH "rarity" AS MATERIALIZED ({_RARITY}), "found" AS MATERIALIZED ({found}) {_page_rows(pages, flt)}',
            [f"%{flt.number}%", *params, *walked_params])


def _matches_page(flt: DocumentFilter, per_page: int) -> str:
    """The page's ids and sort keys out of every match (`found`), when the key is rare.

    `found` is MATERIALIZED so that it is planned alone, without the page's LIMIT: with it, the planner
    walked the date index of the whole table expecting a match early (0.4 s). Alone, it takes the trigram
    index (migration 0070) or a listing index, whichever it finds cheaper.
    """
    join, number = (_JOIN_CUSTOMER, ', c."number" AS "customer_number"') if flt.sort == "customer" else ("", "")
    return (f'SELECT {_key_list(flt)}{number} FROM "found" AS d{join} WHERE {_IS_RARE} '
            f"ORDER BY {_ordering(flt)} {_limit(flt, per_page)}")


def _trigram(condition: tuple[str, object]) -> tuple[str, object]:
    """The number's condition on the expression the trigram index holds (migration 0070); others unchanged."""
    text, value = condition
    return ('lower(d."number_key") LIKE ', str(value).lower()) if text == _NUMBER_LIKE else condition


# A key is rare when fewer than COMMON of the numbers ANALYZE keeps as a sample of the column (1,000, evenly
# spread, migration 0070; the planner reads them for LIKE too) hold it. Near 1 % of the documents both ways cost
# about the same: for 100 numbers at 5,000,000 documents, 19 against 64 ms at 0.4 %, 114 against 30 at 1.8 %.
# No statistics yet (a table never analysed) counts as rare.
COMMON = 10
_RARITY = ('SELECT count(*) < ' + str(COMMON) + ' AS "rare" FROM "pg_stats" AS s, '
           'unnest(s."histogram_bounds"::text::text[]) AS sample WHERE s."schemaname" = current_schema() '
           """AND s."tablename" = 'document' AND s."attname" = 'number_key' AND sample LIKE %s""")
_IS_RARE = '(SELECT "rare" FROM "rarity")'


def _key_list(flt: DocumentFilter) -> str:
    return ", ".join(f"d.{key}" for key in _keys(flt))


def _keys(flt: DocumentFilter) -> list[str]:
    """The columns the page's order reads, the id first: all in the listing index of that order."""
    keys = ['"id"', '"date"'] if flt.sort in ("customer", "type") else ['"id"']
    return keys + ([] if flt.sort == "customer" else [_ORDER_COLUMNS[flt.sort].removeprefix("d.")])


def _where(customer_ids: list[int], conditions: list[tuple[str, object]], column: str = 'd."customer_id"'
           ) -> tuple[str, list]:
    where, params = [f'{column} IN ({bulk.marks(len(customer_ids))})'], list(customer_ids)
    for condition, value in conditions:
        where.append(condition + database.param)
        params.append(value)
    return " AND ".join(where), params


def _limit(flt: DocumentFilter, per_page: int) -> str:
    return f"LIMIT {int(per_page + 1)} OFFSET {int((flt.page - 1) * per_page)}"


def _listing_index(flt: DocumentFilter) -> str:
    """The index (migration 0060) whose order, after the customer number, is the page's order."""
    if flt.sort in ("date", "customer"):
        return "document_listing_type" if flt.type else "document_listing_date"  # one type: by date within it
    if flt.sort == "type":
        return "document_listing_type_asc" if flt.order == "asc" else "document_listing_type"
    return "document_listing_amount" if flt.sort == "amount" else "document_listing_number"


def _conditions(flt: DocumentFilter) -> list[tuple[str, object]]:
    """(SQL up to its parameter, value) for each filter set; dates as ISO text, which both databases compare."""
    found: list[tuple[str, object]] = []
    if flt.date_from:
        found.append(('d."date" >= ', flt.date_from.isoformat()))
    if flt.date_to:
        found.append(('d."date" <= ', flt.date_to.isoformat()))
    if flt.type:
        found.append(('d."type" = ', flt.type))
    if flt.amount_min is not None:
        found.append(('d."amount_cents" >= ', flt.amount_min))
    if flt.amount_max is not None:
        found.append(('d."amount_cents" <= ', flt.amount_max))
    if flt.number:  # letters and digits only (validation.number_key): nothing for LIKE to take as a pattern
        found.append((_NUMBER_LIKE, f"%{flt.number}%"))
    return found


def _ordering(flt: DocumentFilter) -> str:
    """The sort column in the asked direction; ties broken so pages never overlap or skip a row."""
    if flt.sort in ("type", "customer"):
        terms = [(flt.sort, flt.order), ("date", "desc"), ("id", "desc")]  # newest first within a group
    else:
        terms = [(flt.sort, flt.order), ("id", flt.order)]
    return ", ".join(f"{_ORDER_COLUMNS[key]} {way.upper()}" for key, way in terms)


def _as_date(value: date | str) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value  # SQLite gives text, PostgreSQL a date


def _viewed(user_id: int, document_ids: list[int]) -> set[int]:
    if not document_ids:
        return set()
    sql = (f'SELECT "document_id" FROM "view" WHERE "user_id" = {database.param} '
           f'AND "document_id" IN ({bulk.marks(len(document_ids))})')
    return {row[0] for row in database.execute_sql(sql, [user_id, *document_ids]).fetchall()}


def visible_numbers(user_id: int) -> dict[int, str]:
    """The customer numbers `user_id` may see (id → number), for the API, which needs nothing else of them;
    not those shared with them by notification only."""
    sql = ('SELECT c."id", c."number" FROM "customer" AS c INNER JOIN "access" AS a ON a."customer_id" = c."id" '
           f'WHERE a."user_id" = {database.param} AND a."channels" <> \'mail\' ORDER BY c."number"')
    return dict(database.execute_sql(sql, [user_id]).fetchall())
