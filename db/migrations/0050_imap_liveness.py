"""Version 50: each IMAP poller records its signs of life (connect, poll, IDLE renewal, last error)."""

from peewee import Database

from mailflow.models import ImapLiveness


def migrate(db: Database) -> None:
    ImapLiveness.create_table(safe=True)
