"""Version 11: every opt-in and opt-out of paperless delivery, for the issuers' back offices."""

from peewee import Database

from mailflow.models import PaperlessChange


def migrate(db: Database) -> None:
    PaperlessChange.create_table(safe=True)
