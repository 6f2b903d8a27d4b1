"""Version 20: the customer numbers and documents each inbound message names, linked for staff."""

from peewee import Database

from mailflow.models import InboundMention


def migrate(db: Database) -> None:
    # safe: a database made by 0001 from today's models already has the table and its index
    InboundMention.create_table(safe=True)
