"""Version 1: every table of the domain."""

from peewee import Database

from mailflow.models import ALL_MODELS


def migrate(db: Database) -> None:
    db.create_tables(ALL_MODELS, safe=True)
