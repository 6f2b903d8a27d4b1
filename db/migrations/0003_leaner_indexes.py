"""Version 3: no index a longer one already leads, and outbox customer/document indexed only where set."""

from peewee import Database

from mailflow.models import Outbox

# (user) is led by digest (user, frequency, period_start), notification (user, document), token (user, purpose)
REDUNDANT = ("digest_user_id", "notification_user_id", "token_user_id", "outbox_customer_id", "outbox_document_id")


def migrate(db: Database) -> None:
    for name in REDUNDANT:
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
    Outbox.create_table(safe=True)  # creates the models' indexes that are missing: outbox_*_id_set
