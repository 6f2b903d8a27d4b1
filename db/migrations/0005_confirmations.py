"""Version 5: requests mailflow was unsure of, asked back and waiting for the sender's yes."""

from peewee import Database

from mailflow.models import Confirmation


def migrate(db: Database) -> None:
    # safe: a database made by 0001 from today's models already has the table and its indexes
    Confirmation.create_table(safe=True)
