"""Version 12: changes of a user's address, confirmed from the new mailbox and undoable from the old."""

from peewee import Database

from mailflow.models import AddressChange


def migrate(db: Database) -> None:
    AddressChange.create_table(safe=True)
