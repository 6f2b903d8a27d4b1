"""Version 4: login links asked for on the web are queued as rows, mailed by the worker."""

from peewee import Database

from mailflow.models import LoginRequest


def migrate(db: Database) -> None:
    LoginRequest.create_table(safe=True)
