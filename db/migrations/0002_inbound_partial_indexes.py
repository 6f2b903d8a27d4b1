"""Version 2: inbound messages index user, customer and outbox only where set (cheaper inserts at the door)."""

from peewee import Database

from mailflow.models import InboundMessage

COLUMNS = ("user_id", "customer_id", "outbox_id")


def migrate(db: Database) -> None:
    for column in COLUMNS:
        db.execute_sql(f'DROP INDEX IF EXISTS "inbound_message_{column}"')
    InboundMessage.create_table(safe=True)  # creates the models' indexes that are missing, the new ones
