"""Version 60: one index per listing order, each covering every filter, for users who see many customer numbers."""

from peewee import Database

# Each leads with the customer number, then the page's order exactly as the listing sorts (id breaks ties),
# then every other column a filter reads: a number's rows come out already in the page's order, so reading
# stops once they can no longer enter the page, and a filter is checked in the index, not the table.
FILTERS = ("type", "date", "amount_cents", "number_key")
ORDERS = {
    "document_listing_date": ('"date"', '"id"'),
    "document_listing_amount": ('"amount_cents"', '"id"'),
    "document_listing_number": ('"number"', '"id"'),
    "document_listing_type": ('"type"', '"date"', '"id"'),  # by type Z to A (read backwards), or date within one
    "document_listing_type_asc": ('"type"', '"date" DESC', '"id" DESC'),  # by type A to Z, newest first in each
}


def columns(order: tuple[str, ...]) -> str:
    ordered = {term.split()[0] for term in order}
    return ", ".join(['"customer_id"', *order, *(f'"{name}"' for name in FILTERS if f'"{name}"' not in ordered)])


def migrate(db: Database) -> None:
    for name, order in ORDERS.items():
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS "{name}" ON "document" ({columns(order)})')
